"""`hfswim run` as a user runs it (subprocess): step counter, resume by stage, --force, --set, --print-config.

A corpus-only config keeps it fast; the stage machinery is the same for every stage (the end-to-end run in
tests/test_pipeline.py covers the model stages).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import yaml


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hfswim", "run", *args], capture_output=True, text=True, env=os.environ
    )


def _strict(path) -> dict:
    def no_constants(name):
        raise AssertionError(f"{path}: not strict JSON ({name})")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=no_constants)


def _config(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(
        yaml.safe_dump({"corpus": {"source": "demo", "languages": ["en"], "sample_size": 4}, "generate": None})
    )
    return path


def test_rerun_reuses_unchanged_stages_and_force_or_set_reruns(tmp_path):
    config, out = _config(tmp_path), tmp_path / "out"
    first = _run(str(config), "-o", str(out))
    assert first.returncode == 0, first.stderr
    assert "[1/1] sample" in first.stderr and "done in" in first.stderr
    record = _strict(out / "pipeline.json")["stages"]["sample"]
    assert record["status"] == "ran" and isinstance(record["seconds"], float) and record["fingerprint"]
    mtime = (out / "passages.parquet").stat().st_mtime_ns

    again = _run(str(config), "-o", str(out))
    day = record["finished_at"][:10]
    # Reused: no 0 s timing; the console and pipeline.json say when the run that made the outputs did it.
    line = f"passages): unchanged since the last run, done in {record['seconds']} s on {day} "
    assert again.returncode == 0 and "[1/1] sample reused (" in again.stderr and line in again.stderr, again.stderr
    assert "(0 of 1 stages ran, 1 reused)" in again.stderr
    reused = _strict(out / "pipeline.json")["stages"]["sample"]
    assert reused["status"] == "reused" and reused["seconds"] is None
    assert (reused["ran_seconds"], reused["ran_at"]) == (record["seconds"], record["finished_at"])
    assert (out / "passages.parquet").stat().st_mtime_ns == mtime  # nothing rewritten
    third = _run(str(config), "-o", str(out))  # reused twice: still the first run's time, not the last reuse's
    assert third.returncode == 0 and line in third.stderr
    assert _strict(out / "pipeline.json")["stages"]["sample"]["ran_at"] == record["finished_at"]

    forced = _run(str(config), "-o", str(out), "--force", "sample")
    assert forced.returncode == 0 and _strict(out / "pipeline.json")["stages"]["sample"]["status"] == "ran"

    changed = _run(str(config), "-o", str(out), "--set", "corpus.seed=7")
    assert changed.returncode == 0 and _strict(out / "pipeline.json")["stages"]["sample"]["status"] == "ran"

    (out / "passages.parquet").unlink()  # a missing output is re-made even with the same fingerprint
    assert _run(str(config), "-o", str(out), "--set", "corpus.seed=7").returncode == 0
    assert (out / "passages.parquet").is_file()


def test_print_config_shows_the_resolved_config_with_overrides(tmp_path):
    done = _run("--print-config", "--set", "train.max_steps=3", "--set", "generate.languages=sw,yo", "-o", "runs/x")
    assert done.returncode == 0, done.stderr
    resolved = yaml.safe_load(done.stdout)
    assert resolved["train"]["max_steps"] == 3 and resolved["train"]["learning_rate"] > 0  # defaults filled in
    assert resolved["generate"]["languages"] == "sw,yo" and resolved["generate"]["output_dir"] == "runs/x/generate"
    assert resolved["corpus"]["max_words"] == 400 and set(resolved["evaluate"]) >= {"base", "trained"}


def test_bad_run_options_are_one_error_line(tmp_path):
    config = _config(tmp_path)
    for args, words in (
        (("--force", "trian"), "unknown stage"),
        (("--set", "corpus"), "expected section.key=value"),
        (("--set", "corpus.sample_sise=3"), "did you mean sample_size"),
    ):
        done = _run(str(config), "-o", str(tmp_path / "o"), *args)
        assert done.returncode == 2, args
        assert done.stderr.startswith("hfswim: error:") and done.stderr.strip().count("\n") == 0, done.stderr
        assert words in done.stderr, done.stderr
