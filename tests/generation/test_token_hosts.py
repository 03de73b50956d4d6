"""The HF token goes to Hugging Face hosts only: never to a look-alike such as ``evilhuggingface.co``.

A real generation run (endpoint probe + summary and query requests, through hfswim's own HTTP client) talks to a
loopback server that records every Authorization header; name resolution in this process maps the host names
to 127.0.0.1, so the client believes it is talking to the named host.
"""

from __future__ import annotations

import asyncio
import socket

import pytest

from hfswim.generation import GenerateConfig
from hfswim.generation.endpoints import is_hf_hosted
from hfswim.generation.runner import agenerate
from hfswim.testing.loopback import LoopbackLLM
from tests.generation.conftest import make_passages

SECRET = "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"
LOOK_ALIKE = "evilhuggingface.co"
INFERENCE_ENDPOINT = "abc123.us-east-1.aws.endpoints.huggingface.cloud"


class HeaderRecordingLLM(LoopbackLLM):
    """The loopback TGI server, also recording (path, Authorization header) of every request."""

    def __init__(self) -> None:
        super().__init__(kind="tgi")
        self.seen: list[tuple[str, str | None]] = []

    def app(self):
        from aiohttp import web

        app = super().app()

        @web.middleware
        async def record(request, handler):
            self.seen.append((request.path, request.headers.get("Authorization")))
            return await handler(request)

        app.middlewares.append(record)
        return app


@pytest.fixture
def resolve_to_loopback(monkeypatch):
    """Resolve the test host names to 127.0.0.1 in this process (httpx and aiohttp both ask getaddrinfo)."""
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if isinstance(host, bytes):
            host = host.decode()
        return real("127.0.0.1" if host in (LOOK_ALIKE, INFERENCE_ENDPOINT) else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setenv("HF_TOKEN", SECRET)


def _run(tmp_path, write_passages, host: str, port: int):
    config = GenerateConfig(
        passages=str(write_passages(make_passages(2))),
        output_dir=str(tmp_path / host),
        endpoints=[f"http://{host}:{port}"],
        languages="sw",
        max_new_tokens=8,
        progress=False,
    )
    return asyncio.run(agenerate(config))  # asyncio's loop: its resolver is socket.getaddrinfo


def test_look_alike_host_never_receives_the_token(tmp_path, write_passages, resolve_to_loopback):
    with HeaderRecordingLLM() as server:
        result = _run(tmp_path, write_passages, LOOK_ALIKE, server.port)
    assert result.accepted == 2 and result.failed == 0
    paths = {path for path, _ in server.seen}
    assert "/info" in paths and ("/" in paths or "/generate" in paths)  # the probe and the generation requests
    assert [auth for _, auth in server.seen if auth is not None] == []
    manifest = (tmp_path / LOOK_ALIKE / "manifest.json").read_text()
    assert SECRET not in manifest


def test_inference_endpoint_host_receives_the_token(tmp_path, write_passages, resolve_to_loopback):
    with HeaderRecordingLLM() as server:
        result = _run(tmp_path, write_passages, INFERENCE_ENDPOINT, server.port)
    assert result.accepted == 2
    assert len(server.seen) >= 5  # /info, 2 summaries, 2 queries
    assert {auth for _, auth in server.seen} == {f"Bearer {SECRET}"}
    assert SECRET not in (tmp_path / INFERENCE_ENDPOINT / "manifest.json").read_text()


@pytest.mark.parametrize(
    "url, hosted",
    [
        ("https://huggingface.co", True),
        ("https://router.huggingface.co/v1", True),
        ("https://hf.co/api", True),
        ("https://my-space.hf.space", True),
        ("https://HUGGINGFACE.CO.", True),
        (f"https://{INFERENCE_ENDPOINT}", True),
        ("http://evilhuggingface.co:8080", False),
        ("https://huggingface.co.evil.com", False),
        ("https://evilhf.space", False),
        ("https://endpoints.huggingface.cloud.evil.com", False),
        ("https://evil.huggingface.cloud", False),  # not an Inference Endpoint host
        ("http://huggingface.co@evil.com/", False),  # user info, not the host
        ("http://evil.com\\@huggingface.co/", False),  # parsers disagree on the host: refuse
        ("http://localhost:8080", False),
        ("http://[::1", False),
        ("not a url", False),
    ],
)
def test_is_hf_hosted_matches_exact_hosts_and_proper_subdomains(url, hosted):
    assert is_hf_hosted(url) is hosted
