"""The ``repetition`` filter: degenerate repetition, the loop small generators fall into.

Gemma 3 270M sometimes loops: "Ni nani ya nani ya nani ya nani …", "的的的", "什么什么什么". Two rules,
both with the reject code ``degenerate_repetition``, on normalised tokens (:mod:`hfswim.text.normalize`:
words, or characters for CJK/Thai):

* **A repeated n-gram**: the same 1 to ``max_ngram`` tokens (4 words; ``max_ngram_chars`` = 6 characters,
  about 2-3 CJK words) ``min_repeats`` (3) or more times in a row — the last time may be cut off after
  2 tokens, as generation stops at ``max_new_tokens`` in the middle of a loop. Twice is language: "New York, New
  York", "Bora Bora", "wer wer", reduplication ("pole pole", "kiri-kiri", "人人", "ต่างๆ"); three times in
  a row is not, in a search query.
* **Few distinct tokens**: a query of ``distinct_min_tokens`` (12) tokens or more whose distinct
  share is below ``min_distinct_ratio`` (0.5) — loops with variation ("ya nani na ya nani wa ya nani
  …"). Unspaced scripts count distinct character *bigrams* (``distinct_min_tokens`` of them), since
  an alphabet of ~45 Thai letters repeats in any sentence. On the exemplar passages of all 33 languages
  (their 12-40 token sentences) the distinct share is at least 0.65 (see the tests).

Numbers are exempt from the first rule ("1 + 1 + 1").

Example::

    >>> f = RepetitionFilter()
    >>> [r and r.code for r in f.judge([{"query": "Ni nani ya nani ya nani ya nani?"},
    ...                                  {"query": "Why is New York called New York?"}])]
    ['degenerate_repetition', None]
"""

from __future__ import annotations

import itertools
import operator
from typing import Annotated, ClassVar

import regex
from pydantic import Field

from hfswim.filters.base import Rejection, Row, RowFilter
from hfswim.filters.settings import Probability
from hfswim.languages import UNSPACED_SCRIPTS
from hfswim.text.langid import script_of
from hfswim.text.normalize import normalize, normalize_many, tokens

_UNSPACED_CHAR = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}]")


def repeated_run(
    toks: list[str], max_ngram: int, min_repeats: int, min_single: int | None = None
) -> tuple[int, int, float] | None:
    """The first ``(start, n, repeats)`` where an ``n``-gram (n <= max_ngram) occurs ``min_repeats`` or more
    times in a row (the last one may be cut off after 2 tokens), shortest n first; None when there is none.
    ``min_single`` (default ``min_repeats``) is the count for a single token.

    >>> repeated_run("ni nani ya nani ya nani ya nani".split(), 4, 3)
    (1, 2, 3.5)
    >>> repeated_run("new york new york".split(), 4, 3) is None
    True
    >>> repeated_run("wo ni a b c a b c a b".split(), 4, 3)
    (2, 3, 2.6666666666666665)
    """
    total = len(toks)
    if total - len(set(toks)) < min_repeats - 1:  # a repeat needs a token min_repeats times: the common case
        return None
    for n in range(1, max_ngram + 1):
        # toks[i] == toks[i + n] over a stretch <=> the tokens repeat with period n there. A loop counts from
        # min_repeats - 1 full repeats plus min(n, 2) tokens of the next: generation stops at max_new_tokens,
        # so a loop of a longer phrase often ends cut off ("ẹ̀rọ ìtẹ̀wé ń ẹ̀rọ ìtẹ̀wé ń ẹ̀rọ ìtẹ̀wé").
        # One C-level comparison per token and a substring search, no Python loop per window.
        same = bytes(map(operator.eq, toks, toks[n:]))
        repeats_needed = min_repeats if n > 1 or min_single is None else min_single
        pattern = b"\x01" * ((repeats_needed - 2) * n + min(n, 2))
        start = same.find(pattern)
        while start != -1:
            gram = toks[start : start + n]
            if not all(tok.isdigit() for tok in gram):  # "1 + 1 + 1", "2, 2, 2": a number may recur
                span = n + len(pattern)
                while start + span < total and toks[start + span] == toks[start + span - n]:
                    span += 1
                return start, n, span / n
            start = same.find(pattern, start + 1)
    return None


def _mixed_tokens(query: str) -> list[str]:
    """Characters of the words written in an unspaced script, other words whole: "Rudenn Nogars" in a Thai
    query must not become "…dennnog…" (three n's), as joining all characters would make it.

    >>> _mixed_tokens("长城 Great Wall 的的")
    ['长', '城', ' ', 'great', ' ', 'wall', ' ', '的', '的']
    """
    out: list[str] = []
    for word in normalize(query).split():
        if out:
            out.append(" ")  # a word boundary, so that letters do not repeat across it ("โรเออ ออกแบบ")
        if _UNSPACED_CHAR.search(word):
            out.extend(word)
        else:
            out.append(word)
    return out


class RepetitionFilter(RowFilter):
    """Rejects degenerate repetition (``degenerate_repetition``). See the module docstring.

    Args:
        max_ngram: longest repeated n-gram looked for, in words.
        max_ngram_chars: the same for unspaced scripts, in characters.
        min_repeats: repeats in a row that reject (twice is language).
        min_distinct_ratio: a long query with a smaller share of distinct tokens is rejected.
        distinct_min_tokens: queries with fewer tokens are exempt from min_distinct_ratio.
    """

    name: ClassVar[str] = "repetition"
    columns: ClassVar[frozenset[str] | None] = frozenset({"query"})

    def __init__(
        self,
        max_ngram: Annotated[int, Field(ge=1, le=16)] = 4,
        max_ngram_chars: Annotated[int, Field(ge=1, le=32)] = 6,
        min_repeats: Annotated[int, Field(ge=2)] = 3,
        min_distinct_ratio: Probability = 0.5,
        distinct_min_tokens: Annotated[int, Field(ge=2)] = 12,
    ):
        self.max_ngram, self.max_ngram_chars, self.min_repeats = max_ngram, max_ngram_chars, min_repeats
        self.min_distinct_ratio, self.distinct_min_tokens = min_distinct_ratio, distinct_min_tokens

    def judge(self, rows: list[Row]) -> list[Rejection | None]:
        normalize_many([row.get("query") or "" for row in rows])  # one pass for the batch; tokens() reuses it
        return [self._judge(row.get("query") or "") for row in rows]

    def _judge(self, query: str) -> Rejection | None:
        script = script_of(query)
        unspaced = script in UNSPACED_SCRIPTS
        q = _mixed_tokens(query) if unspaced else tokens(query)
        if len(q) < self.min_repeats:
            return None
        # Thai characters are letters, not syllables: one may end a word and start the next two ("คะแนนนำ").
        single = self.min_repeats + 1 if script == "Thai" else None
        found = repeated_run(q, self.max_ngram_chars if unspaced else self.max_ngram, self.min_repeats, single)
        if found is not None:
            start, n, repeats = found
            sep = "" if unspaced else " "
            unit = "character" if unspaced else "word"
            return self.reject(
                "degenerate_repetition",
                f"'{sep.join(q[start : start + n])}' ({n} {unit}{'s' if n > 1 else ''}) repeated {repeats:.3g} times "
                "in a row",
            )
        units = [a + b for a, b in itertools.pairwise(q)] if unspaced else q
        if len(units) >= self.distinct_min_tokens:
            ratio = len(set(units)) / len(units)
            if ratio < self.min_distinct_ratio:
                what = "character bigrams" if unspaced else "words"
                return self.reject(
                    "degenerate_repetition",
                    f"{len(set(units))} distinct of {len(units)} {what} ({ratio:.2f} < {self.min_distinct_ratio})",
                )
        return None
