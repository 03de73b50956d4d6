"""Fault tests against a loopback server: 429/503 (with Retry-After), garbage, dropped connections and
slow answers are retried and counted; requests that exhaust their retries are recorded, never lost,
and retried by the next run."""

from __future__ import annotations

import json
import time

import pyarrow.parquet as pq
import pytest

from hfswim.generation import GenerateConfig, generate
from hfswim.generation.loopback import Fault
from tests.generation.conftest import make_passages


def _config(path, out, url, **kw) -> GenerateConfig:
    kw.setdefault("languages", "sw,de")
    kw.setdefault("backoff_base", 0.01)
    kw.setdefault("backoff_max", 0.05)
    return GenerateConfig(passages=str(path), output_dir=str(out), endpoints=[url], progress=False, **kw)


@pytest.mark.parametrize(
    ("server_fixture", "http_backend"),
    [("loopback", "aiohttp"), ("loopback_openai", "aiohttp"), ("loopback", "httpx"), ("loopback_openai", "httpx")],
)
def test_transient_faults_are_retried_counted_and_nothing_is_lost(
    server_fixture, http_backend, request, tmp_path, write_passages
):
    server = request.getfixturevalue(server_fixture)
    passages = write_passages(make_passages(5))
    server.state.faults = [
        Fault(429, retry_after=0.2),
        Fault(503),
        Fault(500),
        Fault("garbage"),
        Fault("drop"),
        Fault("slow", delay=1.5),  # longer than the request timeout below
    ]
    start = time.monotonic()
    result = generate(
        _config(passages, tmp_path / "out", server.url, request_timeout=0.5, concurrency=1, http_backend=http_backend)
    )
    assert time.monotonic() - start >= 0.2  # Retry-After was respected
    m = result.manifest
    assert m["retries_by_kind"] == {"http_429": 1, "http_5xx": 2, "bad_response": 1, "connection": 1, "timeout": 1}
    assert m["failures_by_kind"] == {} and m["status"] == "complete"
    assert m["requests"] == 5 + 10 + 6
    rows = pq.read_table(result.parquet_path).to_pylist()
    assert len(rows) == 10 and {r["parse_status"] for r in rows} == {"ok"}
    assert not result.failures_path.exists()


def test_exhausted_retries_are_recorded_then_retried_on_resume(tmp_path, write_passages, loopback):
    passages = write_passages(make_passages(4))
    # Every attempt (1 + 2 retries) at doc1's summary fails: that summary fails for good.
    loopback.state.prompt_faults = {"Title: Topic doc1\nPassage:": [Fault(503)] * 3}
    cfg = _config(passages, tmp_path / "out", loopback.url, max_retries=2, concurrency=1)
    first = generate(cfg)
    assert first.failed == 2 and first.accepted == 6  # both languages of the failed passage
    m = json.loads(first.manifest_path.read_text())
    assert m["status"] == "incomplete"
    assert m["failures_by_kind"] == {"http_5xx": 1} and m["retries_by_kind"] == {"http_5xx": 2}
    assert m["records"]["failed"] == 2 and sum(c.get("failed", 0) for c in m["per_language"].values()) == 2
    failures = [json.loads(line) for line in first.failures_path.read_text().splitlines()]
    assert len(failures) == 2 and {f["kind"] for f in failures} == {"http_5xx"} and failures[0]["attempts"] == 3
    assert {f["step"] for f in failures} == {"summary"} and len({f["passage_id"] for f in failures}) == 1
    assert first.records_total == 6

    answered = loopback.state.answered
    second = generate(cfg)
    assert second.accepted == 2 and second.failed == 0 and second.records_total == 8
    assert loopback.state.answered - answered == 3  # the missing summary and its two queries, nothing else
    assert second.manifest["records"]["already_done"] == 6 and second.manifest["status"] == "complete"


def test_non_retryable_client_error_fails_fast(tmp_path, write_passages, loopback):
    passages = write_passages(make_passages(1))
    loopback.state.faults = [Fault(422)]
    result = generate(_config(passages, tmp_path / "out", loopback.url, languages="sw", concurrency=1))
    assert result.failed == 1
    assert result.manifest["failures_by_kind"] == {"http_4xx": 1} and result.manifest["retries_by_kind"] == {}


def test_sustained_overload_pauses_the_endpoint(tmp_path, write_passages, loopback):
    passages = write_passages(make_passages(2))
    loopback.state.faults = [Fault(429)] * 4
    start = time.monotonic()
    result = generate(
        _config(passages, tmp_path / "out", loopback.url, languages="sw", concurrency=1, overload_threshold=3,
                overload_pause=0.4)
    )  # fmt: skip
    assert time.monotonic() - start >= 0.4
    m = result.manifest
    assert m["overload_pauses"] >= 1 and m["retries_by_kind"] == {"http_429": 4} and result.accepted == 2


def test_hf_token_is_not_sent_to_self_hosted_endpoints(tmp_path, write_passages, loopback, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_not_for_you")
    passages = write_passages(make_passages(1))
    generate(_config(passages, tmp_path / "a", loopback.url, languages="sw"))
    assert set(loopback.state.authorization) == {""}
    cfg = _config(passages, tmp_path / "b", loopback.url, languages="sw")
    cfg.token = "explicit-token"  # an explicit token is sent (e.g. vLLM --api-key)
    generate(cfg)
    assert loopback.state.authorization["Bearer explicit-token"] == 2
