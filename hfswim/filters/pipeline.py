"""Run filters over generated records, streaming: ``run_filters`` and the in-memory ``filter_rows``.

Two passes with bounded memory:

1. **Row phase** — stream the input in batches of ``batch_size`` rows; every row filter judges the
   batch in the configured order; rejected rows go straight to ``rejected.parquet``, survivors to a
   temporary spill file, and the select filters (dedup, top-k) observe compact state of them
   (ids, scores, MinHash signatures — never whole records).
2. **Select phase** — dedup, then top-k (:data:`~hfswim.filters.base.SELECT_ORDER`) decide which
   survivors to drop; the spill file is streamed once more into ``kept.parquet`` / ``rejected.parquet``.

Memory is O(batch) for records plus O(rows) compact select state (~100 bytes a row, + 256 bytes with
near-dedup) and the round-trip corpus index when that filter runs.

Example::

    >>> from hfswim.filters import FilterConfig, run_filters
    >>> report = run_filters("runs/gen/generated.parquet", "runs/filtered",
    ...                      FilterConfig.from_names("parse,langid,dedup,heuristics"))  # doctest: +SKIP
    >>> report.kept, report.total_in  # doctest: +SKIP
    (812, 1000)
"""

from __future__ import annotations

import os
import time
from collections import Counter, deque
from collections.abc import Iterable
from pathlib import Path

from hfswim.errors import ConfigError, InputError
from hfswim.filters.base import SELECT_ORDER, Rejection, Row, SelectFilter
from hfswim.filters.config import FilterConfig, build_filters
from hfswim.filters.report import QualityReport
from hfswim.records import FILTER_FIELDS, FILTERED_SCHEMA, GENERATED_SCHEMA

KEPT_FILE, REJECTED_FILE = "kept.parquet", "rejected.parquet"
_REQUIRED = ("record_id", "passage_id", "query_lang", "query", "parse_status")
_SCORE_COLUMNS = [f.name for f in FILTER_FIELDS]


def _execution_order(filters: list) -> tuple[list, list[SelectFilter]]:
    """Row filters in the configured order, then select filters in the canonical order."""
    selects = [f for f in filters if isinstance(f, SelectFilter)]
    rank = {name: i for i, name in enumerate(SELECT_ORDER)}
    selects.sort(key=lambda f: rank.get(f.name, len(rank)))
    return [f for f in filters if not isinstance(f, SelectFilter)] + selects, selects


class FilterRunner:
    """Apply built filters to rows and count everything into a :class:`QualityReport`.

    Shared by :func:`run_filters` (streaming) and :func:`filter_rows` (in memory).
    """

    def __init__(self, filters: list, report: QualityReport):
        self.filters, self.selects = _execution_order(filters)
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
        """Count a judged batch into the report and let the select filters observe its survivors."""
        survivors, rejected, n_in, counts = outcome
        self.report.total_in += sum(n_in.values())
        self.report.per_language_in.update(n_in)
        for name, reached, rejected_here in counts:
            # Counts are additive: a select filter's selection rejects are added in finish().
            self.report.count_filter(name, reached, rejected_here)
        for f in self.selects:
            f.observe(survivors)
        return survivors, rejected

    def select_phase(self) -> dict[str, Rejection]:
        """Run the select filters in canonical order; returns record_id -> rejection."""
        decisions: dict[str, Rejection] = {}
        for f in self.selects:
            decisions.update(f.select(set(decisions)))
        return decisions

    def finish(self, select_rejected: list[tuple[Row, Rejection]]) -> None:
        """Count (some of) the rows the select filters dropped at selection; may be called per batch."""
        by_filter: dict[str, list[tuple[Row, Rejection]]] = {}
        for row, rejection in select_rejected:
            by_filter.setdefault(rejection.filter, []).append((row, rejection))
        for f in self.selects:
            self.report.count_filter(f.name, Counter(), by_filter.get(f.name, []))


BatchOutcome = tuple[list[Row], list[tuple[Row, Rejection]], Counter, list[tuple[str, Counter, list]]]


def judge_batch(filters: list, rows: list[Row]) -> BatchOutcome:
    """The pure part of the row phase (runs in worker processes when ``workers > 1``)."""
    for row in rows:
        for col in _SCORE_COLUMNS:
            row.setdefault(col, None)
    n_in = Counter(row.get("query_lang") or "" for row in rows)
    rejected: list[tuple[Row, Rejection]] = []
    counts = []
    for f in filters:
        result = f.apply(rows)
        counts.append((f.name, Counter(r.get("query_lang") or "" for r in rows), result.rejected))
        rejected.extend(result.rejected)
        rows = result.kept
    return rows, rejected, n_in, counts


_WORKER_FILTERS: list = []


def _worker_init(config_json: str) -> None:
    global _WORKER_FILTERS
    filters, _ = _execution_order(build_filters(FilterConfig.model_validate_json(config_json)))
    _WORKER_FILTERS = filters


def _worker_judge(batch) -> BatchOutcome:
    from hfswim.filters.dedup import DedupFilter

    outcome = judge_batch(_WORKER_FILTERS, batch.to_pylist())
    # The costly part of dedup's observation (normalising, MinHash) is done here, in parallel.
    for f in _WORKER_FILTERS:
        if isinstance(f, DedupFilter):
            for row, fp in zip(outcome[0], f.fingerprint(outcome[0]), strict=True):
                row["_dedup"] = fp
    return outcome


def _judged_batches(filters: list, runner: FilterRunner, batches, config: FilterConfig):
    """Judged batches in input order: in this process, or in ``config.workers`` processes."""
    if config.workers <= 1:
        for batch in batches:
            yield runner.absorb(judge_batch(runner.filters, _rows(batch)))
        return
    import multiprocessing

    # fork: workers inherit the loaded fastText model; nothing here holds threads (torch filters are refused).
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(config.workers, initializer=_worker_init, initargs=(config.model_dump_json(),)) as pool:
        # At most 2 batches per worker in flight (Pool.imap would read the whole input ahead).
        pending: deque = deque()
        for batch in batches:
            pending.append(pool.apply_async(_worker_judge, (batch,)))
            if len(pending) >= 2 * config.workers:
                yield runner.absorb(pending.popleft().get())
        while pending:
            yield runner.absorb(pending.popleft().get())


def _read_batches(files: list[Path], batch_size: int):
    """Record batches, one row group at a time (pyarrow.dataset's read-ahead would hold ~16 batches)."""
    import pyarrow.parquet as pq

    for file in files:
        with pq.ParquetFile(file) as parquet:
            yield from parquet.iter_batches(batch_size=batch_size)


def _rows(batch) -> list[Row]:
    return batch.to_pylist()


def _check_schema(files: list[Path]) -> None:
    import pyarrow.parquet as pq

    for file in files:
        try:
            names = set(pq.read_schema(file).names)
        except Exception as err:  # pyarrow raises several types for a non-Parquet file
            raise InputError(f"{file}: not a readable Parquet file ({err}).") from None
        missing = [c for c in _REQUIRED if c not in names]
        if missing:
            raise InputError(
                f"{file}: missing column(s) {', '.join(missing)}; expected `hfswim generate` output "
                f"(records.GENERATED_SCHEMA: {', '.join(GENERATED_SCHEMA.names)})."
            )


def run_filters(
    input: str | os.PathLike,
    output_dir: str | os.PathLike,
    config: FilterConfig | None = None,
    filters: list | None = None,
) -> QualityReport:
    """Filter ``hfswim generate`` output (a Parquet file or folder) into ``output_dir``.

    Writes ``kept.parquet`` and ``rejected.parquet`` (``records.FILTERED_SCHEMA``; rejected rows carry
    ``reject_filter`` and ``reject_reason``) and ``quality_report.{json,md}``; returns the report.

    Args:
        config: the filters and settings (default: :data:`~hfswim.filters.config.DEFAULT_FILTERS`).
        filters: already-built filter objects, instead of building them from ``config`` (e.g. a
            :class:`~hfswim.filters.safety.SafetyFilter` with a Python classifier callable).
    """
    from hfswim.io import AtomicParquetWriter, resolve_files

    start = time.perf_counter()
    config = config or FilterConfig()
    files = resolve_files(input, (".parquet",))
    _check_schema(files)
    if config.workers > 1 and filters is not None:
        raise ConfigError("workers > 1 builds the filters in each worker from the config; do not pass built filters.")
    filters = build_filters(config) if filters is None else filters
    report = QualityReport(
        input=str(input), config=config.model_dump(mode="json"), samples_per_filter=config.samples_per_filter
    )
    runner = FilterRunner(filters, report)
    for f in filters:
        f.prepare(input) if hasattr(f, "prepare") else None

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    spill = out / ".survivors.parquet"
    try:
        with AtomicParquetWriter(out / REJECTED_FILE, FILTERED_SCHEMA) as rejected_writer:
            with AtomicParquetWriter(spill, FILTERED_SCHEMA) as spill_writer:
                batches = _read_batches(files, config.batch_size)
                for survivors, rejected in _judged_batches(filters, runner, batches, config):
                    rejected_writer.write_rows(_with_reason(rejected))
                    spill_writer.write_rows(survivors)
            decisions = runner.select_phase()
            with AtomicParquetWriter(out / KEPT_FILE, FILTERED_SCHEMA) as kept_writer:
                for batch in _read_batches([spill], config.batch_size):
                    kept, dropped = [], []
                    for row in _rows(batch):
                        rejection = decisions.get(row["record_id"])
                        if rejection is None:
                            kept.append(row)
                        else:
                            dropped.append((row, rejection))
                    runner.finish(dropped)  # counts are additive: batch by batch keeps memory flat
                    rejected_writer.write_rows(_with_reason(dropped))
                    kept_writer.write_rows(kept)
    finally:
        spill.unlink(missing_ok=True)
    report.seconds = time.perf_counter() - start
    report.write(out)
    return report


def _with_reason(pairs: Iterable[tuple[Row, Rejection]]) -> list[Row]:
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
    runner = FilterRunner(filters, report)
    rows = [dict(r) for r in rows]
    survivors, rejected = runner.row_phase(rows)
    decisions = runner.select_phase()
    select_rejected: list[tuple[Row, Rejection]] = []
    kept = []
    for row in survivors:
        rejection = decisions.get(row["record_id"])
        if rejection is None:
            kept.append(row)
        else:
            select_rejected.append((row, rejection))
    rejected.extend(select_rejected)
    runner.finish(select_rejected)
    return kept, _with_reason(rejected), report
