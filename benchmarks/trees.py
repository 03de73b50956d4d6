"""Run hfswim from a given source tree: this checkout or a plain copy of a baseline commit.

Benchmarks that compare "before/after" run the same command from two trees, interleaved. The baseline is a
``git archive`` copy (no worktree registered in the shared repository), and ``hfswim`` runs as
``python -m hfswim`` with the tree first on ``PYTHONPATH`` and as the working folder, so the tree decides which
hfswim is imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def baseline_tree(rev: str, folder: Path) -> Path:
    """A plain copy of commit ``rev``'s files under ``folder/baseline-<rev>``."""
    tree = folder / f"baseline-{rev}"
    tree.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def run_pipeline(tree: Path, out: Path, *args: str) -> tuple[float, dict]:
    """``hfswim run *args --output out`` with ``tree``'s hfswim: (wall seconds, ``out/pipeline.json``)."""
    env = {**os.environ, "PYTHONPATH": str(tree), **OFFLINE}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "hfswim", "run", *args, "--output", str(out)],
        env=env,
        cwd=tree,  # `python -m` puts the working folder first on sys.path: it decides which hfswim runs
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"hfswim run failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return seconds, json.loads((out / "pipeline.json").read_text(encoding="utf-8"), parse_constant=lambda c: None)
