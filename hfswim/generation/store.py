"""Durable, resumable output: one JSON line per finished record, appended the moment it is finished.

Layout under the store folder::

    records-<job>-<NNN>.jsonl     generated records, sharded by record key
    summaries-<job>-<NNN>.jsonl   two-step SAP summaries (one per passage), reused by a resumed run

``<job>`` is ``s<i>of<N>`` for sharded client jobs (so jobs on several machines never write the same
file, and their folders can be merged by copying) and ``all`` otherwise.

Why it survives SIGKILL: each line is written with one ``os.write`` on an ``O_APPEND`` descriptor, so it
is in the OS page cache when the call returns; ``fsync`` (which protects against power loss, not process
death) is batched. On open the store reads every shard, cuts a torn last line (a write interrupted by a
power loss or a full disk), and remembers the finished keys: a resumed run never requests a finished
record again and :meth:`RecordStore.add` never writes a key twice.

Records are :class:`~hfswim.records.GeneratedRecord` objects both ways (summaries are small dicts).

Example::

    >>> import tempfile
    >>> from hfswim.records import GeneratedRecord
    >>> store = RecordStore(tempfile.mkdtemp())
    >>> record = GeneratedRecord(record_id="00ab" * 8, passage_id="doc#0", query="wapi?")
    >>> store.add(record), store.add(record)
    (True, False)
    >>> store.close()
    >>> with RecordStore(store.root) as reopened:
    ...     reopened.is_done("00ab" * 8), [r.query for r in reopened.iter_records()]
    (True, ['wapi?'])
"""

from __future__ import annotations

import json
import logging
import operator
import os
import re
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from hfswim.errors import InputError
from hfswim.io import AtomicParquetWriter, FolderLock
from hfswim.records import GENERATED_SCHEMA, GeneratedRecord

logger = logging.getLogger(__name__)

RECORDS = "records"
SUMMARIES = "summaries"


def shard_of(key: str, num_files: int) -> int:
    """The shard file a hex key goes to."""
    return int(key[:4], 16) % num_files


_KEPT_FIELDS = ("summary_id", "summary", "parse_status")


def _trim(row: dict[str, Any]) -> dict[str, Any]:
    kept = {k: row.get(k) for k in _KEPT_FIELDS}
    if row.get("parse_status") != "ok":  # a rejected summary's raw output goes into its records
        kept["raw_output"] = row.get("raw_output")
    return kept


def _dump_line(row: dict[str, Any] | GeneratedRecord) -> bytes:
    """One compact UTF-8 JSON line (orjson: ~50x faster than json.dumps for a record, same JSON; it writes a
    dataclass's fields in order, as the dict of :meth:`GeneratedRecord.to_dict`)."""
    try:
        return _orjson_dumps(row, option=_ORJSON_APPEND_NEWLINE)
    except TypeError:  # a value orjson does not take (an int beyond 64 bits...): the standard library does
        if isinstance(row, GeneratedRecord):
            row = row.to_dict()
        return (json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def _load_line(line: bytes) -> Any:
    """One stored JSON line (orjson: ~3x faster than json.loads for a record). What orjson refuses or reads
    differently goes to the standard library, so both read the same rows: NaN or a lone surrogate escape (refused),
    an int beyond 64 bits (orjson makes it a float; any run of 19 digits is sent to json). A line neither reads
    raises json's error, as before."""
    if _LONG_DIGITS.search(line) is None:
        try:
            return _orjson_loads(line)
        except ValueError:
            pass
    return json.loads(line.decode("utf-8"))


_LONG_DIGITS = re.compile(rb"\d{19}")


try:
    from orjson import OPT_APPEND_NEWLINE as _ORJSON_APPEND_NEWLINE
    from orjson import dumps as _orjson_dumps
    from orjson import loads as _orjson_loads
except ImportError:  # pragma: no cover - orjson ships with gradio/huggingface stacks; the fallback is json

    def _orjson_dumps(row: Any, option: int = 0) -> bytes:
        raise TypeError

    _orjson_loads = json.loads
    _ORJSON_APPEND_NEWLINE = 0


class StoreTally:
    """What a store holds, counted as records are loaded and added: the manifest's whole-store totals.

    Per language accepted/rejected, reject reasons, and the tokens the stored work cost (by step).
    """

    def __init__(self) -> None:
        self.per_language: dict[str, Counter] = defaultdict(Counter)
        self.reject_reasons: Counter = Counter()
        self.prompt_tokens: Counter = Counter()
        self.completion_tokens: Counter = Counter()
        self.requests: Counter = Counter()

    def add_record(self, record: GeneratedRecord) -> None:
        status = record.parse_status or "unknown"
        lang = record.query_language or "?"
        if status == "ok":
            self.per_language[lang]["accepted"] += 1
        else:
            self.per_language[lang]["rejected"] += 1
            self.reject_reasons[status] += 1
        if not status.startswith(("summary_", "no_summary")):  # a query request was made for it
            self._tokens("query", record.prompt_tokens, record.completion_tokens)

    def add_summary(self, row: dict[str, Any]) -> None:
        if row.get("prompt_tokens") or row.get("completion_tokens"):  # an extractive summary made no request
            self._tokens("summary", row.get("prompt_tokens"), row.get("completion_tokens"))

    def _tokens(self, step: str, prompt: int | None, completion: int | None) -> None:
        self.requests[step] += 1
        self.prompt_tokens[step] += int(prompt or 0)
        self.completion_tokens[step] += int(completion or 0)

    def merge(self, other: StoreTally) -> None:
        for lang, counts in other.per_language.items():
            self.per_language[lang].update(counts)
        for mine, theirs in (
            (self.reject_reasons, other.reject_reasons),
            (self.prompt_tokens, other.prompt_tokens),
            (self.completion_tokens, other.completion_tokens),
            (self.requests, other.requests),
        ):
            mine.update(theirs)

    @property
    def accepted(self) -> int:
        return sum(c["accepted"] for c in self.per_language.values())

    @property
    def rejected(self) -> int:
        return sum(c["rejected"] for c in self.per_language.values())

    def tokens(self) -> dict[str, Any]:
        prompt, completion = sum(self.prompt_tokens.values()), sum(self.completion_tokens.values())
        return {
            "prompt": prompt,
            "completion": completion,
            "total": prompt + completion,
            "by_step": {
                step: {
                    "requests": self.requests[step],
                    "prompt": self.prompt_tokens[step],
                    "completion": self.completion_tokens[step],
                }
                for step in ("summary", "query")
            },
            "per_accepted_query": round((prompt + completion) / self.accepted, 3) if self.accepted else None,
        }


def job_of(path: Path, prefix: str) -> str:
    """The job name in ``<prefix>-<job>-<NNN>.jsonl``."""
    return path.name[len(prefix) + 1 : -len(".jsonl")].rsplit("-", 1)[0]


class _ShardedLog:
    """Append-only JSONL files sharded by key, with a torn-tail repair and a set of finished keys.

    ``decode`` turns a loaded JSON object into what :meth:`add` takes (a record), ``key_of`` reads its key.
    """

    def __init__(
        self,
        root: Path,
        prefix: str,
        key_field: str,
        job: str,
        num_files: int,
        keep_values: bool,
        tally: Any = None,
        decode: Callable[[dict[str, Any]], Any] | None = None,
    ):
        self.tally = tally  # (row, job) -> None, called once per distinct key, loaded or added
        self.root = root
        self.prefix = prefix
        self.key_field = key_field
        self.decode = decode
        self.key_of = operator.itemgetter(key_field) if decode is None else operator.attrgetter(key_field)
        self.job = job
        self.num_files = num_files
        self.keys: set[bytes] = set()  # 16-byte digests: ~70 bytes per key in a set, 28M keys ~ 2 GB
        # Summaries stay in memory for reuse, trimmed to what a query step needs (a few hundred bytes each).
        self.values: dict[str, dict[str, Any]] | None = {} if keep_values else None
        self.repaired: list[str] = []
        self._fds: dict[int, int] = {}
        self._dirty: set[int] = set()
        self._lock = threading.Lock()  # fsync may run in a worker thread while the loop appends
        for path in sorted(root.glob(f"{prefix}-*.jsonl")):
            self._load(path)

    def _load(self, path: Path) -> None:
        with open(path, "rb+") as fh:
            data = fh.read()
            end = data.rfind(b"\n") + 1
            if end < len(data):  # torn last line: cut it, the record will be requested again
                fh.truncate(end)
                self.repaired.append(f"{path.name}: cut {len(data) - end} bytes of a torn last line")
                logger.warning("%s", self.repaired[-1])
        for lineno, line in enumerate(data[:end].splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                key = row[self.key_field]
                digest = bytes.fromhex(key)
            except (json.JSONDecodeError, KeyError, TypeError, ValueError):  # ValueError: a key that is not hex
                raise InputError(
                    f"{path}:{lineno}: corrupt store line (not a JSON object with a hex {self.key_field!r}). "
                    "Remove that line to resume."
                ) from None
            if digest in self.keys:  # the same key in two jobs' files (merged folders): first one wins
                continue
            self.keys.add(digest)
            if self.values is not None:
                self.values[key] = _trim(row)
            if self.tally is not None:
                self.tally(row if self.decode is None else self.decode(row), job_of(path, self.prefix))

    def has(self, key: str) -> bool:
        return bytes.fromhex(key) in self.keys

    def get(self, key: str) -> dict[str, Any] | None:
        return self.values.get(key) if self.values is not None else None

    def add(self, row: Any) -> bool:
        key = self.key_of(row)
        digest = bytes.fromhex(key)
        if digest in self.keys:
            return False
        shard = shard_of(key, self.num_files)
        fd = self._fds.get(shard)
        if fd is None:
            path = self.root / f"{self.prefix}-{self.job}-{shard:03d}.jsonl"
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            self._fds[shard] = fd
        data = _dump_line(row)
        written = os.write(fd, data)
        while written < len(data):  # short writes happen only on full disks or signals; finish the line
            written += os.write(fd, data[written:])
        self.keys.add(digest)
        if self.values is not None:
            self.values[key] = _trim(row)
        if self.tally is not None:
            self.tally(row, self.job)
        self._dirty.add(shard)
        return True

    def fsync(self) -> None:
        with self._lock:
            dirty, self._dirty = self._dirty, set()
            for shard in dirty:
                fd = self._fds.get(shard)
                if fd is not None:
                    os.fsync(fd)

    def close(self) -> None:
        self.fsync()
        with self._lock:
            for fd in self._fds.values():
                os.close(fd)
            self._fds.clear()

    def files(self, job: str | None = None) -> list[Path]:
        return sorted(self.root.glob(f"{self.prefix}-{job or '*'}-*.jsonl"))


def _lock_job(root: Path, job: str) -> FolderLock:
    """Hold an exclusive lock on the job's files for the store's lifetime.

    Two processes appending to (and repairing) the same shards could duplicate or tear records; the kernel
    drops the lock when its process dies, SIGKILL included, so a resumed run is never locked out.
    """
    return FolderLock(
        root, f".lock-{job}", f"hfswim generate (job {job!r})", "wait for it to finish or give another --output"
    ).acquire()


class RecordStore:
    """Durable per-record output with resume (see the module docstring).

    Inputs:
        :meth:`add` takes a :class:`~hfswim.records.GeneratedRecord` (one JSON line, appended at once);
        :meth:`add_summary` a two-step summary dict. :meth:`iter_records` and :meth:`export_parquet` read
        the records back (``GENERATED_SCHEMA``).

    Relations:
        :class:`~hfswim.generation.GenerationEngine` writes it and skips its finished keys;
        :func:`~hfswim.generation.generate` exports it to ``generated.parquet`` and
        :func:`~hfswim.generation.rundir.merge_shards` merges several client jobs' files.

    Args:
        root: the store folder (created).
        num_files: shard files per kind; more files = smaller files, same durability.
        fsync_interval: seconds between batched fsyncs done by :meth:`add`; None leaves fsync to the caller
            (the engine runs it in a worker thread, off the event loop).
        job: a name that keeps concurrent client jobs in separate files (e.g. "s0of4").
    """

    def __init__(
        self, root: str | os.PathLike, *, num_files: int = 16, fsync_interval: float | None = 2.0, job: str = "all"
    ):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = _lock_job(self.root, job)
        self.fsync_interval = fsync_interval
        self.job = job
        self._tallies: dict[str, StoreTally] = defaultdict(StoreTally)
        self._records = _ShardedLog(
            self.root, RECORDS, "record_id", job, num_files, keep_values=False,
            tally=lambda record, j: self._tallies[j].add_record(record), decode=GeneratedRecord.from_dict,
        )  # fmt: skip
        self._summaries = _ShardedLog(
            self.root, SUMMARIES, "summary_id", job, num_files, keep_values=True,
            tally=lambda row, j: self._tallies[j].add_summary(row),
        )  # fmt: skip
        self._last_fsync = time.monotonic()

    @property
    def num_done(self) -> int:
        return len(self._records.keys)

    @property
    def repaired(self) -> list[str]:
        return self._records.repaired + self._summaries.repaired

    def tally(self, job: str | None = None) -> StoreTally:
        """Whole-store totals (all jobs' files), or those of one job's files."""
        total = StoreTally()
        for name, tally in self._tallies.items():
            if job is None or name == job:
                total.merge(tally)
        return total

    def is_done(self, record_id: str) -> bool:
        return self._records.has(record_id)

    def add(self, record: GeneratedRecord) -> bool:
        """Append a finished record; False (and nothing written) if its ``record_id`` is already stored."""
        added = self._records.add(record)
        self._maybe_fsync()
        return added

    def get_summary(self, summary_id: str) -> dict[str, Any] | None:
        return self._summaries.get(summary_id)

    def add_summary(self, summary: dict[str, Any]) -> bool:
        added = self._summaries.add(summary)
        self._maybe_fsync()
        return added

    def _maybe_fsync(self) -> None:
        if self.fsync_interval is None:
            return
        now = time.monotonic()
        if now - self._last_fsync >= self.fsync_interval:
            self.fsync()
            self._last_fsync = now

    def fsync(self) -> None:
        self._records.fsync()
        self._summaries.fsync()

    def close(self) -> None:
        self._records.close()
        self._summaries.close()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> RecordStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def iter_records(self, job: str | None = None) -> Iterator[GeneratedRecord]:
        """Every stored record (or those of one job's files), each once (first write wins if merged folders
        overlap)."""
        seen: set[bytes] = set()
        for path in self._records.files(job):
            with open(path, "rb") as fh:
                for line in fh:
                    if not line.endswith(b"\n"):
                        break  # a torn tail another process is still writing
                    row = _load_line(line)
                    digest = bytes.fromhex(row["record_id"])
                    if digest not in seen:
                        seen.add(digest)
                        yield GeneratedRecord.from_dict(row)

    def export_parquet(self, path: str | os.PathLike, job: str | None = None) -> int:
        """Write every record (or one job's), deduplicated by ``record_id``, as Parquet (atomically)."""
        with AtomicParquetWriter(path, GENERATED_SCHEMA) as writer:
            writer.write_rows(record.to_dict() for record in self.iter_records(job))
        return writer.rows_written
