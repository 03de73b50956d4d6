"""The real HTTP path: hfswim's client against a real ``transformers serve`` that the tests start.

A tiny random Llama (text does not matter) checks discovery, the Messages API path, usage-based token
accounting and concurrency; the packaged Gemma 3 270M (slow) checks the embedded default end to end.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pyarrow.parquet as pq
import pytest

from hfswim.generation import GenerateConfig, discover_endpoint, generate
from tests.generation.conftest import make_passages


def test_discovery_finds_an_openai_compatible_server(tiny_llm_server):
    url, served = tiny_llm_server
    endpoint = discover_endpoint(url, model=served)
    assert endpoint.kind == "openai" and endpoint.model_id == served and endpoint.max_concurrency is None
    assert discover_endpoint(url + "/v1", kind="openai", model=served).url == url


def test_generate_through_transformers_serve(tiny_llm_server, tmp_path, write_passages):
    url, served = tiny_llm_server
    passages = write_passages(make_passages(3))
    config = GenerateConfig(
        passages=str(passages),
        output_dir=str(tmp_path / "out"),
        endpoints=[url],
        model=served,
        languages="sw,de",
        max_new_tokens=6,
        concurrency=4,
        progress=False,
    )
    result = generate(config)
    m = result.manifest
    assert m["status"] == "complete" and m["requests"] == 3 + 6 and m["failures_by_kind"] == {}
    assert m["endpoints"][0]["kind"] == "openai"
    # Token counts come from the server's usage, not from estimates.
    assert m["this_run"]["tokens"]["estimated_requests"] == 0
    assert m["tokens"]["by_step"]["summary"]["requests"] == 3 and m["tokens"]["by_step"]["query"]["requests"] == 6
    rows = pq.read_table(result.parquet_path).to_pylist()
    assert len(rows) == 6 and len({r["record_id"] for r in rows}) == 6
    for r in rows:
        assert r["endpoint_kind"] == "openai" and r["model"] == served
        assert r["raw_output"] is not None or r["parse_status"].startswith("summary_")
        assert r["prompt_tokens"] == 0 or r["prompt_tokens"] > 50  # the few-shot prompt, counted by the server
        assert r["query_logprob"] is None  # transformers serve does not return log-probs
    assert result.accepted + result.rejected == 6


def _port_closed(url: str) -> bool:
    parts = urlsplit(url)
    with socket.socket() as sock:
        return sock.connect_ex((parts.hostname, parts.port)) != 0


@pytest.mark.slow
def test_embedded_gemma_default_end_to_end(tmp_path, write_passages):
    """No endpoint: hfswim converts (once, cached) and serves the packaged Gemma 3 270M, then stops it."""
    from hfswim.generation import embedded

    passages = write_passages(
        [
            {
                "passage_id": "nile#0",
                "doc_id": "nile",
                "passage_language": "en",
                "title": "Nile",
                "text": "The Nile is a major north-flowing river in northeastern Africa. It flows into the "
                "Mediterranean Sea. With a length of about 6,650 km, it has historically been considered the "
                "longest river in the world.",
                "source": "tests",
            }
        ]
    )
    started: list[embedded.EmbeddedServer] = []
    original_start = embedded.EmbeddedServer.start

    def spy_start(self):
        started.append(self)
        return original_start(self)

    embedded.EmbeddedServer.start = spy_start
    try:
        config = GenerateConfig(
            passages=str(passages), output_dir=str(tmp_path / "out"), languages="de", max_new_tokens=40, progress=False
        )
        result = generate(config)
    finally:
        embedded.EmbeddedServer.start = original_start
    assert len(started) == 1 and started[0].process is None and _port_closed(started[0].url)
    assert (embedded.embedded_model_path() / "model.safetensors").is_file()
    m = result.manifest
    assert m["model"] == embedded.EMBEDDED_MODEL_NAME and m["status"] == "complete" and m["requests"] == 2
    assert m["this_run"]["tokens"]["estimated_requests"] == 0 and m["tokens"]["total"] > 100
    (row,) = pq.read_table(result.parquet_path).to_pylist()
    # Greedy Gemma 3 270M writes an extractive English summary of this passage, then a German query.
    assert row["summary"] and "Nile" in row["summary"]
    assert row["raw_output"] and row["query_language"] == "de" and row["completion_tokens"] > 0
