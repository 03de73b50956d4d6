"""The language sets behind each benchmark's headline mean, so a summary says what it averages.

* XOR-Retrieve: the official score is the macro average over its 7 languages (``eval_xor_retrieve.py``).
* XTREME-UP cross-language retrieval has 26 languages (``constants.TASK_TO_LANGUAGES["qa_cross_lang"]``); its
  official task score (``score_system.TaskResult.score``) averages only the under-represented ones: 21,
  leaving out ar, fi, hi, ko and ru, which XTREME-UP counts as high-resource.
* SWIM-X (Thakur et al., NAACL 2024) reports XTREME-UP as a mean of 20 languages; hfswim takes them to be the 20
  XTREME-UP added to XOR-TyDi's six (``constants.py``'s "new Indic languages": hi included, bn and te not), the
  one 20-language set the release defines (an inference, not checked against the paper's per-language table).

Example::

    >>> [(s.label, len(s.languages)) for s in headline_sets("XtremeUpCrossLangRetrieval")]
    [('XTREME-UP official: 21 under-represented langs', 21), ('SWIM-X: 20 new Indic langs', 20)]
"""

from __future__ import annotations

from dataclasses import dataclass

XOR_RETRIEVE_LANGUAGES = ("ar", "bn", "fi", "ja", "ko", "ru", "te")
_XOR_TYDI_IN_XTREME_UP = ("ar", "bn", "fi", "ko", "ru", "te")
XTREME_UP_NEW_INDIC = tuple("as bho brx gbm gom gu hi hne kn mai ml mni mr mwr or pa ps sa ta ur".split())
XTREME_UP_CROSS_LANGUAGES = _XOR_TYDI_IN_XTREME_UP + XTREME_UP_NEW_INDIC
# XTREME-UP's constants.XTREME_UP_HIGH_RESOURCE_LANGS, restricted to this task's languages.
XTREME_UP_HIGH_RESOURCE = ("ar", "fi", "hi", "ko", "ru")
XTREME_UP_UNDER_REPRESENTED = tuple(lang for lang in XTREME_UP_CROSS_LANGUAGES if lang not in XTREME_UP_HIGH_RESOURCE)


@dataclass(frozen=True)
class LanguageSet:
    """A named set of subsets whose mean is a published headline number."""

    label: str
    languages: tuple[str, ...]


HEADLINE_SETS: dict[str, tuple[LanguageSet, ...]] = {
    "XORRetrieve": (LanguageSet("XOR-Retrieve official: 7 langs", XOR_RETRIEVE_LANGUAGES),),
    "XtremeUpCrossLangRetrieval": (
        LanguageSet("XTREME-UP official: 21 under-represented langs", XTREME_UP_UNDER_REPRESENTED),
        LanguageSet("SWIM-X: 20 new Indic langs", XTREME_UP_NEW_INDIC),
    ),
}


def headline_sets(task_name: str) -> tuple[LanguageSet, ...]:
    """The published language sets of a task (empty for tasks without one)."""
    return HEADLINE_SETS.get(task_name, ())
