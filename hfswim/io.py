"""Streaming record I/O shared by every stage: read Parquet/JSONL in batches, write atomically.

Readers never materialise a whole file; writers write to a temporary file and rename
it into place, so a crash never leaves a half-written file that a later stage would read.

Example::

    >>> import tempfile, pathlib
    >>> from hfswim.io import AtomicParquetWriter, iter_rows
    >>> from hfswim.records import PASSAGE_SCHEMA
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "passages.parquet"
    >>> with AtomicParquetWriter(out, PASSAGE_SCHEMA) as writer:
    ...     writer.write_rows([{"passage_id": "d1#0", "passage_language": "en", "text": "Hello."}])
    >>> [row["passage_id"] for row in iter_rows(out)]
    ['d1#0']
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
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


def open_parquet(file: str | os.PathLike, **kwargs: Any) -> pq.ParquetFile:
    """``pyarrow.parquet.ParquetFile``, or an InputError naming the file when it is not Parquet (or empty).

    pyarrow's defaults pre-buffer and read ahead (most of a large file in memory); readers that stream
    pass ``pre_buffer=False, buffer_size=1 << 20``.
    """
    try:
        return pq.ParquetFile(file, **kwargs)
    except (pa.ArrowInvalid, OSError) as err:
        raise InputError(f"{file}: not a readable Parquet file ({err}).") from None


def iter_batches(
    path: str | os.PathLike, batch_size: int = 4096, columns: list[str] | None = None
) -> Iterator[pa.RecordBatch]:
    """Stream record batches from Parquet files (a file or a folder of them), in file order."""
    for file in resolve_files(path, PARQUET_SUFFIXES):
        reader = open_parquet(file, pre_buffer=False, buffer_size=1 << 20)
        yield from reader.iter_batches(batch_size=batch_size, columns=columns, use_threads=False)


_ASCII_WHITESPACE = " \t\n\r\x0b\x0c"  # what bytes.strip() strips: a line of other blanks is not empty
_REENCODE = "re-encode the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)"


def decode_utf8(data: bytes, where: str) -> str:
    """One line of a file as UTF-8 text, or an InputError naming ``where`` (``file:line``) and the bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError(
            f"{where}: not UTF-8 text (byte 0x{data[err.start]:02x} at column {err.start + 1}); {_REENCODE}."
        ) from None


def read_text(path: str | os.PathLike, what: str = "file") -> str:
    """A whole UTF-8 text file (a config, a template); errors name the file, and the line of a bad byte."""
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{p}: is a folder; expected a {what}.")
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{p}: no such {what}.") from None
    except OSError as err:
        raise InputError(f"{p}: cannot read the {what} ({err.strerror}).") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        newline = b"\n"
        lineno = data.count(newline, 0, err.start) + 1
        column = err.start - data.rfind(newline, 0, err.start)
        raise InputError(
            f"{p}:{lineno}: not UTF-8 text (byte 0x{data[err.start]:02x} at column {column}); {_REENCODE}."
        ) from None


def iter_utf8_lines(file: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of each line of one file (gzip if it ends in .gz), line ends kept; each line is
    decoded on its own, so a byte that is not UTF-8 is an InputError naming the file and line (a text-mode
    read only says "position 18")."""
    opener = gzip.open if file.name.endswith(".gz") else open
    with opener(file, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            yield lineno, decode_utf8(raw, f"{file}:{lineno}")


def iter_jsonl_file(file: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, dict) for each JSON line of one file (gzip if it ends in .gz); blank lines skipped."""
    for lineno, line in iter_utf8_lines(file):
        if not line.strip(_ASCII_WHITESPACE):
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
        elif file.name.endswith(JSONL_SUFFIXES + tuple(s + ".gz" for s in JSONL_SUFFIXES)):
            yield from iter_jsonl(file)
        else:  # a CSV or text corpus given where rows are read: say so, not "malformed JSON line"
            raise InputError(
                f"{file}: expected Parquet ({', '.join(PARQUET_SUFFIXES)}) or JSON lines "
                f"({', '.join(JSONL_SUFFIXES)}); turn a CSV, TSV or text corpus into passages with `hfswim sample` first."
            )


def make_dir(path: str | os.PathLike, what: str = "output folder") -> Path:
    """Create a folder (and its parents); an InputError naming the path when that cannot be done.

    >>> import tempfile, pathlib
    >>> make_dir(pathlib.Path(tempfile.mkdtemp()) / "a" / "b").is_dir()
    True
    """
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise InputError(f"{p}: exists and is not a folder; give a folder as the {what}.")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise InputError(f"{p}: cannot create the {what}: a part of the path is a file.") from None
    except OSError as err:
        raise InputError(f"{p}: cannot create the {what} ({err.strerror}).") from None
    return p


def check_output_file(path: Path) -> None:
    """Make sure ``path`` can be written as a file: its folder exists (created) and it is not a folder."""
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give a file name to write (e.g. {path / 'out.parquet'}).")
    make_dir(path.parent, "folder of the output file")


class FolderLock:
    """An exclusive, process-wide lock on a folder, held by an open file descriptor (``flock``).

    Two processes writing one folder (two ``hfswim generate`` jobs on one shard, two ``build-dataset`` runs
    into one repo folder) would tear each other's files. The kernel drops the lock when its holder dies,
    SIGKILL included, so a crashed run never locks the next one out. The lock file holds the holder's pid,
    host and command line, so the error names who holds it. No-op where ``fcntl`` does not exist.

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with FolderLock(folder, ".lock", "hfswim build-dataset"):
    ...     pass
    """

    def __init__(self, folder: str | os.PathLike, name: str, what: str, hint: str = "wait for it to finish"):
        self.path = Path(folder) / name
        self.what = what
        self.hint = hint
        self._fd: int | None = None

    def acquire(self) -> FolderLock:
        try:
            import fcntl
        except ImportError:  # not POSIX: no advisory locks
            return self
        make_dir(self.path.parent)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 4096).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise InputError(
                f"{self.path.parent}: another {self.what} is writing here (lock {self.path.name} held by {holder}); "
                f"{self.hint}."
            ) from None
        os.ftruncate(fd, 0)
        from hfswim.redact import redact  # the command line may hold an endpoint's user:password@ or a token

        command = redact(" ".join(["hfswim", *sys.argv[1:]])) if sys.argv else "python"
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}: {command[:300]}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock; the file stays (removing it would race a waiter)
            self._fd = None

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


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
        check_output_file(self.path)
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
                publish_tempfile(self._tmp, self.path)
        finally:
            if os.path.exists(self._tmp):
                os.unlink(self._tmp)


def build_folder_atomically(
    target: Path, build: Callable[[Path], object], done_marker: str, mode: int | None = None
) -> Path:
    """Build a cache folder in a temporary sibling and rename it to ``target``, so a killed build never leaves a
    half-written folder. A process that loses the race to another one keeps the winner's folder (``done_marker``,
    a file in it, tells a finished folder). ``mode``: the folder's permissions (``mkdtemp`` makes it private)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        build(tmp)
        if mode is not None:
            tmp.chmod(mode)
        try:
            os.rename(tmp, target)
        except OSError:  # another process finished first: keep its folder
            if not (target / done_marker).is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def file_mode() -> int:
    """The permissions a plain ``open(path, "w")`` would give a new file: 0o666 less the umask (0o644 usually).

    ``tempfile.mkstemp`` makes files private (0o600); a file renamed into place from it would stay so, and
    the other users of a shared run folder (or a web server serving a report) could not read it.
    """
    return 0o666 & ~_umask()


def dir_mode() -> int:
    """The permissions ``mkdir`` would give a new folder (0o755 usually); ``mkdtemp`` makes it 0o700."""
    return 0o777 & ~_umask()


def _umask() -> int:
    global _UMASK
    if _UMASK is None:
        _UMASK = 0o022
        try:  # Linux reports the umask without changing it (os.umask would, for every thread at once)
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("Umask:"):
                    _UMASK = int(line.split()[1], 8)
        except (OSError, ValueError):
            pass
    return _UMASK


_UMASK: int | None = None


def publish_tempfile(tmp: str | os.PathLike, path: str | os.PathLike) -> None:
    """Give a finished temporary file the usual permissions and rename it into place."""
    os.chmod(tmp, file_mode())
    os.replace(tmp, path)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write UTF-8 text through a temporary file and rename (usual permissions)."""
    path = Path(path)
    check_output_file(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        publish_tempfile(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json_atomic(path: str | os.PathLike, obj: Any) -> None:
    """Write JSON (indented, UTF-8) through a temporary file and rename."""
    write_text_atomic(path, json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False) + "\n")
