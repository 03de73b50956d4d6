"""Run filters over generated records, streaming: ``run_filters`` and the in-memory ``filter_rows``.

Two passes with bounded memory:

1. **Row phase** — stream the input in batches of ``batch_size`` rows; every row filter judges the
   batch in the configured order; rejected rows go straight to ``rejected.parquet``, survivors to
   temporary spill files (Arrow IPC with LZ4, one per batch), and the select filters (dedup, top-k)
   observe compact state of them (ids, scores, MinHash signatures — never whole records).
2. **Select phase** — dedup, then top-k (:data:`~hfswim.filters.base.SELECT_ORDER`) decide which
   survivors to drop; the spill files are streamed once more into ``kept.parquet`` / ``rejected.parquet``.

The layers, top down: this module (files in, files out), :mod:`~hfswim.filters.workers` (``workers > 1``:
the row phase on a pool of forked processes that read their own row groups, the per-language dedup
selection on processes forked after it), :mod:`~hfswim.filters.arrow` (one Arrow batch in, kept and
rejected Arrow tables out) and :mod:`~hfswim.filters.judging` (the filters on row dicts, typed outcomes,
the report's bookkeeping). Filters and their settings are listed once, in :mod:`~hfswim.filters.registry`.

Memory is O(batch) for records plus O(rows) compact select state (~100 bytes a row, + 256 bytes with
near-dedup) and the round-trip corpus index when that filter runs.

Example (three generated records: a duplicate and a query too short to keep)::

    >>> import pathlib, tempfile
    >>> from hfswim.filters import FilterConfig, run_filters
    >>> from hfswim.io import AtomicParquetWriter
    >>> from hfswim.records import GENERATED_SCHEMA
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> queries = ["Mto Nile unaanzia wapi?", "Mto Nile unaanzia wapi?", "Wapi?"]
    >>> with AtomicParquetWriter(folder / "generated.parquet", GENERATED_SCHEMA) as writer:
    ...     writer.write_rows({"record_id": f"r{i}", "passage_id": "nile#0", "query_language": "sw", "query": q,
    ...                        "parse_status": "ok", "text": "The Nile flows north."} for i, q in enumerate(queries))
    >>> report = run_filters(folder / "generated.parquet", folder / "filtered",
    ...                      FilterConfig.from_names("parse,dedup,heuristics"))
    >>> report.total_in, report.kept, sorted(p.name for p in (folder / "filtered").iterdir())
    (3, 1, ['kept.parquet', 'quality_report.json', 'quality_report.md', 'rejected.parquet'])
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from hfswim.errors import ConfigError, InputError
from hfswim.filters.arrow import SAMPLE_KEYS, with_rejections
from hfswim.filters.base import Rejection
from hfswim.filters.config import FilterConfig, build_filters
from hfswim.filters.judging import FilterRun, filter_rows
from hfswim.filters.report import QualityReport
from hfswim.filters.workers import forked_map, judged_batches, worker_pool
from hfswim.records import FILTERED_SCHEMA, GENERATED_SCHEMA, QUERY_LANGUAGE, upgrade_names

__all__ = ["KEPT_FILE", "REJECTED_FILE", "filter_rows", "run_filters"]

KEPT_FILE, REJECTED_FILE = "kept.parquet", "rejected.parquet"
_REQUIRED = ("record_id", "passage_id", QUERY_LANGUAGE, "query", "parse_status")


class _TableSink:
    """Collects tables and writes them in row groups of at least ``rows`` rows, one write at a time on a thread of
    its own: pyarrow encodes and compresses a row group without holding the GIL, so the next batches are filtered
    meanwhile. A context manager: leaving it writes what is pending and waits, so the file is complete (or the
    write's error raised) before its writer closes it."""

    def __init__(self, writer, rows: int = 8192):
        from concurrent.futures import ThreadPoolExecutor

        self.writer, self.rows = writer, rows
        self.pending: list = []
        self.count = 0
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="hfswim-parquet")
        self._writing = None

    def __enter__(self) -> _TableSink:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self.flush()
            self.wait()
        finally:
            self._thread.shutdown()

    def add(self, table) -> None:
        if table.num_rows:
            self.pending.append(table)
            self.count += table.num_rows
            if self.count >= self.rows:
                self.flush()

    def flush(self) -> None:
        import pyarrow as pa

        if self.pending:
            table = pa.concat_tables(self.pending)
            self.pending, self.count = [], 0
            self.wait()
            self._writing = self._thread.submit(self.writer.write_table, table)

    def wait(self) -> None:
        """Until the write in flight is done (its error is raised here); also before forking processes, which
        must not copy a thread in the middle of a write."""
        writing, self._writing = self._writing, None
        if writing is not None:
            writing.result()


def _check_schema(files: list[Path]) -> None:
    from hfswim.io import open_parquet

    for file in files:
        names = upgrade_names(open_parquet(file).schema_arrow.names)  # old files (query_lang) read as new
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

    from hfswim.io import AtomicParquetWriter, make_dir, resolve_files
    from hfswim.progress import parquet_rows, progress_bar

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
    run = FilterRun(filters, report)
    for f in filters:
        f.prepare(input) if hasattr(f, "prepare") else None

    out = make_dir(output_dir)
    spill_dir = out / ".survivors"  # one Arrow IPC file per batch, deleted once read back
    shutil.rmtree(spill_dir, ignore_errors=True)
    spill_dir.mkdir()
    try:
        with (
            AtomicParquetWriter(out / REJECTED_FILE, FILTERED_SCHEMA) as rejected_writer,
            _TableSink(rejected_writer) as rejected_sink,
        ):
            spills = []
            total = parquet_rows(input)
            with worker_pool(config.workers, run.filters) as pool, progress_bar("filter", total, "row") as bar:
                for spill, rejected in judged_batches(run, files, config.batch_size, pool, config.workers, spill_dir):
                    rejected_sink.add(rejected)
                    spills.append(spill)
                    bar.update(min(config.batch_size, (total or 0) - bar.n) if total else config.batch_size)
            rejected_sink.wait()  # the select phase forks
            decisions = run.select_phase(map=forked_map(config.workers) if config.workers > 1 else map)
            _write_kept(out / KEPT_FILE, spills, decisions, run, rejected_sink)
    finally:
        shutil.rmtree(spill_dir, ignore_errors=True)
    report.seconds = time.perf_counter() - start
    report.write(out)
    return report


def _write_kept(path: Path, spills: list[str], decisions: dict[str, Rejection], run: FilterRun, rejected_sink):
    """Stream the survivors' spill files into ``path``, less the rows the select phase dropped (those go
    to ``rejected_sink`` and are counted into the report)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from hfswim.io import AtomicParquetWriter

    with AtomicParquetWriter(path, FILTERED_SCHEMA) as kept_writer, _TableSink(kept_writer) as kept_sink:
        for spill in spills:
            with pa.memory_map(spill) as source:
                reader = pa.ipc.open_file(source)
                for i in range(reader.num_record_batches):
                    batch = reader.get_batch(i)
                    # A dict lookup per row: pc.is_in would hash every dropped id again for each batch
                    # (quadratic: 13 us per row at 1M rows with 300k dropped, against 0.4 us for the dict).
                    mask = [rid in decisions for rid in batch.column("record_id").to_pylist()]
                    if any(mask):
                        dropped = pa.array(mask, type=pa.bool_())
                        dropped_table = pa.Table.from_batches([batch.filter(dropped)])
                        why = [decisions[rid] for rid in dropped_table.column("record_id").to_pylist()]
                        # The report reads a few fields of each row, not the whole record.
                        samples = dropped_table.select(list(SAMPLE_KEYS)).to_pylist()
                        run.finish(list(zip(samples, why, strict=True)))  # additive: memory stays flat
                        rejected_sink.add(with_rejections(dropped_table, why))
                        batch = batch.filter(pc.invert(dropped))
                    kept_sink.add(pa.Table.from_batches([batch], schema=FILTERED_SCHEMA))
            os.unlink(spill)
