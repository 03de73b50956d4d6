"""Scripts whose text USE's vocabulary reads badly, for :func:`~hfswim.encoders.extend.extend_vocabulary`.

Measured on XQuAD's paragraphs with USE Multilingual v3's 128k SentencePiece pieces (pieces per word; share of
``<unk>``; share of single-character pieces):

- **Indic** (Hindi: 3.9; 37% ``<unk>``): no piece at all for the nine Indic blocks;
- **Greek** (5.3; 3%; 81% single characters): the letters exist, words do not: Greek is read letter by letter;
- **Vietnamese** (2.8; 19% ``<unk>``): Latin pieces, but most letters with two diacritics (ộ, ủ, ư, ơ, ...) are
  ``<unk>``: ``Đội`` is ``Đ <unk> i``;
- Romanian (2.4; 0.1%) and Turkish (1.7; 0.1%) read well enough: nothing to add.

Each :class:`ExtensionScript` says which characters a new piece may be made of, which letters to add one by one,
and how to spell a piece in Latin letters (its new embedding row starts at the mean of the original rows of that
spelling). An *exclusive* script's characters occur in no other language's text (Greek, Indic), so any piece made
of them is safe to add; Vietnamese shares the Latin alphabet, so a new piece must contain a letter the original
vocabulary turns into ``<unk>``: text the original model could read keeps its segmentation exactly.

Example::

    >>> SCRIPTS["greek"].romanize("Πάνθερς")
    'Panthers'
    >>> SCRIPTS["vietnamese"].romanize("Đội thủ")
    'Doi thu'
    >>> script_for_language("hi").name, script_for_language("ro")
    ('indic', None)
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from hfswim.encoders.indic import indic_characters, is_indic
from hfswim.encoders.indic import romanize as romanize_indic


@dataclass(frozen=True)
class ExtensionScript:
    """One script to add pieces for.

    Attributes:
        name: ``indic``, ``greek`` or ``vietnamese`` (the key in :data:`SCRIPTS`).
        is_letter: whether a character may be part of a new piece.
        letters: every character to add as a piece of its own (so that none of them is ``<unk>`` again).
        romanize: a rough Latin spelling, to start a new piece's embedding row.
        exclusive: the script's characters occur in no other language's text; otherwise a new piece must hold a
            character the original vocabulary cannot read.
    """

    name: str
    is_letter: Callable[[str], bool]
    letters: Callable[[], list[str]]
    romanize: Callable[[str], str]
    exclusive: bool


# ---------------------------------------------------------------------------------------------- Greek

_GREEK_RANGES = ((0x0370, 0x03FF), (0x1F00, 0x1FFF))
_GREEK_LATIN = dict(
    zip(
        "αβγδεζηθικλμνξοπρσςτυφχψω",
        "a b g d e z i th i k l m n x o p r s s t y f ch ps o".split(),
        strict=True,
    )
)


def is_greek(char: str) -> bool:
    code = ord(char)
    return any(a <= code <= b for a, b in _GREEK_RANGES) and char.isalpha()


def greek_letters() -> list[str]:
    return [chr(c) for a, b in _GREEK_RANGES for c in range(a, b + 1) if chr(c).isalpha()]


def romanize_greek(text: str) -> str:
    """Greek letters in Latin (accents dropped, a leading capital kept): ``Αθήνα`` -> ``Athina``."""
    out = []
    for char in _strip_marks(text):
        latin = _GREEK_LATIN.get(char.lower())
        if latin is None:
            out.append(char)
        else:
            out.append(latin.capitalize() if char.isupper() else latin)
    return "".join(out)


# ---------------------------------------------------------------------------------------------- Vietnamese

_LATIN_RANGES = ((0x0041, 0x005A), (0x0061, 0x007A), (0x00C0, 0x024F), (0x1E00, 0x1EFF))


def is_latin_letter(char: str) -> bool:
    code = ord(char)
    return any(a <= code <= b for a, b in _LATIN_RANGES) and char.isalpha()


def vietnamese_letters() -> list[str]:
    """The precomposed letters Vietnamese writes with (Latin-1, Latin Extended, and the U+1EA0-1EF9 block)."""
    base = "aăâeêioôơuưyAĂÂEÊIOÔƠUƯY"
    tones = ["", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323"]
    letters = {unicodedata.normalize("NFC", b + t) for b in base for t in tones}
    return sorted(c for c in letters | set("đĐ") if len(c) == 1)


def romanize_vietnamese(text: str) -> str:
    """Vietnamese without its diacritics: ``Đội`` -> ``Doi``."""
    return _strip_marks(text).replace("đ", "d").replace("Đ", "D")


def _strip_marks(text: str) -> str:
    return unicodedata.normalize(
        "NFC", "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    )


SCRIPTS: dict[str, ExtensionScript] = {
    "indic": ExtensionScript("indic", is_indic, indic_characters, romanize_indic, exclusive=True),
    "greek": ExtensionScript("greek", is_greek, greek_letters, romanize_greek, exclusive=True),
    "vietnamese": ExtensionScript("vietnamese", is_latin_letter, vietnamese_letters, romanize_vietnamese, False),
}

# The script to extend for each language whose text USE reads badly (see the module doc's measurements).
_INDIC_SCRIPT_LANGUAGES = ("hi", "bn", "te", "ta", "gu", "kn", "ml", "mr", "or", "pa", "as", "bho", "gom", "mai", "mni")
_INDIC_SCRIPT_LANGUAGES += ("sa",)
LANGUAGE_SCRIPTS: dict[str, str] = {lang: "indic" for lang in _INDIC_SCRIPT_LANGUAGES} | {
    "el": "greek",
    "vi": "vietnamese",
}


def script_for_language(lang: str) -> ExtensionScript | None:
    """The script to add pieces for so that USE reads ``lang`` (None: USE reads it already)."""
    name = LANGUAGE_SCRIPTS.get(lang)
    return SCRIPTS[name] if name else None
