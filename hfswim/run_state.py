"""What `hfswim run` remembers between runs: one fingerprint per stage, so a re-run redoes only what changed.

A stage's fingerprint hashes its resolved settings (the stage's config model with every default filled in),
the hfswim version, and the signature (relative path, size, modification time) of every input file it reads,
which are the outputs of the stages before it. A stage is reused when its fingerprint matches the one recorded
in ``pipeline.json`` and its outputs are still there; when an upstream stage re-runs and rewrites its files,
the signatures change and every stage downstream of it re-runs too.

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.parquet").write_bytes(b"x")
    >>> first = fingerprint("filter", {"filters": "parse"}, [folder])
    >>> first == fingerprint("filter", {"filters": "parse"}, [folder])
    True
    >>> first == fingerprint("filter", {"filters": "parse,dedup"}, [folder])
    False
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# Files a later step rewrites inside an upstream folder without changing what it holds for the stages that
# read it (the cards are re-rendered, the report adds their images): never part of a signature.
IGNORED_NAMES = frozenset({"README.md", "images"})


def tree_signature(path: Path) -> list[Any]:
    """(relative path, size, mtime_ns) of a file, or of every visible file under a folder; [] when missing."""
    if path.is_file():
        stat = path.stat()
        return [[path.name, stat.st_size, stat.st_mtime_ns]]
    if not path.is_dir():
        return []
    rows = []
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in IGNORED_NAMES)
        for name in sorted(files):
            if name.startswith(".") or name in IGNORED_NAMES:
                continue
            file = Path(root) / name
            stat = file.stat()
            rows.append([file.relative_to(path).as_posix(), stat.st_size, stat.st_mtime_ns])
    return rows


def fingerprint(stage: str, settings: Any, inputs: Iterable[Path | str]) -> str:
    """A short hash of a stage's settings and the current state of its input files."""
    from hfswim import __version__

    payload = {
        "stage": stage,
        "version": __version__,
        "settings": settings,
        "inputs": {str(p): tree_signature(Path(p)) for p in inputs},
    }
    text = json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()


def strict_json(obj: Any) -> Any:
    """``obj`` with NaN/inf floats replaced by None (strict JSON), recursively; floats rounded to 6 digits.

    >>> strict_json({"a": float("nan"), "b": [1.23456789, float("inf")]})
    {'a': None, 'b': [1.234568, None]}
    """
    if isinstance(obj, float):
        return round(obj, 6) if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): strict_json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [strict_json(v) for v in obj]
    return obj


def load_previous(path: Path) -> dict[str, Any]:
    """The stages recorded by the last run in ``pipeline.json`` (``{}`` when there is none or it is unreadable)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    stages = data.get("stages") if isinstance(data, dict) else None
    return stages if isinstance(stages, dict) else {}
