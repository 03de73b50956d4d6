"""The Indic scripts USE's vocabulary lacks, and a shared romanisation of them (to initialise new embeddings).

The nine major Indic Unicode blocks (Devanagari, Bengali, Gurmukhi, Gujarati, Odia, Tamil, Telugu, Kannada,
Malayalam) follow the ISCII layout: the same offset holds the same letter in every block (0x15 is KA, 0x4D the
virama, 0x66-0x6F the digits). One offset table therefore romanises all of them, roughly like ISO 15919 without
diacritics. It is only used to start a new piece's embedding near the Latin pieces that sound like it (names,
loanwords and numbers then start close to their English spelling); training does the rest.

Example::

    >>> romanize("भारत")
    'bhaarata'
    >>> romanize("ঢাকা")
    'ddhaakaa'
"""

from __future__ import annotations

INDIC_BLOCKS: dict[str, int] = {
    "Devanagari": 0x0900,
    "Bengali": 0x0980,
    "Gurmukhi": 0x0A00,
    "Gujarati": 0x0A80,
    "Odia": 0x0B00,
    "Tamil": 0x0B80,
    "Telugu": 0x0C00,
    "Kannada": 0x0C80,
    "Malayalam": 0x0D00,
}
_BLOCK_SIZE = 0x80

_VOWELS = {0x05: "a", 0x06: "aa", 0x07: "i", 0x08: "ii", 0x09: "u", 0x0A: "uu", 0x0B: "ri", 0x0C: "li", 0x0D: "e"}
_VOWELS |= {0x0E: "e", 0x0F: "e", 0x10: "ai", 0x11: "o", 0x12: "o", 0x13: "o", 0x14: "au", 0x60: "rri", 0x61: "lli"}
_CONSONANTS = dict(
    zip(
        range(0x15, 0x3A),
        "k kh g gh ng c ch j jh ny tt tth dd ddh nn t th d dh n n p ph b bh m y r r l ll l v sh ss s h".split(),
        strict=True,
    )
)
_CONSONANTS |= {0x58: "q", 0x59: "kh", 0x5A: "g", 0x5B: "z", 0x5C: "r", 0x5D: "rh", 0x5E: "f", 0x5F: "y"}
_SIGNS = {0x3E: "aa", 0x3F: "i", 0x40: "ii", 0x41: "u", 0x42: "uu", 0x43: "ri", 0x44: "rri", 0x45: "e", 0x46: "e"}
_SIGNS |= {0x47: "e", 0x48: "ai", 0x49: "o", 0x4A: "o", 0x4B: "o", 0x4C: "au", 0x62: "li", 0x63: "lli"}
_OTHER = {0x01: "n", 0x02: "n", 0x03: "h", 0x50: "om", 0x64: ".", 0x65: "."}
_OTHER |= {0x66 + d: str(d) for d in range(10)}
_VIRAMA = 0x4D


def indic_offset(char: str) -> int | None:
    """The offset of ``char`` inside its Indic block, or None if it is not in one of :data:`INDIC_BLOCKS`."""
    code = ord(char)
    for start in INDIC_BLOCKS.values():
        if start <= code < start + _BLOCK_SIZE:
            return code - start
    return None


def is_indic(char: str) -> bool:
    return indic_offset(char) is not None


def indic_characters() -> list[str]:
    """Every assigned letter, sign and digit of the nine blocks (so that none of them is ever ``<unk>``)."""
    import unicodedata

    out = []
    for start in INDIC_BLOCKS.values():
        for code in range(start, start + _BLOCK_SIZE):
            char = chr(code)
            if unicodedata.category(char) != "Cn":  # assigned
                out.append(char)
    return out


def romanize(text: str) -> str:
    """Rough Latin spelling of Indic text (consonants carry an inherent ``a``; signs and the virama replace it)."""
    out: list[str] = []
    inherent = False  # the last thing written is a consonant's inherent "a"
    for char in text:
        offset = indic_offset(char)
        if offset is None:
            out.append(char)
            inherent = False
        elif offset in _CONSONANTS:
            out.append(_CONSONANTS[offset] + "a")
            inherent = True
        elif offset in _SIGNS or offset == _VIRAMA:
            if inherent:
                out[-1] = out[-1][:-1]
            out.append(_SIGNS.get(offset, ""))
            inherent = False
        else:
            out.append(_VOWELS.get(offset) or _OTHER.get(offset, ""))
            inherent = False
    return "".join(out)
