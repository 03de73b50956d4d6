"""Re-running a finished generate stage (`hfswim run --force generate` on the demo's generation): does the embedded
server start when every record is already in the store?

1. `hfswim run` on the demo config's corpus and generate sections (16 XQuAD paragraphs, queries in de/es from the
   embedded Gemma 3 270M) into a folder, so that its record store is complete (skipped when the folder is);
2. ``--force generate`` re-runs of that folder, this branch and ``--baseline-commit`` (``git archive``, first on
   PYTHONPATH) alternately (ABAB): wall time of the whole command, the generate stage's own seconds, whether the
   embedded server started, and the LLM requests sent (0 on both: the store is complete; the baseline resumes
   the store this branch wrote, so the record keys are the same).

Each run is a fresh ``python -m hfswim run`` subprocess, offline; wall time from the parent.

    python -m benchmarks.generate_rerun --baseline-commit 978b66a --rounds 3
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import tempfile
from pathlib import Path

from benchmarks.trees import ROOT, baseline_tree, run_pipeline

RESULT = ROOT / "benchmarks" / "results" / "generate_rerun.md"
CONFIG = """\
output_dir: runs/demo-generate
corpus: {source: xquad-demo, max_words: 400}
generate: {setting: cross-lingual, strategy: sap, languages: "de,es", max_new_tokens: 40, max_passages: 16}
filter: null
dataset: null
"""


def run(config: Path, out: Path, tree: Path, *extra: str) -> tuple[float, dict, dict]:
    seconds, pipeline = run_pipeline(tree, out, str(config), *extra)
    manifest = json.loads((out / "generate" / "manifest.json").read_text(encoding="utf-8"))
    return seconds, pipeline, manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--baseline-commit", required=True, help="a commit from before the lazy start")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="run folder to keep and reuse (default: a temporary one)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="hfswim-rerun-"))
    config = work / "demo-generate.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    out = (args.keep or work / "demo").resolve()
    first = None
    if not (out / "generate" / "generated.parquet").is_file():
        first, _, manifest = run(config, out, ROOT)
        print(f"first run: {first:.1f} s, {manifest['records']['total']} records", flush=True)
    baseline = baseline_tree(args.baseline_commit, work)

    rows: dict[str, list[tuple[float, float, object, int]]] = {"this branch": [], "baseline": []}
    exports = set()  # the bytes of generated.parquet after each run
    for _ in range(args.rounds):
        for name, tree in (("baseline", baseline), ("this branch", ROOT)):
            seconds, pipeline, manifest = run(config, out, tree, "--force", "generate")
            stage = pipeline["stages"]["generate"].get("seconds") or 0.0
            started = {True: "yes", False: "no"}.get(manifest.get("embedded_server", {}).get("started"), "yes (always)")
            rows[name].append((seconds, stage, started, manifest["this_run"]["requests"]))
            exports.add(hashlib.sha256((out / "generate" / "generated.parquet").read_bytes()).hexdigest())
            print(name, f"{seconds:.1f} s", f"stage {stage} s", started, flush=True)

    def median(name: str, i: int) -> float:
        return statistics.median(r[i] for r in rows[name])

    records = manifest["records"]["total"]
    lines = [
        "## `hfswim run --force generate` on a finished generation: the embedded server starts only when needed",
        "",
        "Command (from the repository root):",
        "",
        f"    python -m benchmarks.generate_rerun --baseline-commit {args.baseline_commit} --rounds {args.rounds}",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared with other jobs), no GPU; Python "
        f"{platform.python_version()}; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}. Config: the "
        f"demo's corpus and generate sections (16 XQuAD paragraphs, SAP queries in de/es, embedded Gemma 3 270M), "
        f"its store complete ({records} records"
        + (f"; the first run took {first:.0f} s" if first else "")
        + "). Runs alternate baseline / this branch (ABAB), medians of "
        f"{args.rounds} each.",
        "Goal: a re-run whose records are all stored loads no model.",
        "",
        "| code | wall (s), median | generate stage (s), median | embedded server started | LLM requests |",
        "|---|---:|---:|---|---:|",
    ]
    for name, label in (("baseline", f"`{args.baseline_commit}` (before)"), ("this branch", "this branch")):
        started = {str(r[2]) for r in rows[name]}
        requests = sum(r[3] for r in rows[name])
        lines.append(
            f"| {label} | {median(name, 0):.1f} | {median(name, 1):.1f} | {', '.join(sorted(started))} | {requests} |"
        )
    ratio = median("baseline", 0) / median("this branch", 0)
    lines += [
        "",
        f"The forced re-run takes {ratio:.1f}x less wall time (the rest is Python start-up, reading the passages and "
        f"the export). generated.parquet after each of the {2 * args.rounds} runs: "
        + ("byte-identical." if len(exports) == 1 else f"{len(exports)} different versions."),
    ]
    RESULT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
