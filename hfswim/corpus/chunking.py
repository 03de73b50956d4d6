"""Cut documents into passages of at most ``max_words`` words on paragraph and sentence boundaries.

* Paragraphs are separated by blank lines. A paragraph that fits stays whole; passages are packed
  greedily from whole paragraphs, so a passage breaks at a paragraph boundary whenever it can.
* A paragraph longer than the limit is split into sentences with `sentencex
  <https://github.com/wikimedia/sentencex>`_ (Wikimedia's rule-based segmenter for ~300 languages; it
  knows 。！？ । ॥ ؟ ۔ and per-language abbreviations, and is written in Rust, so it keeps up with
  SWIM-IR-scale corpora). Thai writes no sentence punctuation, so there a space ends a sentence.
  A sentence longer than the limit falls back to word boundaries.
* Chinese, Japanese and Thai (and Lao, Khmer, Burmese) have no spaces between words. Rather than
  pull in a segmenter per language (jieba, MeCab, PyThaiNLP: large dictionaries, slow, and only to
  enforce a length budget), their letters count as a fraction of a word, from typical average word
  lengths: Han 1.5 characters per word, kana 2, Thai-family letters 4 (combining marks are free).
  A mixed text counts its spaced words (tokens with a letter or digit) plus those fractions.

Example::

    >>> from hfswim.corpus.chunking import chunk_text, count_words
    >>> count_words("Nairobi is the capital of Kenya.")
    6.0
    >>> count_words("東京は日本の首都です。")  # 6 Han characters / 1.5 + 4 kana / 2
    6.0
    >>> chunk_text("One two three. Four five six. Seven eight.", max_words=6)
    ['One two three. Four five six.', 'Seven eight.']
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from sentencex import segment

# Average characters per word of each unspaced script: a Han character is often a word on its own,
# kana runs are particles and inflections, Thai-family words are several letters long.
CHARS_PER_WORD = {"han": 1.5, "kana": 2.0, "thai": 4.0}


def _letters(*blocks: tuple[int, int]) -> str:
    """A character-class body of the letters (not the combining marks or punctuation) in the given blocks."""
    return "".join(
        re.escape(chr(c)) for lo, hi in blocks for c in range(lo, hi + 1) if unicodedata.category(chr(c))[0] == "L"
    )


# The hot paths use the standard library's `re` with explicit code-point classes: on long texts
# that contain no match, it is an order of magnitude faster than `regex` with \p{Script} classes.
_HAN_CLASS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_KANA_LETTERS = _letters((0x3040, 0x30FF), (0x31F0, 0x31FF), (0xFF66, 0xFF9F))
_SEA_BLOCKS = ((0x0E00, 0x0EFF), (0x1000, 0x109F), (0x1780, 0x17FF))  # Thai, Lao, Myanmar, Khmer
_SEA_LETTERS = _letters(*_SEA_BLOCKS)
_UNSPACED_CLASS = _HAN_CLASS + "\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff"
_HAN = re.compile(f"[{_HAN_CLASS}]")
_KANA = re.compile(f"[{_KANA_LETTERS}]")
_THAI = re.compile(f"[{_SEA_LETTERS}]")
_UNSPACED_ANY = re.compile(f"[{_UNSPACED_CLASS}]")
# A whitespace-delimited token with no letter or digit (a dash, a lone "।"): not a word.
_PUNCTUATION_TOKEN = re.compile(r"(?<!\S)[^\w\s]+(?!\S)")
# A sentence cut at word boundaries: whitespace, one unspaced-script character, or a run of anything else.
_ATOM = re.compile(f"(?P<space>\\s+)|(?P<unspaced>[{_UNSPACED_CLASS}])|(?P<run>[^\\s{_UNSPACED_CLASS}]+)")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n\s*")
_HAS_WORD_CHAR = re.compile(r"\w")
# Text in these scripts (and CJK punctuation) joins without a space.
_CJK_EDGE = re.compile(f"[{_HAN_CLASS}\u3040-\u30ff\u3000-\u303f\uff00-\uffef]")
_EPSILON = 1e-9
_SPACE_DELIMITED_SENTENCES = frozenset({"th", "lo", "km", "my"})


def _char_weight(char: str) -> float:
    if _HAN.match(char):
        return 1 / CHARS_PER_WORD["han"]
    if _KANA.match(char):
        return 1 / CHARS_PER_WORD["kana"]
    if _THAI.match(char):
        return 1 / CHARS_PER_WORD["thai"]
    return 0.0  # a combining mark


def _count_spaced(text: str) -> int:
    return len(text.split()) - len(_PUNCTUATION_TOKEN.findall(text))


def count_words(text: str) -> float:
    """Length of ``text`` in words; letters of unspaced scripts count as fractions of a word."""
    if not _UNSPACED_ANY.search(text):
        return float(_count_spaced(text))
    spaced = _count_spaced(_UNSPACED_ANY.sub(" ", text))
    return (
        spaced
        + len(_HAN.findall(text)) / CHARS_PER_WORD["han"]
        + len(_KANA.findall(text)) / CHARS_PER_WORD["kana"]
        + len(_THAI.findall(text)) / CHARS_PER_WORD["thai"]
    )


def _normalize(text: str) -> str:
    # A byte-order mark is not whitespace to str.split, but files saved on Windows often start with one.
    return " ".join(text.replace("\ufeff", " ").split())


def _join(pieces: list[str]) -> str:
    out = pieces[0]
    for piece in pieces[1:]:
        glue = "" if _CJK_EDGE.match(out[-1]) or _CJK_EDGE.match(piece[0]) else " "
        out = out + glue + piece
    return out


def split_long_sentence(sentence: str, max_words: int) -> list[str]:
    """Cut one over-long sentence at word boundaries (between characters for unspaced scripts).

    Inside a Thai or CJK run the cut backs off to the last space, if there is one in the second
    half of the piece, so that a Thai word is not cut in two when a clause boundary is near.
    """
    atoms: list[tuple[str, float, bool]] = []  # (text, weight, is_space)
    for match in _ATOM.finditer(sentence):
        kind = match.lastgroup
        text = match.group()
        if kind == "space":
            atoms.append((text, 0.0, True))
        elif kind == "unspaced":
            atoms.append((text, _char_weight(text), False))
        else:
            atoms.append((text, 1.0 if _HAS_WORD_CHAR.search(text) else 0.0, False))

    pieces: list[str] = []
    current: list[tuple[str, float, bool]] = []
    words = 0.0
    for atom in atoms:
        if words + atom[1] > max_words + _EPSILON and words > 0:
            cut = len(current)
            last_space = max((i for i, a in enumerate(current) if a[2]), default=-1)
            if atom[0] and _UNSPACED_ANY.match(atom[0]) and last_space > len(current) // 2:
                cut = last_space
            pieces.append("".join(a[0] for a in current[:cut]))
            current = current[cut:]
            while current and current[0][2]:  # a piece never starts with a space
                current.pop(0)
            words = sum(a[1] for a in current)
        current.append(atom)
        words += atom[1]
    if current:
        pieces.append("".join(a[0] for a in current))
    return [p for p in (_normalize(piece) for piece in pieces) if p]


def _segments(text: str, lang: str | None, max_words: int) -> Iterator[tuple[str, float]]:
    """Pieces no longer than the limit, in order: whole paragraphs where they fit, else sentences."""
    for paragraph in _PARAGRAPH_BREAK.split(text):
        paragraph = _normalize(paragraph)
        if not paragraph:
            continue
        words = count_words(paragraph)
        if words <= max_words + _EPSILON:
            yield paragraph, words
            continue
        # Thai writes no sentence punctuation: a space marks the end of a sentence or clause.
        sentences = paragraph.split(" ") if lang in _SPACE_DELIMITED_SENTENCES else segment(lang or "en", paragraph)
        for sentence in sentences:
            sentence = sentence.strip()
            if not sentence:
                continue
            words = count_words(sentence)
            if words <= max_words + _EPSILON:
                yield sentence, words
            else:
                for piece in split_long_sentence(sentence, max_words):
                    yield piece, count_words(piece)


def chunk_text(text: str, lang: str | None = None, max_words: int = 100) -> list[str]:
    """Split ``text`` into passages of at most ``max_words`` words (see the module docs for the rules).

    Args:
        text: the document text; blank lines separate paragraphs.
        lang: the SWIM-IR code of the text, which picks the sentence rules (abbreviations, punctuation).
        max_words: the passage length limit.

    Returns:
        The passages in document order, whitespace-normalised; ``[]`` for a blank text.
    """
    if max_words < 1:
        raise ValueError("max_words must be at least 1")
    if count_words(text) <= max_words + _EPSILON:
        normalized = _normalize(text)
        return [normalized] if normalized else []
    passages: list[str] = []
    current: list[str] = []
    words = 0.0
    for piece, piece_words in _segments(text, lang, max_words):
        if current and words + piece_words > max_words + _EPSILON:
            passages.append(_join(current))
            current, words = [], 0.0
        current.append(piece)
        words += piece_words
    if current:
        passages.append(_join(current))
    return passages
