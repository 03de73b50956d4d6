"""Turn hfswim records (generated or filtered Parquet) into Hub rows, one Arrow table per config.

Everything is vectorised with ``pyarrow.compute`` on record batches: no per-row Python, so a build
streams millions of records at disk speed with memory bounded by the batch size.

Which records are published: rows with a query whose parser said ``ok`` and, for filtered records,
whose ``reject_filter`` is null (the filters kept them). Which config a row goes to: its query language
and setting (``setting`` column; when null, "monolingual" if the query and passage languages agree).

Example::

    >>> from hfswim.records import GENERATED_SCHEMA, conform
    >>> batch = conform([{"record_id": "r1", "passage_id": "d1#0", "title": "Nile", "text": "The Nile...",
    ...     "passage_language": "en", "query_language": "sw", "setting": "cross-lingual", "query": "Mto mrefu?",
    ...     "parse_status": "ok"}], GENERATED_SCHEMA).to_batches()[0]
    >>> [(s.code, s.setting, s.table.column("lang")[0].as_py()) for s in split_by_config(batch, "records.parquet", 0)]
    [('sw', 'cross-lingual', 'Swahili')]
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from hfswim.errors import ConfigError, InputError
from hfswim.hub.layout import HUB_SCHEMA
from hfswim.io import PARQUET_SUFFIXES, open_parquet, resolve_files
from hfswim.languages import get_language
from hfswim.records import (
    CROSS_LINGUAL,
    HUB_LANGUAGE_CODE,
    HUB_LANGUAGE_NAME,
    MONOLINGUAL,
    PASSAGE_LANGUAGE,
    QUERY_LANGUAGE,
    file_column_names,
    upgrade_columns,
    upgrade_names,
)

# The record columns a build reads (never raw_output: it can be most of a file's bytes).
REQUIRED_COLUMNS = ("record_id", "passage_id", QUERY_LANGUAGE, "query")
OPTIONAL_COLUMNS = (
    "title",
    "text",
    PASSAGE_LANGUAGE,
    "setting",
    "summary",
    "parse_status",
    "template",
    "template_hash",
    "model",
    "endpoint_kind",
    "params",
    "query_logprob",
    "langid_score",
    "ce_score",
    "roundtrip_rank",
    "reject_filter",
)
# Provenance values collected per config for the card (few distinct values each).
PROVENANCE_COLUMNS = ("model", "template", "template_hash", "endpoint_kind", "params", PASSAGE_LANGUAGE)


@dataclass
class InputStats:
    """What a build read: rows seen, published, and dropped (by reason)."""

    rows_read: int = 0
    rows_kept: int = 0
    dropped: dict[str, int] = field(default_factory=dict)

    def drop(self, reason: str, n: int) -> None:
        if n:
            self.dropped[reason] = self.dropped.get(reason, 0) + n


def iter_record_batches(path: str | Path, batch_size: int = 8192) -> Iterator[tuple[Path, int, pa.RecordBatch]]:
    """Yield ``(file, first row index, batch)`` with only the columns a build needs.

    Raises:
        InputError: a file lacks a required column or has a column of an unexpected type.
    """
    for file in resolve_files(path, PARQUET_SUFFIXES):
        parquet = open_parquet(file)
        schema = parquet.schema_arrow
        # Files written before the column rename (query_lang, passage_lang) are read under the new names.
        names = upgrade_names(schema.names)
        missing = [c for c in REQUIRED_COLUMNS if c not in names]
        if missing:
            raise InputError(
                f"{file}: not an hfswim records file: missing column(s) {', '.join(missing)} "
                "(expected hfswim.records.GENERATED_SCHEMA or FILTERED_SCHEMA)."
            )
        columns = file_column_names(schema.names, (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS))
        for file_name, name in zip(columns, upgrade_names(columns), strict=True):
            expected = HUB_SCHEMA.field(name).type if name in HUB_SCHEMA.names else _record_type(name)
            actual = schema.field(file_name).type
            if expected is not None and not _compatible(actual, expected):
                raise InputError(f"{file}: column {name!r} has type {actual}, expected {expected}.")
        start = 0
        # One row group at a time: iter_batches over a whole file reads ahead without bound
        # (RSS grew ~100 MB per million rows in pyarrow 26); per row group it stays flat.
        for group in range(parquet.num_row_groups):
            for batch in parquet.iter_batches(batch_size=batch_size, row_groups=[group], columns=columns):
                yield file, start, upgrade_columns(batch)
                start += batch.num_rows


def _record_type(name: str) -> pa.DataType | None:
    from hfswim.records import FILTERED_SCHEMA

    return FILTERED_SCHEMA.field(name).type if name in FILTERED_SCHEMA.names else None


def _compatible(actual: pa.DataType, expected: pa.DataType) -> bool:
    if actual == expected or pa.types.is_null(actual):
        return True
    if pa.types.is_string(expected):
        return pa.types.is_string(actual) or pa.types.is_large_string(actual)
    if pa.types.is_floating(expected):
        return pa.types.is_floating(actual) or pa.types.is_integer(actual)
    if pa.types.is_integer(expected):
        return pa.types.is_integer(actual)
    return False


def _column(batch: pa.RecordBatch, name: str, type_: pa.DataType) -> pa.Array:
    if name in batch.schema.names:
        return batch.column(name).cast(type_)
    return pa.nulls(batch.num_rows, type_)


def publishable_mask(batch: pa.RecordBatch, stats: InputStats | None = None) -> pa.BooleanArray:
    """Rows to publish: a non-empty query, parse status ok (or absent), not rejected by a filter."""
    n = batch.num_rows
    query = _column(batch, "query", pa.string())
    has_query = pc.fill_null(pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(query)), 0), False)
    status = _column(batch, "parse_status", pa.string())
    parsed = pc.fill_null(pc.equal(status, "ok"), True) if "parse_status" in batch.schema.names else pa.repeat(True, n)
    parsed = pc.or_(pc.is_null(status), parsed)
    kept = pc.is_null(_column(batch, "reject_filter", pa.string()))
    if stats is not None:
        stats.rows_read += n
        stats.drop("rejected by a filter", n - pc.sum(kept).as_py() if n else 0)
        stats.drop("parse status not ok", pc.sum(pc.and_(kept, pc.invert(parsed))).as_py() or 0)
        stats.drop("empty query", pc.sum(pc.and_(pc.and_(kept, parsed), pc.invert(has_query))).as_py() or 0)
    return pc.and_(pc.and_(kept, parsed), has_query)


def row_settings(batch: pa.RecordBatch) -> pa.Array:
    """Each row's setting: the ``setting`` column, else inferred from the two languages."""
    setting = _column(batch, "setting", pa.string())
    same = pc.equal(_column(batch, PASSAGE_LANGUAGE, pa.string()), _column(batch, QUERY_LANGUAGE, pa.string()))
    inferred = pc.if_else(pc.fill_null(same, False), MONOLINGUAL, CROSS_LINGUAL)
    return pc.coalesce(setting, inferred)


@dataclass
class ConfigSlice:
    """Publishable rows of one batch for one (query language, setting), plus their distinct provenance."""

    code: str
    setting: str
    table: pa.Table
    provenance: dict[str, set[str]]


def split_by_config(
    batch: pa.RecordBatch, file: str | Path, first_row: int, stats: InputStats | None = None
) -> list[ConfigSlice]:
    """Publishable rows of ``batch`` as Hub tables, one :class:`ConfigSlice` per (query language, setting).

    Raises:
        InputError: a publishable row has no query language, an unknown one, or an unknown setting
            (naming the file and row).
    """
    mask = publishable_mask(batch, stats)
    if not pc.any(mask).as_py():
        return []
    batch = batch.filter(mask)
    row_index = pc.add(pc.indices_nonzero(mask), first_row)
    query_language = _column(batch, QUERY_LANGUAGE, pa.string())
    empty = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(query_language), ""), True)
    if pc.any(empty).as_py():
        row = row_index[pc.index(empty, True).as_py()].as_py()
        raise InputError(f"{file}: row {row}: empty query language (column {QUERY_LANGUAGE!r}) in a kept record.")
    settings = row_settings(batch)
    keys = pa.table({"code": query_language, "setting": settings}).group_by(["code", "setting"]).aggregate([])
    out = []
    for code, setting in zip(keys.column("code").to_pylist(), keys.column("setting").to_pylist(), strict=True):
        try:
            language = get_language(code)
        except ConfigError as err:
            raise InputError(f"{file}: query_language {code!r}: {err}") from None
        if setting not in (CROSS_LINGUAL, MONOLINGUAL):
            raise InputError(f"{file}: setting {setting!r}: expected {CROSS_LINGUAL!r} or {MONOLINGUAL!r}.")
        selected = batch.filter(pc.and_(pc.equal(query_language, code), pc.equal(settings, setting)))
        table = to_hub_table(selected, language.code, language.english_name, setting)
        provenance = {
            name: {v for v in pc.unique(_column(selected, name, pa.string())).to_pylist() if v}
            for name in PROVENANCE_COLUMNS
            if name != PASSAGE_LANGUAGE
        }
        provenance[PASSAGE_LANGUAGE] = set(pc.unique(table.column(PASSAGE_LANGUAGE)).to_pylist())
        out.append(ConfigSlice(language.code, setting, table, provenance))
    if stats is not None:
        stats.rows_kept += sum(s.table.num_rows for s in out)
    return out


def to_hub_table(batch: pa.RecordBatch, code: str, english_name: str, setting: str) -> pa.Table:
    """Rows of one config in :data:`~hfswim.hub.layout.HUB_SCHEMA` (SWIM-IR columns + hfswim's own)."""
    n = batch.num_rows
    # Records without a passage language: cross-lingual passages are English by SWIM-IR's definition.
    passage_language = _column(batch, PASSAGE_LANGUAGE, pa.string())
    passage_language = pc.fill_null(passage_language, "en" if setting == CROSS_LINGUAL else code)
    columns = {
        "_id": _column(batch, "record_id", pa.string()),
        HUB_LANGUAGE_NAME: pa.repeat(english_name, n),  # SWIM-IR's published names
        HUB_LANGUAGE_CODE: pa.repeat(code, n),
        "query": pc.utf8_trim_whitespace(_column(batch, "query", pa.string())),
        "title": _column(batch, "title", pa.string()),
        "text": _column(batch, "text", pa.string()),
        "summary": _column(batch, "summary", pa.string()),
        "passage_id": _column(batch, "passage_id", pa.string()),
        QUERY_LANGUAGE: pa.repeat(code, n),
        PASSAGE_LANGUAGE: passage_language,
        "template": _column(batch, "template", pa.string()),
        "model": _column(batch, "model", pa.string()),
        "query_logprob": _column(batch, "query_logprob", pa.float64()),
        "langid_score": _column(batch, "langid_score", pa.float64()),
        "ce_score": _column(batch, "ce_score", pa.float64()),
        "roundtrip_rank": _column(batch, "roundtrip_rank", pa.int64()),
    }
    return pa.table(columns, schema=HUB_SCHEMA)
