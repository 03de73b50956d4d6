"""Judge row dicts with built filters and count every decision into a quality report.

The bottom layer of filter execution, on Python row dicts: :func:`judge_batch` is the pure part of the
row phase (every row rule, then the select filters' summaries of the survivors; it runs in worker
processes when ``workers > 1``) and returns a typed :class:`BatchOutcome`; :class:`FilterRun` is the
bookkeeping both ways of running share: :func:`filter_rows` (a list of rows, in memory) and
:func:`hfswim.filters.pipeline.run_filters` (streaming, through :mod:`~hfswim.filters.arrow` and
:mod:`~hfswim.filters.workers`).

    >>> from hfswim.filters.parse import ParseFilter
    >>> kept, rejected, report = filter_rows(
    ...     [{"record_id": "a", "query": "Wo?", "parse_status": "ok", "query_language": "de"},
    ...      {"record_id": "b", "query": None, "parse_status": "no_query", "query_language": "de"}], [ParseFilter()])
    >>> [r["record_id"] for r in kept], [r["reject_reason"] for r in rejected]
    (['a'], ['no_query: the generation output could not be parsed'])
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from hfswim.filters.base import SELECT_ORDER, Rejection, Row, SelectFilter
from hfswim.filters.report import QualityReport
from hfswim.records import FILTER_FIELDS, QUERY_LANGUAGE

SCORE_COLUMNS = [f.name for f in FILTER_FIELDS]


def execution_order(filters: list) -> tuple[list, list[SelectFilter]]:
    """Row filters in the configured order, then select filters in the canonical order."""
    selects = [f for f in filters if isinstance(f, SelectFilter)]
    rank = {name: i for i, name in enumerate(SELECT_ORDER)}
    selects.sort(key=lambda f: rank.get(f.name, len(rank)))
    return [f for f in filters if not isinstance(f, SelectFilter)] + selects, selects


class FilterRun:
    """One run of built filters: their execution order, the report every batch is counted into, and the
    select phase. Shared by :func:`~hfswim.filters.pipeline.run_filters` (streaming) and
    :func:`filter_rows` (in memory).

    Args:
        filters: built filters, in the configured order (select filters run in :data:`SELECT_ORDER`).
        report: the :class:`QualityReport` to count into (its filter lists are filled in here).
    """

    def __init__(self, filters: list, report: QualityReport):
        self.filters, self.selects = execution_order(filters)
        self.report = report
        report.filters = [f.name for f in filters]
        report.execution_order = [f.name for f in self.filters]
        report.phases = {f.name: ("select" if isinstance(f, SelectFilter) else "row") for f in filters}
        for f in self.selects:
            f.reset()

    def row_phase(self, rows: list[Row]) -> tuple[list[Row], list[tuple[Row, Rejection]]]:
        """Judge one batch with every filter's row rule; select filters then observe the survivors."""
        outcome = judge_batch(self.filters, rows)
        return self.absorb(outcome)

    def absorb(self, outcome: BatchOutcome) -> tuple[list[Row], list[tuple[Row, Rejection]]]:
        """Count a judged batch into the report and merge its survivors' summaries into the select filters."""
        self.report.total_in += sum(outcome.n_in.values())
        self.report.per_language_in.update(outcome.n_in)
        for count in outcome.counts:
            # Counts are additive: a select filter's selection rejects are added in finish().
            self.report.count_filter(count.name, count.reached, count.rejected)
        for f, summary in zip(self.selects, outcome.summaries, strict=True):
            f.merge(summary)
        return outcome.survivors, outcome.rejected

    def warm_up(self) -> None:
        """Load what the select phase needs (called while the workers judge rows)."""
        for f in self.selects:
            f.warm_up()

    def select_phase(self, map: Callable = map) -> dict[str, Rejection]:
        """Run the select filters in canonical order; returns record_id -> rejection.

        ``map`` runs the independent parts of a selection (dedup: one language each), e.g. on a pool.
        """
        decisions: dict[str, Rejection] = {}
        for f in self.selects:
            decisions.update(f.select(set(decisions), map=map))
        return decisions

    def finish(self, select_rejected: list[tuple[Row, Rejection]]) -> None:
        """Count (some of) the rows the select filters dropped at selection; may be called per batch."""
        by_filter: dict[str, list[tuple[Row, Rejection]]] = {}
        for row, rejection in select_rejected:
            by_filter.setdefault(rejection.filter, []).append((row, rejection))
        for f in self.selects:
            self.report.count_filter(f.name, Counter(), by_filter.get(f.name, []))


@dataclass(slots=True)
class FilterCount:
    """One filter's share of a batch: the rows that reached it (per language) and the ones it rejected."""

    name: str
    reached: Counter
    rejected: list[tuple[Row, Rejection]]


@dataclass(slots=True)
class BatchOutcome:
    """What the row phase made of one batch."""

    survivors: list[Row]
    rejected: list[tuple[Row, Rejection]]  # in filter order: each filter's rejects together
    n_in: Counter  # rows in, per language
    counts: list[FilterCount]  # per filter, in execution order
    summaries: list[Any]  # per select filter (execution order), SelectFilter.summarize of the survivors


def judge_batch(filters: list, rows: list[Row], has_score_columns: bool = False) -> BatchOutcome:
    """The pure part of the row phase (runs in worker processes when ``workers > 1``): every row rule,
    then the select filters' summaries of the survivors (dedup's normalising and MinHash).

    ``has_score_columns``: every row already has every ``FILTERED_SCHEMA`` score column (maybe None).
    """
    if not has_score_columns:
        for row in rows:
            for col in SCORE_COLUMNS:
                row.setdefault(col, None)
    n_in = Counter([row.get(QUERY_LANGUAGE) or "" for row in rows])
    rejected: list[tuple[Row, Rejection]] = []
    counts: list[FilterCount] = []
    reached = n_in
    for f in filters:
        result = f.apply(rows)
        counts.append(FilterCount(f.name, reached, result.rejected))
        if result.rejected:  # the next filter sees this one's survivors
            reached = reached - Counter([r.get(QUERY_LANGUAGE) or "" for r, _ in result.rejected])
        rejected.extend(result.rejected)
        rows = result.kept
    summaries = [f.summarize(rows) for f in filters if isinstance(f, SelectFilter)]
    return BatchOutcome(rows, rejected, n_in, counts, summaries)


def with_reason(pairs: Iterable[tuple[Row, Rejection]]) -> list[Row]:
    """The rows of ``pairs``, each with its ``reject_filter`` and ``reject_reason`` set."""
    rows = []
    for row, rejection in pairs:
        row["reject_filter"], row["reject_reason"] = rejection.filter, rejection.reason
        rows.append(row)
    return rows


def filter_rows(rows: list[Row], filters: list) -> tuple[list[Row], list[Row], QualityReport]:
    """In-memory variant of :func:`run_filters` for a list of rows and built filters (tests, notebooks).

    Returns ``(kept, rejected, report)``; rejected rows carry ``reject_filter``/``reject_reason``.
    """
    report = QualityReport()
    run = FilterRun(filters, report)
    rows = [dict(r) for r in rows]
    survivors, rejected = run.row_phase(rows)
    decisions = run.select_phase()
    select_rejected: list[tuple[Row, Rejection]] = []
    kept = []
    for row in survivors:
        rejection = decisions.get(row["record_id"])
        if rejection is None:
            kept.append(row)
        else:
            select_rejected.append((row, rejection))
    rejected.extend(select_rejected)
    run.finish(select_rejected)
    return kept, with_reason(rejected), report
