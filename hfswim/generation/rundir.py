"""The run folder of ``hfswim generate``: its file names per job, its recovery after a kill, the shard merge.

One job (``--num-shards 1``) writes ``generated.parquet``, ``manifest.json`` and ``failures.jsonl``. Shard
``i`` of ``n`` writes ``generated-<i>-of-<n>.parquet``, ``manifest-<i>-of-<n>.json`` and
``failures-<i>-of-<n>.jsonl``, so shard jobs sharing one folder never overwrite each other; when the last
shard finishes (or on ``hfswim generate ... --merge``) :func:`merge_shards` writes the folder's
``generated.parquet`` (every stored record, once) and a combined ``manifest.json``.

A run that starts in a folder left by a killed run first cleans up (:func:`recover`): orphan ``.tmp``
files of its own outputs are removed, ``failures.jsonl`` loses the requests that a later run finished,
and a manifest still saying ``running`` is noted as a killed run. All of this happens while the job holds
its store lock, which it keeps until its export and final manifest are written.

Example::

    >>> RunFiles.for_job("runs/gen", 0, 1).manifest.name
    'manifest.json'
    >>> RunFiles.for_job("runs/gen", 1, 4).parquet.name
    'generated-1-of-4.parquet'
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hfswim.errors import InputError
from hfswim.records import QUERY_LANGUAGE, upgrade_row
from hfswim.redact import redact

logger = logging.getLogger(__name__)

FINISHED = ("complete", "incomplete")


@dataclass(frozen=True)
class RunFiles:
    """The output files of one job in a run folder."""

    root: Path
    parquet: Path
    manifest: Path
    failures: Path
    job: str  # the store's job name: "all" or "s<i>of<n>"

    @classmethod
    def for_job(cls, root: str | os.PathLike, shard_index: int, num_shards: int) -> RunFiles:
        root = Path(root)
        if num_shards <= 1:
            return cls(root, root / "generated.parquet", root / "manifest.json", root / "failures.jsonl", "all")
        tag = f"{shard_index}-of-{num_shards}"
        return cls(
            root,
            root / f"generated-{tag}.parquet",
            root / f"manifest-{tag}.json",
            root / f"failures-{tag}.jsonl",
            f"s{shard_index}of{num_shards}",
        )

    def outputs(self) -> tuple[Path, ...]:
        return (self.parquet, self.manifest, self.failures)


def remove_orphan_tmp(paths: tuple[Path, ...]) -> list[str]:
    """Remove the ``.<name>.*.tmp`` files an atomic write of these paths leaves when its process is killed."""
    removed = []
    for path in paths:
        for tmp in path.parent.glob(f".{path.name}.*.tmp"):
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
                removed.append(tmp.name)
    return removed


def read_failures(path: Path) -> list[dict[str, Any]]:
    """The lines of a failures file (a torn or unreadable line is skipped: it is only a report)."""
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            row = json.loads(line)
            if isinstance(row, dict) and row.get("record_id"):
                rows.append(row)
    return rows


def prune_failures(path: Path, is_done: Any) -> list[dict[str, Any]]:
    """Rewrite ``failures.jsonl`` with only the requests still unfinished (the latest line of each record).

    Returns the lines kept. A request listed as failed and finished by a later run is dropped.
    """
    rows = read_failures(path)
    if not rows:
        return []
    latest: dict[str, dict[str, Any]] = {}
    for row in rows:
        latest[row["record_id"]] = row
    kept = [row for rid, row in latest.items() if not is_done(rid)]
    if len(kept) == len(rows):
        return kept
    if not kept:
        path.unlink()
        return []
    tmp = path.with_name(f".{path.name}.prune.tmp")
    tmp.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in kept), encoding="utf-8")
    os.replace(tmp, path)
    return kept


def failed_per_language(failures: list[dict[str, Any]]) -> dict[str, int]:
    counts: Counter = Counter(str(upgrade_row(f).get(QUERY_LANGUAGE)) for f in failures)
    return dict(counts)


def previous_status(manifest_path: Path) -> str | None:
    try:
        return json.loads(manifest_path.read_text(encoding="utf-8")).get("status")
    except (OSError, json.JSONDecodeError, AttributeError):
        return None


def recover(files: RunFiles, is_done: Any) -> dict[str, Any]:
    """Clean up what a killed run of this job left; returns what was done (for the manifest)."""
    before = previous_status(files.manifest)
    removed = remove_orphan_tmp(files.outputs())
    stale = len(read_failures(files.failures))
    kept = prune_failures(files.failures, is_done)
    report: dict[str, Any] = {
        "previous_run": "killed" if before == "running" else before,
        "tmp_files_removed": len(removed),
        "failures_resolved": stale - len(kept),
    }
    if before == "running" or removed:
        logger.warning(
            "%s",
            redact(
                f"hfswim: warning: {files.root}: the previous run of this job was killed"
                f"{f'; removed {len(removed)} orphan temporary file(s)' if removed else ''}; resuming."
            ),
        )
    return report


# ---- shards ------------------------------------------------------------------------------------------------


def shard_manifests(root: Path, num_shards: int) -> list[dict[str, Any] | None]:
    found: list[dict[str, Any] | None] = []
    for i in range(num_shards):
        path = RunFiles.for_job(root, i, num_shards).manifest
        try:
            found.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError):
            found.append(None)
    return found


_SAME = ("model", "strategy", "setting", "template_hash", "languages", "params", "passages_path")


def unfinished_shards(manifests: list[dict[str, Any] | None]) -> list[str]:
    """Why each shard cannot be merged yet (empty when all are finished runs of the same job)."""
    problems = []
    first = next((m for m in manifests if m), None)
    for i, m in enumerate(manifests):
        if m is None:
            problems.append(f"shard {i}: no manifest")
        elif m.get("status") not in FINISHED:
            problems.append(f"shard {i}: {m.get('status')}")
        elif first is not None and any(m.get(k) != first.get(k) for k in _SAME):
            differs = [k for k in _SAME if m.get(k) != first.get(k)]
            problems.append(f"shard {i}: another job ({', '.join(differs)} differ)")
    return problems


def _iter_store_rows(store_dir: Path, prefix: str) -> Iterator[dict[str, Any]]:
    seen: set[bytes] = set()
    key = "record_id" if prefix == "records" else "summary_id"
    for path in sorted(store_dir.glob(f"{prefix}-*.jsonl")):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if not line.endswith("\n"):
                    break
                row = json.loads(line)
                digest = bytes.fromhex(row[key])
                if digest not in seen:
                    seen.add(digest)
                    yield row


def merge_shards(root: str | os.PathLike, num_shards: int, *, require_all: bool = True) -> dict[str, Any] | None:
    """Write ``generated.parquet``, ``manifest.json`` and ``failures.jsonl`` for a folder of finished shards.

    Returns the combined manifest, or None when some shard is not finished and ``require_all`` is False.

    Raises:
        InputError: a shard is not finished (``require_all``), or the shards are runs of different jobs.
    """
    import fcntl

    from hfswim.generation.progress import write_manifest
    from hfswim.generation.store import StoreTally
    from hfswim.io import AtomicParquetWriter
    from hfswim.records import GENERATED_SCHEMA, GeneratedRecord

    root = Path(root)
    if num_shards < 2:
        raise InputError(f"{root}: --merge needs --num-shards N (N >= 2), the shard count the jobs ran with.")
    if not (root / "store").is_dir():
        raise InputError(f"{root}: no generation run here (no store/ folder); nothing to merge.")
    merged = RunFiles.for_job(root, 0, 1)
    lock_fd = os.open(root / ".merge.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX)  # two shards finishing together merge one after the other
        manifests = shard_manifests(root, num_shards)
        problems = unfinished_shards(manifests)
        if problems:
            if require_all:
                raise InputError(f"{root}: cannot merge {num_shards} shards yet: {'; '.join(problems)}.")
            return None
        remove_orphan_tmp(merged.outputs())
        tally = StoreTally()

        def rows() -> Iterator[dict[str, Any]]:
            for row in _iter_store_rows(root / "store", "records"):
                record = GeneratedRecord.from_dict(row)
                tally.add_record(record)
                yield record.to_dict()

        with AtomicParquetWriter(merged.parquet, GENERATED_SCHEMA) as writer:
            writer.write_rows(rows())
        for row in _iter_store_rows(root / "store", "summaries"):
            tally.add_summary(row)
        failures: list[dict[str, Any]] = []
        for i in range(num_shards):
            failures += read_failures(RunFiles.for_job(root, i, num_shards).failures)
        tmp = merged.failures.with_name(f".{merged.failures.name}.merge.tmp")
        if failures:
            tmp.write_text("".join(json.dumps(f, ensure_ascii=False) + "\n" for f in failures), encoding="utf-8")
            os.replace(tmp, merged.failures)
        else:
            with contextlib.suppress(FileNotFoundError):
                merged.failures.unlink()
        first = next(m for m in manifests if m)
        failed_by_lang = failed_per_language(failures)
        per_language: dict[str, dict[str, int]] = defaultdict(dict)
        for lang, counts in tally.per_language.items():
            per_language[lang].update(counts)
        for lang, n in failed_by_lang.items():
            per_language[lang]["failed"] = n
        manifest = {
            "status": "complete" if all(m and m["status"] == "complete" for m in manifests) else "incomplete",
            **{k: first.get(k) for k in ("model", "endpoints", "strategy", "setting", "template_hash")},
            **{k: first.get(k) for k in ("languages", "params", "passages_path")},
            "shard": {"num_shards": num_shards, "merged": True},
            "shards": [
                {
                    "index": i,
                    "status": m["status"],
                    "manifest": RunFiles.for_job(root, i, num_shards).manifest.name,
                    "records": m.get("records", {}).get("total"),
                }
                for i, m in enumerate(manifests)
                if m
            ],
            "records": {
                "total": writer.rows_written,
                "accepted": tally.accepted,
                "rejected": tally.rejected,
                "failed": len(failures),
            },
            "per_language": {lang: per_language[lang] for lang in sorted(per_language)},
            "reject_reasons": dict(tally.reject_reasons.most_common()),
            "tokens": tally.tokens(),
            "generated_parquet": {"path": merged.parquet.name, "records": writer.rows_written},
        }
        write_manifest(merged.manifest, manifest)
        return manifest
    finally:
        os.close(lock_fd)
