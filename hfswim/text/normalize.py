"""Text normalisation and tokenisation shared by the dedup and heuristic filters.

Queries are compared after NFKC normalisation, case folding and removal of punctuation, symbols and
extra whitespace. Scripts written without spaces (CJK, Thai) are tokenised into characters, others
into words, so lengths and n-gram overlaps mean the same thing in every language.

    >>> normalize("  Wo  entspringt der RHEIN? ")
    'wo entspringt der rhein'
    >>> tokens("北京在哪里？", unspaced=True)
    ['北', '京', '在', '哪', '里']
    >>> longest_common_run(tokens("where is the river rhine"), tokens("the river rhine flows north"))
    3
    >>> TokenText(tokens("the river rhine flows north")).shares_run(tokens("where is the river rhine"), 3)
    True
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence

import regex

from hfswim.memo import Memo

_PUNCT_SPACE = regex.compile(r"[\p{P}\p{S}\s]+")
# ASCII text (English passages and summaries, many queries) skips the regex, ~5x faster: NFKC leaves
# ASCII alone, casefold is lower(), and this table blanks exactly the ASCII characters the regex matches.
_ASCII_BLANKS = "".join(" " if _PUNCT_SPACE.fullmatch(chr(c)) else chr(c) for c in range(128))
# str.split() also splits at these, the regex does not: texts containing them take the regex path.
_SPLIT_ONLY = tuple(c for c in map(chr, range(128)) if c.isspace() and _ASCII_BLANKS[ord(c)] != " ")
_HAS_SPLIT_ONLY = re.compile(f"[{re.escape(''.join(_SPLIT_ONLY))}]").search
# Joins the texts of one normalize_many pass: a private-use starter, so NFKC and casefold cannot reach
# across it, and not matched by the regex.
_SEPARATOR = "\ue000"

# normalize's memo, shared by the filters that normalise the same queries (heuristics, dedup, safety).
_NORM_MEMO = Memo()


def _normalize(text: str) -> str:
    if text.isascii() and _HAS_SPLIT_ONLY(text) is None:
        return " ".join(text.lower().translate(_ASCII_BLANKS).split())
    return _PUNCT_SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def normalize(text: str) -> str:
    """NFKC, casefold, punctuation/symbols/whitespace runs -> one space, stripped (memoised)."""
    norm = _NORM_MEMO.get(text)
    if norm is None:
        norm = _NORM_MEMO.remember(text, _normalize(text))
    return norm


def normalize_many(texts: Sequence[str]) -> list[str]:
    """:func:`normalize` for many texts, the non-ASCII ones in one numpy pass over all their characters
    (the regex costs ~50 ns a character; a table lookup per code point does the same for a batch).

    >>> normalize_many(["Wo  entspringt der RHEIN?", "Où  est-il ?", "北京在哪里？"])
    ['wo entspringt der rhein', 'où est il', '北京在哪里']
    """
    out: list[str | None] = [_NORM_MEMO.get(t) for t in texts]
    todo = []
    for i, norm in enumerate(out):
        if norm is None:
            text = texts[i]
            if text.isascii() or _SEPARATOR in text:
                out[i] = _NORM_MEMO.remember(text, _normalize(text))
            else:
                todo.append(i)
    if len(todo) < 8:  # numpy's fixed cost is not worth it
        for i in todo:
            out[i] = _NORM_MEMO.remember(texts[i], _normalize(texts[i]))
        return out  # type: ignore[return-value]
    import numpy as np

    # NFKC and casefold text by text: most texts pass NFKC's quick check, a joined batch would not.
    nfkc, folded = unicodedata.normalize, str.casefold
    joined = _SEPARATOR.join([folded(nfkc("NFKC", texts[i])) for i in todo])
    points = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    table = _blank_table()
    outside = points >= len(table)  # beyond the BMP (emoji, rare scripts): such texts take the regex
    blank = table[np.where(outside, 0, points)]
    # A run of punctuation, symbols and spaces becomes one space: keep its first character, as a space.
    keep = ~blank
    keep[0] |= blank[0]
    keep[1:] |= blank[1:] & ~blank[:-1]
    kept = np.where(blank, np.uint32(32), points)[keep]
    pieces = kept.tobytes().decode("utf-32-le", "surrogatepass").split(_SEPARATOR)
    redo = set()
    if outside.any():
        text_of = np.cumsum(points == ord(_SEPARATOR))  # which text each code point belongs to
        redo = set(text_of[outside].tolist())
    for n, (i, piece) in enumerate(zip(todo, pieces, strict=True)):
        out[i] = _NORM_MEMO.remember(texts[i], _normalize(texts[i]) if n in redo else piece.strip())
    return out  # type: ignore[return-value]


@functools.cache
def _blank_table():
    """Boolean per BMP code point: matched by ``_PUNCT_SPACE`` (found with the regex itself, so both agree)."""
    import numpy as np

    table = np.zeros(0x10000, dtype=bool)
    for match in _PUNCT_SPACE.finditer("".join(map(chr, range(0x10000)))):
        table[match.start() : match.end()] = True
    return table


def tokens(text: str, unspaced: bool = False) -> list[str]:
    """Words of the normalised text, or its characters (spaces dropped) for unspaced scripts."""
    norm = normalize(text)
    return list(norm.replace(" ", "")) if unspaced else norm.split()


def token_index(toks: Sequence[str]) -> dict[str, list[int]]:
    """Positions of each token, to find common runs against many queries quickly."""
    index: dict[str, list[int]] = {}
    for i, tok in enumerate(toks):
        index.setdefault(tok, []).append(i)
    return index


def longest_common_run(query: Sequence[str], other: Sequence[str], index: dict[str, list[int]] | None = None) -> int:
    """Length of the longest run of consecutive tokens that ``query`` and ``other`` share.

    ``index`` is ``token_index(other)`` when the caller has it cached. The cost is linear in the number of
    matching positions, far below a full O(n*m) alignment for a short query against a passage.
    """
    if index is None:
        index = token_index(other)
    best, n_q, n_o = 0, len(query), len(other)
    for i, tok in enumerate(query):
        if n_q - i <= best:
            break
        for j in index.get(tok, ()):
            if i and j and query[i - 1] == other[j - 1]:
                continue  # not the start of a run: the run was counted from its start
            k = 1
            while i + k < n_q and j + k < n_o and query[i + k] == other[j + k]:
                k += 1
            best = max(best, k)
    return best


class TokenText:
    """A text's tokens in joined form, to ask "do ``length`` consecutive tokens of a query occur here
    too?" (``longest_common_run(query, tokens) >= length``) with C-level substring search.

    A filter asks that question for every query against its passage and summary, and rejects only when
    the answer is yes; the exact run length (:func:`longest_common_run`) is computed for the rejects only.
    Spaced tokens contain no whitespace, so ``" a b "`` matches inside ``" x a b y "`` only on token
    boundaries; unspaced tokens are single characters, joined with nothing. Only the joined string is
    kept (a passage cache holds thousands); the token list is rebuilt when asked for.

    >>> TokenText(list("zabcdz"), unspaced=True).shares_run(list("abcxabcd"), 4)
    True
    >>> TokenText.of("The Rhine, it rises in the Alps.").shares_run(tokens("Where does it rise in the Alps"), 3)
    True
    """

    __slots__ = ("_index", "joined", "n_tokens", "unspaced")

    def __init__(self, toks: list[str], unspaced: bool = False):
        self.unspaced, self.n_tokens = unspaced, len(toks)
        self.joined = "".join(toks) if unspaced else f" {' '.join(toks)} "
        self._index: dict[str, list[int]] | None = None

    @classmethod
    def of(cls, text: str, unspaced: bool = False) -> TokenText:
        """The tokens of ``text`` (as :func:`tokens` makes them), without the normalisation memo: passages
        and summaries are seen once, or cached by the caller."""
        norm = _normalize(text)
        self = cls.__new__(cls)
        self.unspaced, self._index = unspaced, None
        if unspaced:
            self.joined = norm.replace(" ", "")
            self.n_tokens = len(self.joined)
        else:
            self.joined = f" {norm} "  # norm's tokens are separated by exactly one space
            self.n_tokens = norm.count(" ") + 1 if norm else 0
        return self

    @property
    def tokens(self) -> list[str]:
        return list(self.joined) if self.unspaced else self.joined.split()

    @property
    def index(self) -> dict[str, list[int]]:
        """:func:`token_index` of the tokens, built on first use."""
        if self._index is None:
            self._index = token_index(self.tokens)
        return self._index

    def shares_run(self, query: Sequence[str], length: int) -> bool:
        """True when ``longest_common_run(query, self.tokens) >= length``."""
        if length <= 0:
            return True
        n = len(query)
        if length > n or length > self.n_tokens:
            return False
        joined = self.joined
        # Every window of `length` consecutive tokens holds one token at a position j = length - 1 (mod length):
        # when none of those few tokens occurs here at all, no window does (the usual answer, found with a
        # search per `length` tokens instead of one per window).
        anchors = range(length - 1, n, length)
        if self.unspaced:
            text = "".join(query)
            if not any(text[j] in joined for j in anchors):
                return False
            return any(text[i : i + length] in joined for i in range(n - length + 1))
        if not any(f" {query[j]} " in joined for j in anchors):
            return False
        return any(f" {' '.join(query[i : i + length])} " in joined for i in range(n - length + 1))

    def longest_run(self, query: Sequence[str]) -> int:
        """:func:`longest_common_run` of ``query`` with these tokens."""
        return longest_common_run(query, self.tokens, self.index)
