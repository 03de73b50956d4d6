"""Shared machinery of the score-based filters: per-language top-k / top-fraction.

A :class:`TopKFilter` remembers ``(record_id, score)`` per language (compact state: ~100 bytes a row)
and at selection time keeps the ``top_k`` best (or the best ``top_fraction``) of each language. Ties
break by ``record_id``, so the selection is deterministic. Subclasses (``logprob``, ``cross-encoder``)
name their ``score_column`` and add their row rules (thresholds, scoring).
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import ClassVar

from hfswim.filters.base import Rejection, Row, SelectFilter
from hfswim.records import QUERY_LANGUAGE


class TopKFilter(SelectFilter):
    score_column: ClassVar[str]

    def __init__(self, top_k: int | None = None, top_fraction: float | None = None):
        self.top_k, self.top_fraction = top_k, top_fraction
        self.reset()

    @property
    def active(self) -> bool:
        return self.top_k is not None or self.top_fraction is not None

    def reset(self) -> None:
        self._scores: dict[str, list[tuple[float, str]]] = defaultdict(list)

    def summarize(self, rows: list[Row]) -> dict[str, list[tuple[float, str]]]:
        """``{query_language: [(score, record_id), ...]}`` of the rows whose score is a number (not None/NaN)."""
        out: dict[str, list[tuple[float, str]]] = defaultdict(list)
        for row in rows:
            score = row.get(self.score_column)
            if score is not None and score == score:
                out[row.get(QUERY_LANGUAGE) or ""].append((score, row["record_id"]))
        return dict(out)

    def merge(self, summary: dict[str, list[tuple[float, str]]]) -> None:
        for lang, scored in summary.items():
            self._scores[lang].extend(scored)

    def select(self, excluded: set[str], map=map) -> dict[str, Rejection]:
        rejects: dict[str, Rejection] = {}
        if not self.active:
            return rejects
        for lang in sorted(self._scores):
            ranked = sorted((s for s in self._scores[lang] if s[1] not in excluded), key=lambda s: (-s[0], s[1]))
            keep = len(ranked)
            if self.top_k is not None:
                keep = min(keep, self.top_k)
            if self.top_fraction is not None:
                keep = min(keep, math.ceil(self.top_fraction * len(ranked)))
            for rank, (score, rid) in enumerate(ranked[keep:], start=keep + 1):
                rejects[rid] = self.reject(
                    "below_top_k",
                    f"{self.score_column} {score:.4f} ranks {rank} of {len(ranked)} in {lang}; keeping the top {keep}",
                )
        return rejects
