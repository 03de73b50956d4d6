"""One Arrow batch through the row phase: rows as dicts for the filters, records kept as Arrow.

Filters see rows as Python dicts, but records travel as Arrow: the output tables take the generated
columns straight from the input batch and only the filter columns (scores, reject reason) from the
dicts, so no record is converted back from Python, and only the columns some filter reads
(:attr:`~hfswim.filters.base.RowFilter.columns`) are converted to dicts at all.
"""

from __future__ import annotations

import contextlib
import gc
from collections import Counter
from dataclasses import dataclass
from typing import Any

from hfswim.filters.base import Rejection, Row
from hfswim.filters.judging import SCORE_COLUMNS, BatchOutcome, FilterCount, judge_batch, with_reason
from hfswim.records import FILTERED_SCHEMA, QUERY_LANGUAGE

# What the report reads from a rejected row: with the select filters' summaries, all a worker sends back
# besides the Arrow tables.
SAMPLE_KEYS = ("record_id", QUERY_LANGUAGE, "query", "passage_id")
_FILTER_COLUMNS = frozenset(SCORE_COLUMNS)
_SCORE_FIELDS = tuple(f.name for f in FILTERED_SCHEMA if f.name in _FILTER_COLUMNS)
_POSITION = "_position"  # a row's index in its Arrow batch, while the row phase runs
SPILL_OPTIONS = {"compression": "lz4"}  # fast enough that the spill costs less than Parquet's encoder


def columns_read(filters: list, names: list[str]) -> list[str] | None:
    """The input columns the filters read (plus what the report and the outputs need), or None for all."""
    wanted = set(SAMPLE_KEYS) | _FILTER_COLUMNS
    for f in filters:
        columns = getattr(f, "columns", None)
        if columns is None:
            return None
        wanted |= columns
    return [name for name in names if name in wanted]


def filtered_table(batch, indices: list[int], rows: list[Row]):
    """``FILTERED_SCHEMA`` table of ``batch``'s rows at ``indices``, whose row dicts are ``rows``.

    Generated columns are taken from the Arrow batch (filters only add score columns, never change the
    record), filter columns (scores, reject reason) from the dicts; columns the input lacks are null.
    """
    import pyarrow as pa

    taken = batch.take(pa.array(indices, type=pa.int64()))
    names = set(batch.schema.names)
    # Every filter column's values in one pass over the rows (map and zip run in C), not one pass per column.
    per_row = [tuple(map(row.get, _SCORE_FIELDS)) for row in rows]
    values = dict(zip(_SCORE_FIELDS, zip(*per_row, strict=True), strict=True)) if per_row else {}
    columns = []
    for field in FILTERED_SCHEMA:
        if field.name in _FILTER_COLUMNS:
            columns.append(pa.array(values.get(field.name, ()), type=field.type))
        elif field.name in names:
            column = taken.column(field.name)
            columns.append(column if column.type == field.type else column.cast(field.type))
        else:
            columns.append(pa.nulls(len(indices), field.type))
    return pa.Table.from_arrays(columns, schema=FILTERED_SCHEMA)


@dataclass(slots=True)
class CompactOutcome:
    """A worker's :class:`~hfswim.filters.judging.BatchOutcome`, as it travels back to the parent: without
    the survivors (they are in the spill file; the select filters have their summaries) and with the
    rejects as columns of the fields the report reads (a list per field pickles several times faster
    than one dict per row). :meth:`expand` restores the outcome (rejects as small row dicts)."""

    rejected_columns: list[list[Any]]  # per SAMPLE_KEYS field, the rejected rows' values
    rejections: list[Rejection]
    n_in: Counter
    names: list[str]  # per filter (execution order): its name,
    reached: list[Counter]  # the rows that reached it, per language,
    rejected_counts: list[int]  # and how many it rejected
    summaries: list[Any]

    @classmethod
    def of(cls, outcome: BatchOutcome) -> CompactOutcome:
        return cls(
            rejected_columns=[[row.get(k) for row, _ in outcome.rejected] for k in SAMPLE_KEYS],
            rejections=[rejection for _, rejection in outcome.rejected],
            n_in=outcome.n_in,
            names=[c.name for c in outcome.counts],
            reached=[c.reached for c in outcome.counts],
            rejected_counts=[len(c.rejected) for c in outcome.counts],
            summaries=outcome.summaries,
        )

    def expand(self) -> BatchOutcome:
        rows = [dict(zip(SAMPLE_KEYS, values, strict=True)) for values in zip(*self.rejected_columns, strict=True)]
        rejected = list(zip(rows, self.rejections, strict=True))
        counts, at = [], 0
        for name, reached, n in zip(self.names, self.reached, self.rejected_counts, strict=True):
            counts.append(FilterCount(name, reached, rejected[at : at + n]))  # judge_batch lists rejects in order
            at += n
        return BatchOutcome([], rejected, self.n_in, counts, self.summaries)


@dataclass(slots=True)
class JudgedBatch:
    """One Arrow batch after the row phase."""

    kept: Any  # the survivors: a FILTERED_SCHEMA table, or the path of the spill file holding it
    rejected: Any  # the rejects: a FILTERED_SCHEMA table with reject_filter and reject_reason
    outcome: BatchOutcome | CompactOutcome  # compact when judged in a worker


@contextlib.contextmanager
def gc_paused():
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
    sends back (:class:`CompactOutcome`). With ``spill`` (a path),
    the survivors are written there as an Arrow IPC file and the path is returned in place of their
    table: a worker's survivors then never travel through a pipe.
    """
    with gc_paused():
        columns = columns_read(filters, batch.schema.names)
        rows = (batch if columns is None else batch.select(columns)).to_pylist()
        absent = dict.fromkeys(c for c in SCORE_COLUMNS if c not in batch.schema.names)
        for i, row in enumerate(rows):
            row[_POSITION] = i  # a key, not id(row): a filter may hand back copies of the dicts
            row.update(absent)
        outcome = judge_batch(filters, rows, has_score_columns=True)
        survivors, rejected = outcome.survivors, outcome.rejected
        rejected_rows = with_reason(rejected)
        kept_table = filtered_table(batch, [row.pop(_POSITION) for row in survivors], survivors)
        rejected_table = filtered_table(batch, [row.pop(_POSITION) for row in rejected_rows], rejected_rows)
        if spill is not None:
            import pyarrow as pa

            with pa.ipc.new_file(spill, FILTERED_SCHEMA, options=pa.ipc.IpcWriteOptions(**SPILL_OPTIONS)) as writer:
                writer.write_table(kept_table)
            kept_table = spill
    return JudgedBatch(kept_table, rejected_table, CompactOutcome.of(outcome) if compact else outcome)


def with_rejections(table, rejections: list[Rejection]):
    """``table`` (``FILTERED_SCHEMA``) with ``reject_filter`` and ``reject_reason`` set from ``rejections``."""
    import pyarrow as pa

    for name, values in (
        ("reject_filter", [r.filter for r in rejections]),
        ("reject_reason", [r.reason for r in rejections]),
    ):
        at = table.schema.get_field_index(name)
        table = table.set_column(at, table.schema.field(at), pa.array(values, type=table.schema.field(at).type))
    return table
