"""Run filters over generated records, streaming: ``run_filters`` and the in-memory ``filter_rows``.

Two passes with bounded memory:

1. **Row phase** — stream the input in batches of ``batch_size`` rows; every row filter judges the
   batch in the configured order; rejected rows go straight to ``rejected.parquet``, survivors to
   temporary spill files (Arrow IPC with LZ4, one per batch), and the select filters (dedup, top-k)
   observe compact state of them (ids, scores, MinHash signatures — never whole records).
2. **Select phase** — dedup, then top-k (:data:`~hfswim.filters.base.SELECT_ORDER`) decide which
   survivors to drop; the spill files are streamed once more into ``kept.parquet`` / ``rejected.parquet``.

Filters see rows as Python dicts, but records travel as Arrow: the output tables take the generated
columns straight from the input batch and only the filter columns (scores, reject reason) from the
dicts, so no record is converted back from Python. With ``workers > 1`` a pool of forked processes
does the row phase (and dedup's normalising and MinHash): they receive Arrow batches, write the
survivors' spill file themselves and send back only the rejected rows (an Arrow table), the report's
counts and the select filters' compact summaries. The same pool then runs the selection of each
language in parallel.

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

import contextlib
import gc
import itertools
import os
import shutil
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NamedTuple

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
        """Count a judged batch into the report and merge its survivors' summaries into the select filters."""
        self.report.total_in += sum(outcome.n_in.values())
        self.report.per_language_in.update(outcome.n_in)
        for name, reached, rejected_here in outcome.counts:
            # Counts are additive: a select filter's selection rejects are added in finish().
            self.report.count_filter(name, reached, rejected_here)
        for f, summary in zip(self.selects, outcome.summaries, strict=True):
            f.merge(summary)
        return outcome.survivors, outcome.rejected

    def warm_up(self) -> None:
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


class BatchOutcome(NamedTuple):
    """What the row phase made of one batch."""

    survivors: list[Row]
    rejected: list[tuple[Row, Rejection]]
    n_in: Counter  # rows in, per language
    counts: list[tuple[str, Counter, list]]  # per filter: its name, rows reaching it per language, its rejects
    summaries: list  # per select filter (execution order), SelectFilter.summarize of the survivors


def judge_batch(filters: list, rows: list[Row], has_score_columns: bool = False) -> BatchOutcome:
    """The pure part of the row phase (runs in worker processes when ``workers > 1``): every row rule,
    then the select filters' summaries of the survivors (dedup's normalising and MinHash).

    ``has_score_columns``: every row already has every ``FILTERED_SCHEMA`` score column (maybe None).
    """
    if not has_score_columns:
        for row in rows:
            for col in _SCORE_COLUMNS:
                row.setdefault(col, None)
    n_in = Counter([row.get("query_lang") or "" for row in rows])
    rejected: list[tuple[Row, Rejection]] = []
    counts = []
    reached = n_in
    for f in filters:
        result = f.apply(rows)
        counts.append((f.name, reached, result.rejected))
        if result.rejected:  # the next filter sees this one's survivors
            reached = reached - Counter([r.get("query_lang") or "" for r, _ in result.rejected])
        rejected.extend(result.rejected)
        rows = result.kept
    summaries = [f.summarize(rows) for f in filters if isinstance(f, SelectFilter)]
    return BatchOutcome(rows, rejected, n_in, counts, summaries)


def _columns_read(filters: list, names: list[str]) -> list[str] | None:
    """The input columns the filters read (plus what the report and the outputs need), or None for all."""
    wanted = set(_SAMPLE_KEYS) | _FILTER_COLUMNS
    for f in filters:
        columns = getattr(f, "columns", None)
        if columns is None:
            return None
        wanted |= columns
    return [name for name in names if name in wanted]


# What the report reads from a rejected row: with the select filters' summaries, all a worker sends back
# besides the Arrow tables.
_SAMPLE_KEYS = ("record_id", "query_lang", "query", "passage_id")
_FILTER_COLUMNS = frozenset(_SCORE_COLUMNS)
_POSITION = "_position"  # a row's index in its Arrow batch, while the row phase runs
_SPILL_OPTIONS = {"compression": "lz4"}  # fast enough that the spill costs less than Parquet's encoder


def filtered_table(batch, indices: list[int], rows: list[Row]):
    """``FILTERED_SCHEMA`` table of ``batch``'s rows at ``indices``, whose row dicts are ``rows``.

    Generated columns are taken from the Arrow batch (filters only add score columns, never change the
    record), filter columns (scores, reject reason) from the dicts; columns the input lacks are null.
    """
    import pyarrow as pa

    taken = batch.take(pa.array(indices, type=pa.int64()))
    names = set(batch.schema.names)
    columns = []
    for field in FILTERED_SCHEMA:
        if field.name in _FILTER_COLUMNS:
            columns.append(pa.array([row.get(field.name) for row in rows], type=field.type))
        elif field.name in names:
            column = taken.column(field.name)
            columns.append(column if column.type == field.type else column.cast(field.type))
        else:
            columns.append(pa.nulls(len(indices), field.type))
    return pa.Table.from_arrays(columns, schema=FILTERED_SCHEMA)


# (survivors table, or the path of their spill file; rejected table; outcome, or its compact form)
JudgedBatch = tuple[object, object, BatchOutcome | tuple]


@contextlib.contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector: a batch allocates ~100k small dicts and lists that hold no
    cycles and are freed by reference counting when the batch is done, so the collector's passes over
    them (~6% of the row phase) free nothing."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def judge_arrow(filters: list, batch, compact: bool = False, spill: str | None = None) -> JudgedBatch:
    """Row phase of one Arrow batch: survivors and rejects as ``FILTERED_SCHEMA`` tables, plus the outcome.

    The select filters' summaries (dedup's normalising and MinHash) are made here too, so that they run
    in the workers when ``workers > 1``. ``compact`` returns the outcome in the compact form a worker
    sends back (:func:`_compact`; :func:`_expand` restores it). With ``spill`` (a path), the survivors are
    written there as an Arrow IPC file and the path is returned in place of their table: a worker's
    survivors then never travel through a pipe.
    """
    with _gc_paused():
        columns = _columns_read(filters, batch.schema.names)
        rows = (batch if columns is None else batch.select(columns)).to_pylist()
        absent = dict.fromkeys(c for c in _SCORE_COLUMNS if c not in batch.schema.names)
        for i, row in enumerate(rows):
            row[_POSITION] = i  # a key, not id(row): a filter may hand back copies of the dicts
            row.update(absent)
        outcome = judge_batch(filters, rows, has_score_columns=True)
        survivors, rejected = outcome.survivors, outcome.rejected
        rejected_rows = _with_reason(rejected)
        kept_table = filtered_table(batch, [row.pop(_POSITION) for row in survivors], survivors)
        rejected_table = filtered_table(batch, [row.pop(_POSITION) for row in rejected_rows], rejected_rows)
        if spill is not None:
            import pyarrow as pa

            with pa.ipc.new_file(spill, FILTERED_SCHEMA, options=pa.ipc.IpcWriteOptions(**_SPILL_OPTIONS)) as writer:
                writer.write_table(kept_table)
            kept_table = spill
    return kept_table, rejected_table, (_compact(outcome) if compact else outcome)


def _compact(outcome: BatchOutcome) -> tuple:
    """A worker's outcome without the survivors (they are in the spill file; the select filters have
    their summaries) and with the rejects as columns of the fields the report reads: a list per field
    pickles several times faster than one dict per row."""
    return (
        [[row.get(k) for row, _ in outcome.rejected] for k in _SAMPLE_KEYS],
        [rejection for _, rejection in outcome.rejected],
        outcome.n_in,
        [(name, reached, len(rejected_here)) for name, reached, rejected_here in outcome.counts],
        outcome.summaries,
    )


def _expand(compact: tuple) -> BatchOutcome:
    """The outcome from :func:`_compact` (no survivors; rejects as small row dicts)."""
    rejected_columns, rejections, n_in, counts, summaries = compact
    rejected_rows = [dict(zip(_SAMPLE_KEYS, values, strict=True)) for values in zip(*rejected_columns, strict=True)]
    rejected = list(zip(rejected_rows, rejections, strict=True))
    per_filter, at = [], 0
    for name, reached, n in counts:  # judge_batch lists each filter's rejects in order
        per_filter.append((name, reached, rejected[at : at + n]))
        at += n
    return BatchOutcome([], rejected, n_in, per_filter, summaries)


_WORKER_FILTERS: list = []  # the parent's filters, inherited by the forked workers


def _worker_judge(batch, spill: str) -> JudgedBatch:
    return judge_arrow(_WORKER_FILTERS, batch, compact=True, spill=spill)


def _worker_judge_row_group(
    file: str, row_group: int, batch_size: int, batches: range, spill: str
) -> list[JudgedBatch]:
    """Read one row group of ``file`` here, in the worker, and judge its batches number ``batches``."""
    import pyarrow.parquet as pq

    with pq.ParquetFile(file) as parquet:
        read = parquet.iter_batches(batch_size=batch_size, row_groups=[row_group], use_threads=False)
        return [
            judge_arrow(_WORKER_FILTERS, batch, compact=True, spill=f"{spill}-{i:06d}.arrow")
            for i, batch in enumerate(itertools.islice(read, batches.stop))
            if i in batches
        ]


def _row_group_tasks(files: list[Path], batch_size: int, workers: int) -> list[tuple[str, int, range]] | None:
    """(file, row group, its batches) for the workers to read themselves, or None when a row group is too
    large to hold in a worker at once (> 4 batches: the main process then reads and ships batches).

    A task is a whole row group, except in the last ``workers`` row groups: one task per batch there, so
    that the workers finish together (reading a row group for one batch costs little once, at the end).
    """
    import pyarrow.parquet as pq

    groups = []
    for file in files:
        meta = pq.read_metadata(file)
        for i in range(meta.num_row_groups):
            rows = meta.row_group(i).num_rows
            if rows > 4 * batch_size:
                return None
            groups.append((str(file), i, -(-rows // batch_size)))
    tasks = []
    for at, (file, i, n) in enumerate(groups):
        if at < len(groups) - workers:
            tasks.append((file, i, range(n)))
        else:
            tasks.extend((file, i, range(b, b + 1)) for b in range(n))
    return tasks


@contextlib.contextmanager
def _worker_pool(workers: int, filters: list):
    """``workers`` forked processes for the row phase and the parallel parts of the select phase, or
    ``None`` for ``workers <= 1``.

    fork: workers start at once with the imported modules and the loaded models; nothing here holds
    threads (torch filters are refused with workers > 1).
    """
    if workers <= 1:
        yield None
        return
    import multiprocessing

    import pandas  # noqa: F401 - pyarrow imports it on its first pa.array() (~0.15 s): once here, not per worker

    global _WORKER_FILTERS
    _WORKER_FILTERS = filters  # prepared (models loaded) before the fork: the workers share them
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        yield pool


_FORKED: tuple | None = None  # (function, items) of a _forked_map call, inherited by its processes


def _call_forked(index: int):
    fn, items = _FORKED  # type: ignore[misc]
    return fn(items[index])


def _forked_map(workers: int) -> Callable:
    """A ``map`` (results in any order) over ``workers`` processes forked for the call: they inherit the
    items instead of receiving them through a pipe (the select phase's per-language state: ~300 bytes a
    row), and whatever the parent imported meanwhile (datasketch, see :meth:`SelectFilter.warm_up`)."""

    def forked_map(fn: Callable, items):
        global _FORKED
        import multiprocessing

        items = list(items)
        if len(items) <= 1:
            yield from map(fn, items)
            return
        _FORKED = (fn, items)
        try:
            with multiprocessing.get_context("fork").Pool(min(workers, len(items))) as pool:
                yield from pool.imap_unordered(_call_forked, range(len(items)))
        finally:
            _FORKED = None

    return forked_map


def _judged_batches(runner: FilterRunner, files: list[Path], batch_size: int, pool, workers: int, spill_dir: Path):
    """(survivors' spill file, rejected table) per batch, in input order, counted into the runner and
    merged into its select filters; judged in this process, or on ``pool``'s ``workers`` processes."""
    spills = (str(spill_dir / f"{i:09d}") for i in itertools.count())
    if pool is None:
        for batch in _read_batches(files, batch_size):
            kept, rejected, outcome = judge_arrow(runner.filters, batch, spill=next(spills) + ".arrow")
            runner.absorb(outcome)
            yield kept, rejected
        return
    # Survivors stay in the worker's spill file; only rejects and compact summaries come back. The
    # workers read their row groups themselves when these are small enough (no records through a pipe),
    # else batches go out as Arrow buffers. At most 2 tasks per worker in flight (Pool.imap would read
    # the whole input ahead).
    units = _row_group_tasks(files, batch_size, workers)
    if units is not None:
        tasks = ((_worker_judge_row_group, (file, i, batch_size, b, next(spills))) for file, i, b in units)
    else:
        tasks = ((_worker_judge, (batch, next(spills) + ".arrow")) for batch in _read_batches(files, batch_size))
    pending: deque = deque()

    def take():
        judged = pending.popleft().get()
        for kept, rejected, compact in judged if units is not None else [judged]:
            runner.absorb(_expand(compact))
            yield kept, rejected

    warm = False
    for fn, args in tasks:
        pending.append(pool.apply_async(fn, args))
        if len(pending) >= 2 * workers:
            if not warm:  # the workers are busy: a good moment for the select phase's imports
                runner.warm_up()
                warm = True
            yield from take()
    while pending:
        yield from take()


class _TableSink:
    """Collects tables and writes them in row groups of at least ``rows`` rows."""

    def __init__(self, writer, rows: int = 8192):
        self.writer, self.rows = writer, rows
        self.pending: list = []
        self.count = 0

    def add(self, table) -> None:
        if table.num_rows:
            self.pending.append(table)
            self.count += table.num_rows
            if self.count >= self.rows:
                self.flush()

    def flush(self) -> None:
        import pyarrow as pa

        if self.pending:
            self.writer.write_table(pa.concat_tables(self.pending))
            self.pending, self.count = [], 0


def _read_batches(files: list[Path], batch_size: int):
    """Record batches, one row group at a time (pyarrow.dataset's read-ahead would hold ~16 batches)."""
    import pyarrow.parquet as pq

    for file in files:
        with pq.ParquetFile(file) as parquet:
            yield from parquet.iter_batches(batch_size=batch_size)


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
        raise ConfigError(
            "workers > 1 builds the filters from the config (which refuses torch-based filters); do not pass built filters."
        )
    filters = build_filters(config) if filters is None else filters
    report = QualityReport(
        input=str(input), config=config.model_dump(mode="json"), samples_per_filter=config.samples_per_filter
    )
    runner = FilterRunner(filters, report)
    for f in filters:
        f.prepare(input) if hasattr(f, "prepare") else None

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    spill_dir = out / ".survivors"  # one Arrow IPC file per batch, deleted once read back
    shutil.rmtree(spill_dir, ignore_errors=True)
    spill_dir.mkdir()
    try:
        with AtomicParquetWriter(out / REJECTED_FILE, FILTERED_SCHEMA) as rejected_writer:
            rejected_sink = _TableSink(rejected_writer)
            spills = []
            with _worker_pool(config.workers, runner.filters) as pool:
                for spill, rejected in _judged_batches(
                    runner, files, config.batch_size, pool, config.workers, spill_dir
                ):
                    rejected_sink.add(rejected)
                    spills.append(spill)
            decisions = runner.select_phase(map=_forked_map(config.workers) if config.workers > 1 else map)
            _write_kept(out / KEPT_FILE, spills, decisions, runner, rejected_sink)
            rejected_sink.flush()
    finally:
        shutil.rmtree(spill_dir, ignore_errors=True)
    report.seconds = time.perf_counter() - start
    report.write(out)
    return report


def _write_kept(path: Path, spills: list[str], decisions: dict[str, Rejection], runner: FilterRunner, rejected_sink):
    """Stream the survivors' spill files into ``path``, less the rows the select phase dropped (those go
    to ``rejected_sink`` and are counted into the report)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from hfswim.io import AtomicParquetWriter

    dropped_ids = pa.array(list(decisions), type=pa.string())
    with AtomicParquetWriter(path, FILTERED_SCHEMA) as kept_writer:
        kept_sink = _TableSink(kept_writer)
        for spill in spills:
            with pa.memory_map(spill) as source:
                reader = pa.ipc.open_file(source)
                for i in range(reader.num_record_batches):
                    batch = reader.get_batch(i)
                    dropped = pc.is_in(batch.column("record_id"), value_set=dropped_ids)
                    if pc.any(dropped).as_py():
                        dropped_table = pa.Table.from_batches([batch.filter(dropped)])
                        why = [decisions[rid] for rid in dropped_table.column("record_id").to_pylist()]
                        # The report reads a few fields of each row, not the whole record.
                        samples = dropped_table.select(list(_SAMPLE_KEYS)).to_pylist()
                        runner.finish(list(zip(samples, why, strict=True)))  # additive: memory stays flat
                        rejected_sink.add(_with_rejections(dropped_table, why))
                        batch = batch.filter(pc.invert(dropped))
                    kept_sink.add(pa.Table.from_batches([batch], schema=FILTERED_SCHEMA))
            os.unlink(spill)
        kept_sink.flush()


def _with_rejections(table, rejections: list[Rejection]):
    """``table`` (``FILTERED_SCHEMA``) with ``reject_filter`` and ``reject_reason`` set from ``rejections``."""
    import pyarrow as pa

    for name, values in (
        ("reject_filter", [r.filter for r in rejections]),
        ("reject_reason", [r.reason for r in rejections]),
    ):
        at = table.schema.get_field_index(name)
        table = table.set_column(at, table.schema.field(at), pa.array(values, type=table.schema.field(at).type))
    return table


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
