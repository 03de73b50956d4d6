"""hfswim's embedded server (a real subprocess serving a tiny random Llama): the OpenAI-compatible answers,
capacity in /info, prefix reuse over HTTP, dropping the work of clients that went away, and `hfswim generate`
deriving its concurrency and timeout from the server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from hfswim.generation import discover_endpoint
from hfswim.generation.embedded import TIMEOUT_FLOOR_S, EmbeddedServer
from hfswim.generation.progress import PhaseStatus
from tests.generation.conftest import make_passages

SHARED = "Read the English summary, then write one natural question in Swahili.\n\n" + "".join(
    f"Title: River {i}\nSummary: the river {i} flows to the sea.\nQuery (Swahili): wapi mto {i}?\n\n" for i in range(3)
)


def _chat(url: str, content: str, **body) -> dict:
    payload = {"messages": [{"role": "user", "content": content}], "max_tokens": 4, "temperature": 0, **body}
    response = httpx.post(f"{url}/v1/chat/completions", json=payload, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def test_server_reports_capacity_and_answers_like_an_openai_server(tiny_hfswim_server):
    server: EmbeddedServer = tiny_hfswim_server
    info = httpx.get(f"{server.url}/info", timeout=10).json()
    assert info["max_concurrent_requests"] == 4 and info["max_batch_size"] == 4
    assert info["prefill_tokens_per_s"] > 0 and info["decode_step_s"] > 0
    assert server.max_concurrency == 4 and server.request_timeout(40) >= TIMEOUT_FLOOR_S
    # hfswim's own discovery sees an OpenAI-compatible server (its /info is not mistaken for TGI's)
    endpoint = discover_endpoint(server.url)
    assert endpoint.kind == "openai" and endpoint.model_id == server.served_model
    out = _chat(server.url, SHARED + "Title: Nile\nSummary: the Nile flows.\nQuery (Swahili):", logprobs=True)
    choice = out["choices"][0]
    assert isinstance(choice["message"]["content"], str) and choice["finish_reason"] in ("stop", "length")
    assert len(choice["logprobs"]["content"]) == out["usage"]["completion_tokens"] > 0
    assert out["usage"]["prompt_tokens"] > 50 and "cached_tokens" in out["usage"]["prompt_tokens_details"]


def test_prompts_sharing_instructions_and_exemplars_reuse_their_kv_cache(tiny_hfswim_server):
    url = tiny_hfswim_server.url
    before = httpx.get(f"{url}/stats", timeout=10).json()
    cached = [
        _chat(url, SHARED + f"Title: {t}\nSummary: the {t} flows to the sea.\nQuery (Swahili):")["usage"][
            "prompt_tokens_details"
        ]["cached_tokens"]
        for t in ("Congo", "Volga", "Danube")
    ]
    after = httpx.get(f"{url}/stats", timeout=10).json()
    assert cached[-1] > 50 and after["prompt_tokens_reused"] - before["prompt_tokens_reused"] >= cached[-1]


def test_a_request_whose_client_gave_up_stops_computing(tiny_hfswim_server):
    url = tiny_hfswim_server.url
    before = httpx.get(f"{url}/stats", timeout=10).json()["cancelled"]
    payload = {"messages": [{"role": "user", "content": "the river"}], "max_tokens": 10**6, "ignore_eos": True}
    with pytest.raises(httpx.TimeoutException):
        httpx.post(f"{url}/v1/chat/completions", json=payload, timeout=1.0)
    deadline = time.monotonic() + 20
    while httpx.get(f"{url}/stats", timeout=10).json()["cancelled"] == before:
        assert time.monotonic() < deadline, "the server kept generating for a client that timed out"
        time.sleep(0.2)
    assert _chat(url, "the river flows")["choices"][0]["finish_reason"] in ("stop", "length")  # still serving


@pytest.mark.slow
def test_generate_cli_on_the_embedded_server_derives_concurrency_and_timeout(tiny_llm_dir, tmp_path, write_passages):
    passages = write_passages(make_passages(3))
    out = tmp_path / "out"
    exe = Path(sys.executable).with_name("hfswim")
    command = [str(exe), "generate", str(passages), "-o", str(out), "--model", str(tiny_llm_dir)]
    command += ["--languages", "sw,de", "--max-new-tokens", "6"]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=300, env=os.environ.copy())
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "starting embedded server" in proc.stderr  # the start is shown, not a bar sitting at 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["requests"] == 3 + 6
    (endpoint,) = manifest["endpoints"]
    assert endpoint["concurrency"] == 16  # the server's batch (DEFAULT_MAX_BATCH)
    assert endpoint["request_timeout"] >= TIMEOUT_FLOOR_S and endpoint["request_timeout"] != 300.0
    assert manifest["this_run"]["tokens"]["estimated_requests"] == 0 and manifest["failures_by_kind"] == {}


@pytest.mark.slow
def test_an_explicit_timeout_wins_over_the_derived_one(tiny_llm_dir, tmp_path, write_passages):
    from hfswim.generation import GenerateConfig, generate

    passages = write_passages(make_passages(1))
    config = GenerateConfig(
        passages=str(passages), output_dir=str(tmp_path / "o"), model=str(tiny_llm_dir), languages="sw",
        max_new_tokens=4, request_timeout=77.0, concurrency=2, embedded_max_batch=2, progress=False,
    )  # fmt: skip
    (endpoint,) = generate(config).manifest["endpoints"]
    assert endpoint["request_timeout"] == 77.0 and endpoint["concurrency"] == 2


def test_phase_status_names_each_start_phase_with_its_duration():
    status = PhaseStatus(enabled=False)
    status("converting model")
    status("starting embedded server")
    status.close()
    assert [name for name, _ in status.phases] == ["converting model", "starting embedded server"]
    assert all(seconds >= 0 for _, seconds in status.phases)
