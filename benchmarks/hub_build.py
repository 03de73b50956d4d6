"""Benchmark `hfswim build-dataset`: time and peak RSS of a streaming build of 1M rows x 5 languages.

    .venv/bin/python -m benchmarks.hub_build                      # 1M rows per language, 5 languages
    .venv/bin/python -m benchmarks.hub_build --rows-per-language 100000 --keep

Step 1 writes synthetic *filtered* records (hfswim.records.FILTERED_SCHEMA, ~5% rejected by a filter) to a
Parquet file. Step 2 builds the dataset repo in a fresh subprocess per variant (without and with a 5%
held-out split), measuring wall time and that process's own peak RSS (``os.wait4`` -> ``ru_maxrss``).
Step 3 checks the result: `datasets.get_dataset_config_names` and the row counts in the shards.
The goal: streaming with peak RSS <= 1 GB whatever the input size. Results: benchmarks/results/hub_build.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
RESULT = ROOT / "benchmarks" / "results" / "hub_build.md"
LANGUAGES = ("sw", "yo", "bn", "te", "de")
WORDS = (
    "river city capital museum history science music water energy planet ocean forest mountain school language "
    "book king queen war peace football bridge island desert village railway festival temple harbour valley"
).split()

BUILD_SCRIPT = """
import json, sys, time
from hfswim.hub.build import build_dataset
from hfswim.hub.config import BuildConfig
t0 = time.perf_counter()
result = build_dataset(sys.argv[1], sys.argv[2], BuildConfig(heldout_fraction=float(sys.argv[3])))
print(json.dumps({"seconds": time.perf_counter() - t0, "rows": result.stats.rows_read,
                  "published": result.stats.rows_kept,
                  "train_rows": sum(c.train_rows for c in result.configs),
                  "shards": sum(c.train_shards for c in result.configs)}))
"""


def _texts(rng: np.random.Generator, n: int, words: int) -> list[str]:
    picks = rng.integers(0, len(WORDS), size=(n, words))
    return [" ".join(WORDS[j] for j in row) + "." for row in picks]


def write_records(path: Path, rows_per_language: int, chunk: int = 50_000, seed: int = 0) -> int:
    """Synthetic filtered records, interleaved across languages as a real filter output is."""
    from hfswim.records import FILTERED_SCHEMA

    rng = np.random.default_rng(seed)
    pool = 4096  # distinct texts, drawn at random: realistic compression without generating 5M strings
    passages = pa.array(_texts(rng, pool, 90))
    titles = pa.array(_texts(rng, pool, 3))
    summaries = pa.array(_texts(rng, pool, 25))
    queries = pa.array([t.rstrip(".") + "?" for t in _texts(rng, pool, 9)])
    total = rows_per_language * len(LANGUAGES)
    writer = pq.ParquetWriter(path, FILTERED_SCHEMA)
    for start in range(0, total, chunk):
        n = min(chunk, total - start)
        ids = np.arange(start, start + n)
        lang = np.array(LANGUAGES)[ids % len(LANGUAGES)]
        passage_no = ids // len(LANGUAGES)
        rejected = rng.random(n) < 0.05
        columns = {
            "record_id": pa.array([f"r{i:012d}" for i in ids]),
            "passage_id": pa.array([f"doc{p}#0" for p in passage_no]),
            "doc_id": pa.array([f"doc{p}" for p in passage_no]),
            "title": titles.take(pa.array(rng.integers(0, pool, n))),
            "text": passages.take(pa.array(rng.integers(0, pool, n))),
            "passage_language": pa.array(["en"] * n),
            "query_language": pa.array(lang),
            "setting": pa.array(["cross-lingual"] * n),
            "summary": summaries.take(pa.array(rng.integers(0, pool, n))),
            "query": queries.take(pa.array(rng.integers(0, pool, n))),
            "parse_status": pa.array(["ok"] * n),
            "raw_output": summaries.take(pa.array(rng.integers(0, pool, n))),
            "template": pa.array(["sap"] * n),
            "template_hash": pa.array(["0123456789abcdef"] * n),
            "model": pa.array(["gemma-3-270m"] * n),
            "endpoint_kind": pa.array(["openai"] * n),
            "params": pa.array(['{"temperature":0.0}'] * n),
            "query_logprob": pa.array(rng.normal(-1.0, 0.3, n)),
            "langid_score": pa.array(rng.random(n)),
            "ce_score": pa.array(rng.random(n)),
            "roundtrip_rank": pa.array(rng.integers(1, 20, n), pa.int64()),
            "reject_filter": pa.array(np.where(rejected, "langid", None).tolist(), pa.string()),
        }
        writer.write_table(
            pa.table(
                {f.name: columns.get(f.name, pa.nulls(n, f.type)) for f in FILTERED_SCHEMA}, schema=FILTERED_SCHEMA
            )
        )
    writer.close()
    return total


def run_build(records: Path, output: Path, heldout: float) -> dict:
    """One build in a fresh interpreter; its own peak RSS from wait4."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", BUILD_SCRIPT, str(records), str(output), str(heldout)],
        stdout=subprocess.PIPE,
        cwd=ROOT,
        env=env,
    )
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"build failed with exit code {proc.returncode}")
    figures = json.loads(out.decode().strip().splitlines()[-1])
    figures["peak_rss_mib"] = usage.ru_maxrss / 1024  # Linux: KiB
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows-per-language", type=int, default=1_000_000)
    parser.add_argument(
        "--workdir", type=Path, default=None, help="where to write the input and repos (default: a temp dir)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work dir")
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="hfswim-hub-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    records = workdir / "kept.parquet"
    t0 = time.perf_counter()
    expected = args.rows_per_language * len(LANGUAGES)
    if records.is_file() and pq.ParquetFile(records).metadata.num_rows == expected:
        total = expected  # a kept work dir: same synthetic input (fixed seed)
    else:
        total = write_records(records, args.rows_per_language)
    gen_s = time.perf_counter() - t0
    input_mib = records.stat().st_size / 2**20
    print(f"input: {total:,} records, {input_mib:,.0f} MiB, written in {gen_s:.1f}s", flush=True)

    rows = []
    for heldout in (0.0, 0.05):
        out = workdir / f"repo-{heldout}"
        shutil.rmtree(out, ignore_errors=True)
        figures = run_build(records, out, heldout)
        import datasets

        names = datasets.get_dataset_config_names(str(out))
        repo_mib = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 2**20
        rows.append((heldout, figures, len(names), repo_mib))
        print(heldout, figures, names, flush=True)

    cmd = "OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.hub_build" + (
        f" --rows-per-language {args.rows_per_language}" if args.rows_per_language != 1_000_000 else ""
    )
    lines = [
        "## Hub dataset build (`hfswim build-dataset`): streaming time and peak RSS",
        "",
        f"Command: `{cmd}`",
        "",
        f"Machine: shared 2-core CPU VM, no GPU ({platform.processor() or platform.machine()}, Python "
        f"{platform.python_version()}, pyarrow {pa.__version__}); other jobs were running, so times are noisy.",
        "",
        f"Input: {total:,} synthetic filtered records ({args.rows_per_language:,} per language x {len(LANGUAGES)} "
        f"languages, ~5% rejected by a filter), one Parquet file of {input_mib:,.0f} MiB "
        "(FILTERED_SCHEMA, passages of ~90 words). Each build runs in a fresh process; peak RSS is that "
        "process's `ru_maxrss` (os.wait4). Shards: 100,000 rows, zstd, content-defined chunking.",
        "",
        "| Held-out fraction | Records read | Published | Train rows | Train shards | Configs | Wall time (s) | Records/s | Peak RSS (MiB) | Repo size (MiB) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for heldout, f, n_configs, repo_mib in rows:
        lines.append(
            f"| {heldout:.2f} | {f['rows']:,} | {f['published']:,} | {f['train_rows']:,} | {f['shards']} | {n_configs} "
            f"| {f['seconds']:.1f} | {f['rows'] / f['seconds']:,.0f} | {f['peak_rss_mib']:,.0f} | {repo_mib:,.0f} |"
        )
    ok = all(f["peak_rss_mib"] <= 1024 for _, f, _, _ in rows)
    lines += [
        "",
        f"Goal (peak RSS <= 1 GB while streaming): **{'met' if ok else 'NOT met'}**. Memory is bounded by one "
        "input batch plus one buffered row group per config; with a held-out split each config also keeps "
        "the set of its passage ids (to write each corpus passage once), which grows with distinct passages.",
        "",
    ]
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    if not args.keep and args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
