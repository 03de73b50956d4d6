"""Kill-and-resume: ``hfswim generate`` killed with SIGKILL mid-run, then resumed.

Checks exactly-once output, and (server-side request counts) that no record or summary finished before
the kill is requested again.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

from hfswim.corpus.reading import read_passages
from hfswim.prompts import get_prompt_strategy
from tests.generation.conftest import make_passages

HFSWIM = [sys.executable, "-m", "hfswim.cli"]


def _store_lines(folder: Path, prefix: str) -> list[dict]:
    rows = []
    for path in sorted(folder.glob(f"{prefix}-*.jsonl")):
        rows += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return rows


def _sha(prompt: str) -> str:
    return hashlib.sha1(prompt.encode("utf-8")).hexdigest()


def test_sigkill_then_resume_is_exactly_once(tmp_path, write_passages, loopback):
    n_passages, langs = 30, ["sw", "de"]
    passages = write_passages(make_passages(n_passages))
    out = tmp_path / "out"
    loopback.state.delay = 0.03  # slow enough to kill mid-run
    command = [*HFSWIM, "generate", str(passages), "-o", str(out), "-e", loopback.url, "-l", ",".join(langs),
               "--concurrency", "2", "-q"]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(_store_lines(out / "store", "records")) < 12:
        assert proc.poll() is None, proc.stdout.read().decode()
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert proc.returncode == -signal.SIGKILL

    before_records = _store_lines(out / "store", "records")
    before_summaries = _store_lines(out / "store", "summaries")
    assert 12 <= len(before_records) < n_passages * len(langs), f"kill must land mid-run: {len(before_records)}"
    assert not (out / "generated.parquet").exists()

    resumed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr

    records = _store_lines(out / "store", "records")
    ids = [r["record_id"] for r in records]
    assert len(ids) == len(set(ids)) == n_passages * len(langs)  # nothing lost, nothing written twice
    table = pq.read_table(out / "generated.parquet")
    assert table.num_rows == n_passages * len(langs)
    assert sorted(table.column("record_id").to_pylist()) == sorted(ids)
    assert len(_store_lines(out / "store", "summaries")) == n_passages

    # Server side: everything finished before the kill was requested exactly once overall.
    strategy = get_prompt_strategy("sap", "cross-lingual")
    by_id = {p.passage_id: p for p in read_passages(passages)}
    summaries = {s["passage_id"]: s["summary"] for s in before_summaries}
    for s in before_summaries:
        count = loopback.state.prompts[_sha(strategy.summary_prompt(by_id[s["passage_id"]]))]
        assert count == 1, f"summary of {s['passage_id']} requested {count} times"
    for r in before_records:
        prompt = strategy.query_prompt(by_id[r["passage_id"]], r["query_language"], summary=summaries[r["passage_id"]])
        count = loopback.state.prompts[_sha(prompt)]
        assert count == 1, f"{r['passage_id']}/{r['query_language']} requested {count} times"
    # ...and the requests of the resumed run were for unfinished work only.
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["records"]["already_done"] == len(before_records)
    # Totals describe the whole store, not only the records of the resumed process.
    assert manifest["records"]["total"] == manifest["records"]["accepted"] == n_passages * len(langs)
    assert all(manifest["per_language"][lang]["accepted"] == n_passages for lang in langs)
    assert manifest["tokens"]["by_step"]["summary"]["requests"] == n_passages
    done_per_passage: dict[str, int] = {}
    for r in before_records:
        done_per_passage[r["passage_id"]] = done_per_passage.get(r["passage_id"], 0) + 1
    partly_done = [p for p in summaries if done_per_passage.get(p, 0) < len(langs)]
    this_run = manifest["this_run"]
    assert this_run["summaries_reused"] == len(partly_done), (this_run["summaries_reused"], partly_done)
    assert this_run["tokens"]["by_step"]["summary"]["requests"] == n_passages - len(before_summaries)
    assert manifest["store"]["records_before_run"] == len(before_records) and manifest["status"] == "complete"
