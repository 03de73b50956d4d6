"""The ``best-of`` filter: of several candidate queries for one passage and language, keep the best one.

Sample several queries per passage (``hfswim generate --temperature 0.7`` with different ``--seed`` values into
folders filtered together, or a repeated run), then let the relevance scores choose (Promptagator and Gecko keep the
candidates that the relevance checks rank best). Within each ``(passage_id, query_language)`` group of the rows that
survived every row filter, the kept row has, in this order: the largest ``upr_margin`` (the LLM's preference for the
source over the best other passage), the best ``roundtrip_rank``, the highest ``query_logprob``; ties go to the
smallest ``record_id``. A missing score ranks last. The others are rejected ``not_best_of_passage``.

Example::

    >>> from hfswim.filters.pipeline import filter_rows
    >>> rows = [{"record_id": r, "passage_id": "p1", "query_language": "de", "upr_margin": m}
    ...         for r, m in (("a", -0.2), ("b", 0.4), ("c", None))]
    >>> kept, rejected, _ = filter_rows(rows, [BestOfFilter()])
    >>> [r["record_id"] for r in kept], sorted(r["record_id"] for r in rejected)
    (['b'], ['a', 'c'])
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, ClassVar

from hfswim.filters.base import Rejection, Row, SelectFilter
from hfswim.records import QUERY_LANGUAGE

_LOWEST = float("-inf")


def _num(value: Any) -> float:
    return value if value is not None and value == value else _LOWEST


def rank_key(row: Row) -> tuple:
    """Sort key, best first."""
    rank = row.get("roundtrip_rank")
    return (
        -_num(row.get("upr_margin")),
        -_num(-rank if rank is not None else None),
        -_num(row.get("query_logprob")),
        row["record_id"],
    )


class BestOfFilter(SelectFilter):
    name: ClassVar[str] = "best-of"
    columns: ClassVar[frozenset[str] | None] = frozenset(
        {"record_id", "passage_id", QUERY_LANGUAGE, "upr_margin", "roundtrip_rank", "query_logprob"}
    )

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._groups: dict[tuple[str, str], list[tuple]] = defaultdict(list)

    def summarize(self, rows: list[Row]) -> dict[tuple[str, str], list[tuple]]:
        out: dict[tuple[str, str], list[tuple]] = defaultdict(list)
        for row in rows:
            out[(row.get("passage_id") or "", row.get(QUERY_LANGUAGE) or "")].append(rank_key(row))
        return dict(out)

    def merge(self, summary: dict[tuple[str, str], list[tuple]]) -> None:
        for group, keys in summary.items():
            self._groups[group].extend(keys)

    def select(self, excluded: set[str], map=map) -> dict[str, Rejection]:
        rejects: dict[str, Rejection] = {}
        for (passage, lang), keys in self._groups.items():
            ranked = sorted(k for k in keys if k[-1] not in excluded)
            for key in ranked[1:]:
                rejects[key[-1]] = self.reject(
                    "not_best_of_passage", f"{ranked[0][-1]} is the better candidate for {passage} in {lang}"
                )
        return rejects
