"""The 33 SWIM-IR languages (and three more hfswim adds), with the settings they belong to.

SWIM-IR (Thakur et al., NAACL 2024) synthesizes queries in three settings:

* ``xor`` — cross-lingual, XOR-Retrieve languages: English passage, query in language L;
* ``miracl`` — monolingual, MIRACL languages: passage and query both in L;
* ``indic`` — cross-lingual, XTREME-UP Indic languages: English passage, query in L.

hfswim adds one set of its own:

* ``extra`` — monolingual, languages SWIM-IR does not cover but XQuAD evaluates (Greek, Romanian, Vietnamese):
  passage and query both in L, with few-shot exemplars written for hfswim (``hfswim/prompts/exemplars``).

Example::

    >>> from hfswim.languages import get_language, languages_in
    >>> get_language("sw").english_name
    'Swahili'
    >>> [lang.code for lang in languages_in("xor")][:3]
    ['ar', 'bn', 'de']
    >>> get_language("swahili").code
    'sw'
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

from hfswim.errors import ConfigError

Setting = Literal["xor", "miracl", "indic", "extra"]
SETTINGS: tuple[Setting, ...] = ("xor", "miracl", "indic", "extra")
CROSS_LINGUAL_SETTINGS: tuple[Setting, ...] = ("xor", "indic")
MONOLINGUAL_SETTINGS: tuple[Setting, ...] = ("miracl", "extra")

# Scripts whose text has no spaces between words: length is counted in characters.
UNSPACED_SCRIPTS = frozenset({"Hans", "Jpan", "Thai"})


@dataclass(frozen=True)
class Language:
    """One language: a SWIM-IR language, or one hfswim adds (the ``extra`` set).

    Attributes:
        code: the code SWIM-IR uses: ISO 639-1 where one exists, else ISO 639-3.
        iso639_1: the two-letter code, or ``None`` (Bhojpuri, Konkani, Maithili, Meitei).
        iso639_3: the three-letter code.
        english_name: name in English, as in SWIM-IR's ``lang`` column.
        native_name: name in the language itself.
        script: ISO 15924 script code of the text SWIM-IR has for the language.
        settings: the SWIM-IR settings the language belongs to.
    """

    code: str
    iso639_1: str | None
    iso639_3: str
    english_name: str
    native_name: str
    script: str
    settings: tuple[Setting, ...]

    @property
    def is_unspaced(self) -> bool:
        """True for scripts written without spaces between words (CJK, Thai)."""
        return self.script in UNSPACED_SCRIPTS

    @property
    def is_cross_lingual(self) -> bool:
        return any(s in CROSS_LINGUAL_SETTINGS for s in self.settings)

    @property
    def is_monolingual(self) -> bool:
        return any(s in MONOLINGUAL_SETTINGS for s in self.settings)

    @property
    def is_swim_ir(self) -> bool:
        """True for SWIM-IR's 33 languages (False for the ``extra`` set hfswim adds)."""
        return "extra" not in self.settings


_X, _M, _I, _E = "xor", "miracl", "indic", "extra"
_ROWS: list[tuple[str, str | None, str, str, str, str, tuple[Setting, ...]]] = [
    ("ar", "ar", "ara", "Arabic", "العربية", "Arab", (_X, _M)),
    ("bn", "bn", "ben", "Bengali", "বাংলা", "Beng", (_X, _M)),
    ("de", "de", "deu", "German", "Deutsch", "Latn", (_X, _M)),
    ("en", "en", "eng", "English", "English", "Latn", (_M,)),
    ("es", "es", "spa", "Spanish", "Español", "Latn", (_X, _M)),
    ("fa", "fa", "fas", "Persian", "فارسی", "Arab", (_X, _M)),
    ("fi", "fi", "fin", "Finnish", "Suomi", "Latn", (_X, _M)),
    ("fr", "fr", "fra", "French", "Français", "Latn", (_X, _M)),
    ("hi", "hi", "hin", "Hindi", "हिन्दी", "Deva", (_X, _M)),
    ("id", "id", "ind", "Indonesian", "Bahasa Indonesia", "Latn", (_X, _M)),
    ("ja", "ja", "jpn", "Japanese", "日本語", "Jpan", (_X, _M)),
    ("ko", "ko", "kor", "Korean", "한국어", "Kore", (_X, _M)),
    ("ru", "ru", "rus", "Russian", "Русский", "Cyrl", (_X, _M)),
    ("sw", "sw", "swa", "Swahili", "Kiswahili", "Latn", (_X, _M)),
    ("te", "te", "tel", "Telugu", "తెలుగు", "Telu", (_X, _M)),
    ("th", "th", "tha", "Thai", "ไทย", "Thai", (_X, _M)),
    ("yo", "yo", "yor", "Yoruba", "Yorùbá", "Latn", (_X, _M)),
    ("zh", "zh", "zho", "Chinese", "中文", "Hans", (_X, _M)),
    ("as", "as", "asm", "Assamese", "অসমীয়া", "Beng", (_I,)),
    ("bho", None, "bho", "Bhojpuri", "भोजपुरी", "Deva", (_I,)),
    ("gom", None, "gom", "Konkani", "कोंकणी", "Deva", (_I,)),
    ("gu", "gu", "guj", "Gujarati", "ગુજરાતી", "Gujr", (_I,)),
    ("kn", "kn", "kan", "Kannada", "ಕನ್ನಡ", "Knda", (_I,)),
    ("mai", None, "mai", "Maithili", "मैथिली", "Deva", (_I,)),
    ("ml", "ml", "mal", "Malayalam", "മലയാളം", "Mlym", (_I,)),
    ("mni", None, "mni", "Meitei", "মৈতৈলোন্", "Beng", (_I,)),
    ("mr", "mr", "mar", "Marathi", "मराठी", "Deva", (_I,)),
    ("or", "or", "ory", "Odia", "ଓଡ଼ିଆ", "Orya", (_I,)),
    ("pa", "pa", "pan", "Punjabi", "ਪੰਜਾਬੀ", "Guru", (_I,)),
    ("ps", "ps", "pus", "Pashto", "پښتو", "Arab", (_I,)),
    ("sa", "sa", "san", "Sanskrit", "संस्कृतम्", "Deva", (_I,)),
    ("ta", "ta", "tam", "Tamil", "தமிழ்", "Taml", (_I,)),
    ("ur", "ur", "urd", "Urdu", "اردو", "Arab", (_I,)),
    # Not in SWIM-IR: monolingual languages of XQuAD that hfswim writes exemplars for.
    ("el", "el", "ell", "Greek", "Ελληνικά", "Grek", (_E,)),
    ("ro", "ro", "ron", "Romanian", "Română", "Latn", (_E,)),
    ("vi", "vi", "vie", "Vietnamese", "Tiếng Việt", "Latn", (_E,)),
]

LANGUAGES: dict[str, Language] = {row[0]: Language(*row) for row in _ROWS}

# Every spelling a user may type, lower-cased, mapped to the SWIM-IR code.
_ALIASES: dict[str, str] = {}
for _lang in LANGUAGES.values():
    for _alias in (_lang.code, _lang.iso639_1, _lang.iso639_3, _lang.english_name, _lang.native_name):
        if _alias:
            _ALIASES[_alias.lower()] = _lang.code
_ALIASES.update({"kok": "gom", "mni-beng": "mni", "manipuri": "mni", "oriya": "or", "farsi": "fa"})


def get_language(code_or_name: str) -> Language:
    """Look up a language by SWIM-IR code, ISO 639-1/639-3 code, or English/native name.

    Raises:
        ConfigError: for an unknown language, naming the close matches.
    """
    key = code_or_name.strip().lower()
    if key in _ALIASES:
        return LANGUAGES[_ALIASES[key]]
    close = difflib.get_close_matches(key, list(_ALIASES), n=4, cutoff=0.6)
    suggestions = sorted({f"{_ALIASES[c]} ({LANGUAGES[_ALIASES[c]].english_name})" for c in close})
    hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
    raise ConfigError(
        f"Unknown language {code_or_name!r}: not one of the 33 SWIM-IR languages or hfswim's extra ones (el, ro, vi).{hint} "
        f"Known codes: {' '.join(LANGUAGES)}."
    )


def languages_in(setting: Setting) -> list[Language]:
    """The languages of one SWIM-IR setting, in registry order."""
    if setting not in SETTINGS:
        raise ConfigError(f"Unknown setting {setting!r}; expected one of {', '.join(SETTINGS)}.")
    return [lang for lang in LANGUAGES.values() if setting in lang.settings]


def parse_languages(spec: str | list[str]) -> list[Language]:
    """Parse a language list: codes/names, comma-separated, or a setting name (``all``: SWIM-IR's 33).

    >>> [lang.code for lang in parse_languages("sw,yo")]
    ['sw', 'yo']
    >>> len(parse_languages("indic"))
    15
    >>> len(parse_languages("all"))
    33
    """
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    out: dict[str, Language] = {}
    for item in (i.strip() for i in items):
        if not item:
            continue
        if item.lower() == "all":  # SWIM-IR's 33; the extra set is asked for by name
            group = [lang for lang in LANGUAGES.values() if lang.is_swim_ir]
        elif item.lower() in SETTINGS:
            group = languages_in(item.lower())  # type: ignore[arg-type]
        else:
            group = [get_language(item)]
        out.update((lang.code, lang) for lang in group)
    if not out:
        raise ConfigError("The language list is empty: give codes such as 'sw,yo' or a setting (xor, miracl, indic).")
    return list(out.values())
