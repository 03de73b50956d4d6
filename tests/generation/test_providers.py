"""Inference Providers and hosted OpenAI-compatible APIs with keys, against loopback servers under other names.

Name resolution in this process maps the test host names to 127.0.0.1 (as in test_token_hosts.py), so the
client believes it talks to ``router.huggingface.co`` or ``api.example-llm.com``; the server records the Host,
path, Authorization header and ``model`` field of every request it gets.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time

import pytest

from hfswim.errors import ConfigError
from hfswim.generation import GenerateConfig
from hfswim.generation.providers import provider_endpoint
from hfswim.generation.runner import agenerate
from hfswim.testing.loopback import Fault, LoopbackLLM
from tests.generation.conftest import make_passages

HF_SECRET = "hf_providerTestTokenNotRealAtAll"
API_KEY = "sk-hostedApiKeyNotRealButLong123"
ROUTER = "router.huggingface.co"
API_HOST = "api.example-llm.com"
OTHER_HOST = "elsewhere.example.net"


class RecordingLLM(LoopbackLLM):
    """The OpenAI-style loopback server, recording (host, path, Authorization, model) of every request; requests
    for ``redirect_path`` on the API host are redirected to the same path on OTHER_HOST."""

    def __init__(self, redirect_path: str | None = None) -> None:
        super().__init__(kind="openai")
        self.seen: list[tuple[str, str, str | None, str | None]] = []
        self.redirect_path = redirect_path

    def app(self):
        from aiohttp import web

        app = super().app()

        @web.middleware
        async def record(request, handler):
            model = None
            if request.method == "POST":
                model = (await request.json()).get("model")
            host = request.host.split(":")[0]
            self.seen.append((host, request.path, request.headers.get("Authorization"), model))
            if request.path == self.redirect_path and host != OTHER_HOST:
                raise web.HTTPTemporaryRedirect(f"http://{OTHER_HOST}:{self.port}{request.path}")
            return await handler(request)

        app.middlewares.append(record)
        return app


@pytest.fixture
def named_hosts(monkeypatch):
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if isinstance(host, bytes):
            host = host.decode()
        return real("127.0.0.1" if host in (ROUTER, API_HOST, OTHER_HOST) else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setenv("HF_TOKEN", HF_SECRET)


class _Mapping:
    def __init__(self, provider: str, task: str = "conversational", status: str = "live"):
        self.provider, self.provider_id, self.task, self.status = provider, f"{provider}/model-id", task, status


@pytest.fixture
def hub_mapping(monkeypatch):
    """The Hub's answer to model_info(expand=["inferenceProviderMapping"]): novita and groq serve the model."""
    from huggingface_hub import HfApi

    asked = []

    def model_info(self, repo_id, *, expand=None, token=None, **kwargs):
        asked.append((repo_id, tuple(expand or ()), token))

        class Info:
            def __init__(self) -> None:
                self.inference_provider_mapping = [
                    _Mapping("novita"), _Mapping("groq"), _Mapping("fal-ai", task="text-to-image")
                ]  # fmt: skip

        return Info()

    monkeypatch.setattr(HfApi, "model_info", model_info)
    return asked


def _files_text(folder) -> str:
    return "".join(p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file() and p.suffix != ".parquet")


def _config(tmp_path, write_passages, **kw) -> GenerateConfig:
    kw.setdefault("languages", "sw")
    return GenerateConfig(
        passages=str(write_passages(make_passages(2))), output_dir=str(tmp_path / "run"), max_new_tokens=16,
        progress=False, backoff_base=0.01, backoff_max=0.05, **kw,
    )  # fmt: skip


def test_provider_requests_go_to_the_router_with_the_hf_token_and_model_colon_provider(
    tmp_path, write_passages, named_hosts, hub_mapping
):
    with RecordingLLM() as server:
        server.state.faults = [Fault(429, retry_after=0.4), Fault(429)]  # the provider's rate limit, then again
        cfg = _config(tmp_path, write_passages, provider="novita", model="org/model",
                      provider_router_url=f"http://{ROUTER}:{server.port}", concurrency=1)  # fmt: skip
        start = time.monotonic()
        result = asyncio.run(agenerate(cfg))
        elapsed = time.monotonic() - start
    assert result.accepted == 2 and result.failed == 0
    posts = [s for s in server.seen if s[1] == "/v1/chat/completions"]
    assert len(posts) == 2 + 2 + 2  # 2 summaries, 2 queries, 2 answered 429
    assert {(host, auth, model) for host, _, auth, model in posts} == {
        (ROUTER, f"Bearer {HF_SECRET}", "org/model:novita")
    }
    assert elapsed >= 0.4  # Retry-After honoured
    m = result.manifest
    assert m["retries_by_kind"] == {"http_429": 2} and m["model"] == "org/model"
    assert m["endpoints"][0]["provider"] == "novita" and m["tokens"]["total"] > 0
    assert hub_mapping == [("org/model", ("inferenceProviderMapping",), HF_SECRET)]
    assert HF_SECRET not in _files_text(tmp_path / "run")


def test_provider_auto_sends_the_bare_model_id(tmp_path, write_passages, named_hosts, hub_mapping):
    with RecordingLLM() as server:
        cfg = _config(tmp_path, write_passages, provider="auto", model="org/model",
                      provider_router_url=f"http://{ROUTER}:{server.port}")  # fmt: skip
        result = asyncio.run(agenerate(cfg))
    assert result.accepted == 2
    assert {model for _, path, _, model in server.seen if path == "/v1/chat/completions"} == {"org/model"}


def test_a_provider_that_does_not_serve_the_model_fails_before_any_request(named_hosts, hub_mapping):
    with pytest.raises(ConfigError, match=r"does not serve org/model.*groq, novita"):
        provider_endpoint("org/model", "together", router_url="http://router.huggingface.co:1")


def test_provider_refuses_a_router_outside_hugging_face_and_a_missing_token(monkeypatch, named_hosts):
    with pytest.raises(ConfigError, match="not a Hugging Face host"):
        provider_endpoint("org/model", "auto", router_url=f"http://{API_HOST}:1", check_mapping=False)
    import huggingface_hub

    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)
    with pytest.raises(ConfigError, match="need a Hugging Face token"):
        provider_endpoint("org/model", "auto", check_mapping=False)
    with pytest.raises(ConfigError, match="--model ORG/MODEL"):
        provider_endpoint(None, "auto", token="hf_x", check_mapping=False)


def test_api_key_goes_to_the_configured_host_only(tmp_path, write_passages, named_hosts, monkeypatch):
    """The probe of /v1/models is redirected to another host: the key does not follow; the HF token goes nowhere."""
    monkeypatch.setenv("TEST_LLM_KEY", API_KEY)
    with RecordingLLM(redirect_path="/v1/models") as server:
        cfg = _config(tmp_path, write_passages, endpoints=[f"http://{API_HOST}:{server.port}/v1"],
                      api_key_env="TEST_LLM_KEY", model="hosted-model")  # fmt: skip
        result = asyncio.run(agenerate(cfg))
    assert result.accepted == 2 and result.failed == 0
    other = [s for s in server.seen if s[0] == OTHER_HOST]
    assert other and all(auth is None for _, _, auth, _ in other)  # the redirect was followed, without the key
    api = [s for s in server.seen if s[0] == API_HOST]
    assert {auth for _, _, auth, _ in api} == {f"Bearer {API_KEY}"}
    assert {model for _, path, _, model in api if path == "/v1/chat/completions"} == {"hosted-model"}
    assert not any(HF_SECRET in (auth or "") for _, _, auth, _ in server.seen)
    text = _files_text(tmp_path / "run")
    assert API_KEY not in text and "TEST_LLM_KEY" in text  # the variable's name is recorded, never its value


def test_api_key_needs_urls_and_a_set_variable(tmp_path, write_passages, monkeypatch):
    monkeypatch.delenv("UNSET_KEY_VAR", raising=False)
    cfg = _config(tmp_path, write_passages, endpoints=["http://127.0.0.1:1"], api_key_env="UNSET_KEY_VAR", model="m")
    with pytest.raises(ConfigError, match="UNSET_KEY_VAR is not set"):
        asyncio.run(agenerate(cfg))
    monkeypatch.setenv("SOME_KEY", API_KEY)
    cfg = _config(tmp_path, write_passages, endpoints=["my-endpoint"], api_key_env="SOME_KEY", model="m")
    with pytest.raises(ConfigError, match="not a URL"):
        asyncio.run(agenerate(cfg))


def test_cli_with_a_key_the_server_echoes_never_shows_it(tmp_path, write_passages):
    """A hosted API that quotes the key in its 401 body: console, failures and manifest still never show it."""
    passages = write_passages(make_passages(2))
    with LoopbackLLM(kind="openai") as server:
        echo = {"error": {"message": f"Incorrect API key provided: {API_KEY}", "type": "invalid_request_error"}}
        server.state.faults = [Fault(401)] * 50
        _orig_fault = server._fault

        async def fault_with_echo(request, prompt):
            from aiohttp import web

            answer = await _orig_fault(request, prompt)
            if isinstance(answer, web.Response) and answer.status == 401:
                return web.json_response(echo, status=401)
            return answer

        server._fault = fault_with_echo
        env = {**os.environ, "HOSTED_KEY": API_KEY}
        proc = subprocess.run(
            [sys.executable, "-m", "hfswim", "generate", str(passages), "-o", str(tmp_path / "run"), "--endpoint",
             f"{server.url}/v1", "--api-key-env", "HOSTED_KEY", "--model", "hosted-model", "--languages", "sw",
             "--max-new-tokens", "8", "--quiet"],
            capture_output=True, text=True, env=env, timeout=120,
        )  # fmt: skip
    assert server.state.authorization[f"Bearer {API_KEY}"] > 0  # the key did reach the configured server
    console = proc.stdout + proc.stderr
    assert proc.returncode == 3, console  # every request refused: recorded as failures, resumable
    assert API_KEY not in console and "Traceback" not in console
    text = _files_text(tmp_path / "run")
    assert "HTTP 401" in text and "Incorrect API key provided" in text and API_KEY not in text
    failures = [json.loads(line) for line in (tmp_path / "run" / "failures.jsonl").read_text().splitlines()]
    assert failures and {f["kind"] for f in failures} == {"http_4xx"}


def test_a_redirected_completion_is_not_followed(tmp_path, write_passages, named_hosts, monkeypatch):
    """A hosted API answering 307 to another host: hfswim records a failure and never goes there with the key."""
    monkeypatch.setenv("TEST_LLM_KEY", API_KEY)
    with RecordingLLM(redirect_path="/v1/chat/completions") as server:
        cfg = _config(tmp_path, write_passages, endpoints=[f"http://{API_HOST}:{server.port}/v1"],
                      api_key_env="TEST_LLM_KEY", model="hosted-model")  # fmt: skip
        result = asyncio.run(agenerate(cfg))
    assert result.failed == 2 and result.manifest["failures_by_kind"] == {"http_redirect": 2}
    assert not [s for s in server.seen if s[0] == OTHER_HOST]
