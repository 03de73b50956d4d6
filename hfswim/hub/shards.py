"""Write one config's rows as Parquet shards of bounded size, and swap them into place only when complete.

A :class:`ShardWriter` streams Arrow tables into ``data/.<config>-<random>/`` (a hidden staging folder: the
card's ``data_files`` patterns never match it and pushes skip it), rotating to a new shard every
``shard_rows`` rows or ``shard_bytes`` uncompressed bytes. :meth:`ShardWriter.commit` names the shards
``<split>-NNNNN-of-NNNNN.parquet`` and swaps the staging folder for ``data/<config>/`` with two renames.
A crash before that leaves the previous shards untouched and the staging folder behind (removed by the
next build), so ``load_dataset`` never reads a half-written or half-replaced config.

Memory is bounded: at most one row group (``row_group_rows`` rows or ``buffer_bytes``) is buffered.
Shards are written with zstd and Parquet content-defined chunking, so a rebuilt shard that changed a
little re-uploads little through the Hub's Xet storage.

Example::

    >>> import tempfile, pathlib, pyarrow as pa, pyarrow.parquet as pq
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> with ShardWriter(root, "sw", "train", pa.schema([("x", pa.int64())]), shard_rows=2) as writer:
    ...     writer.write(pa.table({"x": [1, 2, 3]}))
    >>> sorted(p.name for p in (root / "data" / "sw").iterdir())
    ['train-00000-of-00002.parquet', 'train-00001-of-00002.parquet']
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

# The defaults are BuildConfig's (hfswim.hub.config, which `hfswim build-dataset --help` reads without pyarrow).
from hfswim.hub.config import (
    DEFAULT_BUFFER_BYTES,
    DEFAULT_ROW_GROUP_ROWS,
    DEFAULT_SHARD_BYTES,
    DEFAULT_SHARD_ROWS,
)
from hfswim.hub.layout import DATA_DIR, shard_name

# Content-defined page boundaries (pyarrow >= 21) keep unchanged rows in byte-identical pages when a language is
# rebuilt, so the Hub's Xet storage re-sends only what changed. Older pyarrow (hfswim allows >= 15) writes the
# same rows with fixed page boundaries: the files read the same, a re-upload just deduplicates less.
_CDC = {"use_content_defined_chunking": True} if int(pa.__version__.split(".")[0]) >= 21 else {}


class ShardWriter:
    """Stream Arrow tables of one (config, split) into bounded Parquet shards, committed atomically."""

    def __init__(
        self,
        repo_dir: str | os.PathLike,
        config: str,
        split: str,
        schema: pa.Schema,
        *,
        shard_rows: int = DEFAULT_SHARD_ROWS,
        shard_bytes: int = DEFAULT_SHARD_BYTES,
        row_group_rows: int = DEFAULT_ROW_GROUP_ROWS,
        buffer_bytes: int = DEFAULT_BUFFER_BYTES,
    ):
        if shard_rows < 1 or shard_bytes < 1 or row_group_rows < 1:
            raise ValueError("shard_rows, shard_bytes and row_group_rows must be positive.")
        self.data_dir = Path(repo_dir) / DATA_DIR
        self.config = config
        self.split = split
        self.schema = schema
        self.shard_rows = shard_rows
        self.shard_bytes = shard_bytes
        self.row_group_rows = min(row_group_rows, shard_rows)
        self.buffer_bytes = buffer_bytes
        self.rows_written = 0
        self.shards: list[Path] = []
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self._pending_bytes = 0
        self._writer: pq.ParquetWriter | None = None
        self._shard_rows = 0
        self._shard_bytes = 0
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.staging = Path(tempfile.mkdtemp(prefix=f".{config}-", suffix=".staging", dir=self.data_dir))

    # -- writing -------------------------------------------------------------------------------
    def write(self, table: pa.Table) -> None:
        """Buffer rows; a full row group goes to disk."""
        if table.num_rows == 0:
            return
        self._pending.append(table)
        self._pending_rows += table.num_rows
        self._pending_bytes += table.nbytes
        if self._pending_rows >= self.row_group_rows or self._pending_bytes >= self.buffer_bytes:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        table = pa.concat_tables(self._pending).combine_chunks()
        self._pending, self._pending_rows, self._pending_bytes = [], 0, 0
        while table.num_rows:
            if self._writer is None:
                self._open_shard()
            room = self.shard_rows - self._shard_rows
            if table.nbytes:  # keep to the byte bound too, estimated per row
                bytes_per_row = table.nbytes / table.num_rows
                room = min(room, max(1, int((self.shard_bytes - self._shard_bytes) / bytes_per_row)))
            head, table = table.slice(0, room), table.slice(room)
            assert self._writer is not None
            self._writer.write_table(head, row_group_size=self.row_group_rows)
            self._shard_rows += head.num_rows
            self._shard_bytes += head.nbytes
            self.rows_written += head.num_rows
            if self._shard_rows >= self.shard_rows or self._shard_bytes >= self.shard_bytes:
                self._close_shard()

    def _open_shard(self) -> None:
        path = self.staging / f"part-{len(self.shards):05d}.parquet"
        self._writer = pq.ParquetWriter(path, self.schema, compression="zstd", **_CDC)
        self.shards.append(path)
        self._shard_rows = self._shard_bytes = 0

    def _close_shard(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    # -- finishing -----------------------------------------------------------------------------
    def commit(self) -> list[Path]:
        """Name the shards, replace ``data/<config>/`` with them, and return their final paths.

        A config that received no row is removed (its previous shards included).
        """
        self._flush()
        self._close_shard()
        total = len(self.shards)
        for index, part in enumerate(self.shards):
            part.rename(self.staging / shard_name(self.split, index, total))
        target = self.data_dir / self.config
        old = None
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{self.config}-", suffix=".old", dir=self.data_dir))
            os.rmdir(old)
            target.rename(old)
        if total:
            from hfswim.io import dir_mode

            self.staging.chmod(dir_mode())  # mkdtemp made it private; data/<config>/ is published as is
            self.staging.rename(target)
        else:
            shutil.rmtree(self.staging, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return [target / shard_name(self.split, i, total) for i in range(total)]

    def abort(self) -> None:
        """Drop everything written; the config's previous shards stay as they were."""
        self._pending = []
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        shutil.rmtree(self.staging, ignore_errors=True)

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


def remove_stale_staging(repo_dir: str | os.PathLike) -> list[Path]:
    """Remove staging/old folders left by a build that crashed; returns what was removed."""
    data_dir = Path(repo_dir) / DATA_DIR
    stale = [p for p in data_dir.glob(".*") if p.is_dir() and p.name.endswith((".staging", ".old"))]
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return stale
