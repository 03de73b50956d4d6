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
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Sequence

import regex

_PUNCT_SPACE = regex.compile(r"[\p{P}\p{S}\s]+")


@functools.lru_cache(maxsize=1 << 16)  # dedup and heuristics normalise the same queries
def normalize(text: str) -> str:
    """NFKC, casefold, punctuation/symbols/whitespace runs -> one space, stripped."""
    return _PUNCT_SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


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
