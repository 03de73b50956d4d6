"""Streaming record I/O shared by every stage: read Parquet/JSONL in batches, write atomically.

Readers never materialise a whole file; writers write to a temporary file and rename
it into place, so a crash never leaves a half-written file that a later stage would read.

Example::

    >>> import tempfile, pathlib
    >>> from hfswim.io import AtomicParquetWriter, iter_rows
    >>> from hfswim.records import PASSAGE_SCHEMA
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "passages.parquet"
    >>> with AtomicParquetWriter(out, PASSAGE_SCHEMA) as writer:
    ...     writer.write_rows([{"passage_id": "d1#0", "lang": "en", "text": "Hello."}])
    >>> [row["passage_id"] for row in iter_rows(out)]
    ['d1#0']
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from hfswim.errors import InputError
from hfswim.records import conform

PARQUET_SUFFIXES = (".parquet",)
JSONL_SUFFIXES = (".jsonl", ".json")


def resolve_files(path: str | os.PathLike, suffixes: tuple[str, ...] = PARQUET_SUFFIXES + JSONL_SUFFIXES) -> list[Path]:
    """A file, or the matching files under a folder (sorted, recursive).

    Raises:
        InputError: if the path does not exist or holds no matching file.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file or folder.")
    if p.is_file():
        return [p]
    files = sorted(f for f in p.rglob("*") if f.is_file() and f.name.endswith(suffixes) and not f.name.startswith("."))
    if not files:
        raise InputError(f"{p}: the folder holds no {'/'.join(suffixes)} file.")
    return files


def iter_batches(
    path: str | os.PathLike, batch_size: int = 4096, columns: list[str] | None = None
) -> Iterator[pa.RecordBatch]:
    """Stream record batches from Parquet files (a file or a folder of them), in file order."""
    for file in resolve_files(path, PARQUET_SUFFIXES):
        # pre_buffer=False and a small buffer: pyarrow's default read-ahead holds most of a large file in memory.
        reader = pq.ParquetFile(file, pre_buffer=False, buffer_size=1 << 20)
        yield from reader.iter_batches(batch_size=batch_size, columns=columns, use_threads=False)


def iter_jsonl_file(file: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, dict) for each JSON line of one file (gzip if it ends in .gz); blank lines skipped."""
    opener = gzip.open if file.name.endswith(".gz") else open
    with opener(file, "rt", encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise InputError(f"{file}:{lineno}: malformed JSON line ({err.msg}).") from None
            if not isinstance(row, dict):
                raise InputError(f"{file}:{lineno}: expected a JSON object, got {type(row).__name__}.")
            yield lineno, row


def iter_jsonl(path: str | os.PathLike) -> Iterator[dict[str, Any]]:
    """Stream dicts from JSON-lines files; a malformed line is an error naming file and line."""
    for file in resolve_files(path, JSONL_SUFFIXES):
        for _, row in iter_jsonl_file(file):
            yield row


def iter_rows(path: str | os.PathLike, batch_size: int = 4096) -> Iterator[dict[str, Any]]:
    """Stream rows as dicts from Parquet or JSONL (chosen by file suffix)."""
    for file in resolve_files(path):
        if file.name.endswith(PARQUET_SUFFIXES):
            for batch in iter_batches(file, batch_size=batch_size):
                yield from batch.to_pylist()
        else:
            yield from iter_jsonl(file)


class AtomicParquetWriter:
    """Write a Parquet file through a temporary file that is renamed into place on success.

    On an exception inside the ``with`` block the temporary file is removed and the
    target is left untouched.
    """

    def __init__(self, path: str | os.PathLike, schema: pa.Schema, row_group_size: int = 8192):
        self.path = Path(path)
        self.schema = schema
        self.row_group_size = row_group_size
        self.rows_written = 0
        self._buffer: list[dict[str, Any]] = []
        self._tmp: str | None = None
        self._writer: pq.ParquetWriter | None = None

    def __enter__(self) -> AtomicParquetWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, self._tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        os.close(fd)
        self._writer = pq.ParquetWriter(self._tmp, self.schema)
        return self

    def write_rows(self, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            self._buffer.append(row)
            if len(self._buffer) >= self.row_group_size:
                self._flush()

    def write_table(self, table: pa.Table) -> None:
        self._flush()
        assert self._writer is not None
        self._writer.write_table(table.select(self.schema.names).cast(self.schema))
        self.rows_written += table.num_rows

    def _flush(self) -> None:
        if self._buffer:
            assert self._writer is not None
            self._writer.write_table(conform(self._buffer, self.schema))
            self.rows_written += len(self._buffer)
            self._buffer = []

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self._writer is not None and self._tmp is not None
        try:
            if exc_type is None:
                self._flush()
            self._writer.close()
            if exc_type is None:
                os.replace(self._tmp, self.path)
        finally:
            if os.path.exists(self._tmp):
                os.unlink(self._tmp)


def write_json_atomic(path: str | os.PathLike, obj: Any) -> None:
    """Write JSON (indented, UTF-8) through a temporary file and rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(obj, fh, indent=2, ensure_ascii=False, sort_keys=False)
            fh.write("\n")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
