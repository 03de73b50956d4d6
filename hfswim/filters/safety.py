"""The ``safety`` filter: pluggable unsafe-content checks (SWIM-IR dropped 6-10% with a classifier).

Two checks, both optional:

* **Word lists** per language: a query containing a listed word or phrase (matched on normalised
  words; as a substring for CJK/Thai) is rejected with code ``blocked_word``. Small lists of
  profanity and slurs ship for en, de, es, fr (``hfswim/filters/wordlists/<lang>.txt``); extend or
  replace them with your own files (``wordlists={"sw": "my_sw.txt", "*": "all_languages.txt"}``),
  one entry per line, ``#`` comments.
* **Classifier**: any ``transformers`` text-classification model folder (e.g. a multilingual toxicity
  model downloaded beforehand), or in Python any callable ``texts -> list[float]`` returning the
  probability that each text is unsafe. A query whose summed probability over ``unsafe_labels`` is
  >= ``threshold`` is rejected with code ``classifier``.

Example::

    >>> f = SafetyFilter()
    >>> [j.code if j else None for j in f.judge([{"query": "Who wrote Hamlet?", "query_language": "en"},
    ...                                          {"query": "Who is this bitch?", "query_language": "en"}])]
    [None, 'blocked_word']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Annotated, ClassVar

from pydantic import AfterValidator, Field

from hfswim.errors import ConfigError
from hfswim.filters.base import Rejection, Row, RowFilter
from hfswim.filters.settings import PositiveInt, Probability, existing_path, must_exist
from hfswim.languages import LANGUAGES
from hfswim.records import QUERY_LANGUAGE
from hfswim.text.normalize import normalize

ALL_LANGUAGES = "*"


def builtin_wordlist_languages() -> list[str]:
    folder = resources.files("hfswim.filters") / "wordlists"
    return sorted(p.name[:-4] for p in folder.iterdir() if p.name.endswith(".txt"))


def read_wordlist(path: str | Path) -> list[str]:
    """Entries of a word-list file, normalised like queries; blank lines and ``#`` comments skipped."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise ConfigError(f"safety word list {path}: cannot read ({err.strerror}).") from None
    return [n for n in (normalize(line) for line in lines if not line.lstrip().startswith("#")) if n]


def _wordlists_exist(value: dict[str, str]) -> dict[str, str]:
    for lang, path in value.items():
        if lang != "*" and lang not in LANGUAGES:
            raise ValueError(f"unknown language {lang!r} (use a SWIM-IR code or '*')")
        must_exist(path, f"word list for {lang}")
    return value


class SafetyFilter(RowFilter):
    """Reject queries with blocked words or a high unsafe-classifier score.

    Args:
        builtin: use the shipped word lists.
        wordlists: extra lists, language code (or ``"*"`` for every language) -> file.
        classifier: a text-classification model folder, or a callable ``texts -> unsafe probabilities``.
        unsafe_labels: the model's labels that mean unsafe (case-insensitive).
        threshold: probability from which a query is rejected.
        batch_size: queries per classifier call.
    """

    name: ClassVar[str] = "safety"
    columns: ClassVar[frozenset[str] | None] = frozenset({"query", QUERY_LANGUAGE})
    # A config file names files; Python may also pass Path objects and a classifier callable.
    config_types: ClassVar[dict] = {
        "wordlists": (Annotated[dict[str, str], AfterValidator(_wordlists_exist)], Field(default_factory=dict)),
        "classifier": (Annotated[str, existing_path("safety classifier")] | None, None),
    }

    def __init__(
        self,
        builtin: bool = True,
        wordlists: Mapping[str, str | Path] | None = None,
        classifier: str | Path | Callable[[list[str]], Sequence[float]] | None = None,
        unsafe_labels: Sequence[str] = ("toxic", "unsafe", "offensive", "hate", "LABEL_1"),
        threshold: Probability = 0.5,
        batch_size: PositiveInt = 32,
    ):
        self.words: dict[str, set[str]] = {}
        if builtin:
            folder = resources.files("hfswim.filters") / "wordlists"
            for lang in builtin_wordlist_languages():
                self.words.setdefault(lang, set()).update(read_wordlist(str(folder / f"{lang}.txt")))
        for lang, path in (wordlists or {}).items():
            self.words.setdefault(lang, set()).update(read_wordlist(path))
        self.classifier = classifier
        self.unsafe_labels = {label.lower() for label in unsafe_labels}
        self.threshold, self.batch_size = threshold, batch_size
        self._pipeline = None

    def _blocked(self, query: str, lang: str) -> str | None:
        entries = self.words.get(lang, set()) | self.words.get(ALL_LANGUAGES, set())
        if not entries:
            return None
        norm = normalize(query)
        if lang in LANGUAGES and LANGUAGES[lang].is_unspaced:
            return next((e for e in sorted(entries) if e.replace(" ", "") in norm.replace(" ", "")), None)
        words = set(norm.split())
        padded = f" {norm} "
        for entry in sorted(entries):
            if (" " in entry and f" {entry} " in padded) or entry in words:
                return entry
        return None

    def unsafe_probabilities(self, texts: list[str]) -> list[float]:
        if self.classifier is None or not texts:
            return [0.0] * len(texts)
        if callable(self.classifier):
            return [float(p) for p in self.classifier(texts)]
        if self._pipeline is None:
            from transformers import pipeline

            self._pipeline = pipeline("text-classification", model=str(self.classifier), device="cpu", top_k=None)
        results = self._pipeline(texts, batch_size=self.batch_size, truncation=True)
        return [sum(d["score"] for d in res if d["label"].lower() in self.unsafe_labels) for res in results]

    def judge(self, rows: list[Row]) -> list[Rejection | None]:
        out: list[Rejection | None] = []
        pending: list[int] = []
        for i, row in enumerate(rows):
            word = self._blocked(row.get("query") or "", row.get(QUERY_LANGUAGE) or "")
            out.append(
                self.reject("blocked_word", f"contains {word!r} from the {row.get(QUERY_LANGUAGE)} word list")
                if word
                else None
            )
            if word is None:
                pending.append(i)
        if self.classifier is not None and pending:
            probs = self.unsafe_probabilities([rows[i].get("query") or "" for i in pending])
            for i, p in zip(pending, probs, strict=True):
                if p >= self.threshold:
                    out[i] = self.reject("classifier", f"unsafe probability {p:.2f} >= {self.threshold}")
        return out
