"""Fault tests against a loopback server: 429/503 (with Retry-After), garbage, dropped connections and
slow answers are retried and counted; requests that exhaust their retries are recorded, never lost,
and retried by the next run."""

from __future__ import annotations

import json
import time

import pyarrow.parquet as pq
import pytest

from hfswim.generation import GenerateConfig, generate
from hfswim.testing.loopback import Fault
from tests.generation.conftest import make_passages


def _config(path, out, url, **kw) -> GenerateConfig:
    kw.setdefault("languages", "sw,de")
    kw.setdefault("backoff_base", 0.01)
    kw.setdefault("backoff_max", 0.05)
    return GenerateConfig(passages=str(path), output_dir=str(out), endpoints=[url], progress=False, **kw)


@pytest.mark.parametrize("server_fixture", ["loopback", "loopback_openai"])
def test_transient_faults_are_retried_counted_and_nothing_is_lost(server_fixture, request, tmp_path, write_passages):
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
    result = generate(_config(passages, tmp_path / "out", server.url, request_timeout=0.5, concurrency=1))
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


# ---- generation under faults (issue 10) ---------------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _watch(condition, action, timeout: float = 60.0):
    """Run ``action`` in a thread as soon as ``condition()`` holds (bounded wait)."""
    import threading

    def watch() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not condition():
            time.sleep(0.01)
        action()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_trickling_server_is_bounded_by_the_whole_request_timeout(tmp_path, write_passages, loopback):
    # One byte every 0.2 s: each read finishes well within the timeout, the whole answer takes minutes.
    passages = write_passages(make_passages(1))
    loopback.state.faults = [Fault("trickle", delay=0.2)]
    start = time.monotonic()
    cfg = _config(passages, tmp_path / "out", loopback.url, languages="sw", request_timeout=1.0)
    result = generate(cfg)
    assert time.monotonic() - start < 15
    assert result.manifest["retries_by_kind"] == {"timeout": 1} and result.accepted == 1 and result.failed == 0


def test_empty_and_control_character_answers(tmp_path, write_passages, loopback):
    passages = write_passages(make_passages(2))
    loopback.state.prompt_faults = {"Title: Topic doc0\nPassage:": [Fault("empty")]}  # once, then a real answer
    next_fault = loopback.state.next_fault

    def nul_for_doc1_german(prompt: str = ""):  # every attempt at doc1's German query: NUL and control bytes
        fault = next_fault(prompt)
        if fault is None and "Topic doc1" in prompt and prompt.rstrip().endswith("Query (German):"):
            loopback.state.injected["nul"] += 1
            return Fault("nul")
        return fault

    loopback.state.next_fault = nul_for_doc1_german
    cfg = _config(passages, tmp_path / "out", loopback.url, concurrency=1)
    result = generate(cfg)
    rows = {(r["passage_id"], r["query_language"]): r for r in pq.read_table(result.parquet_path).to_pylist()}
    assert len(rows) == 4 and result.failed == 0
    assert rows.pop(("doc1#0", "de"))["parse_status"] == "control_characters"
    assert {r["parse_status"] for r in rows.values()} == {"ok"}
    # 1 empty + 2 NUL answers asked again; the third NUL answer is stored (rejected) and final.
    assert result.manifest["retries_by_kind"] == {"empty_answer": 3}
    assert loopback.state.injected == {"empty": 1, "nul": 3}
    requests = loopback.state.requests
    again = generate(cfg)
    assert loopback.state.requests == requests and again.manifest["records"]["total"] == 4


def test_dead_endpoint_mid_run_gets_no_retries_and_loses_nothing(tmp_path, write_passages):
    from hfswim.testing.loopback import LoopbackLLM

    passages = write_passages(make_passages(60))
    with LoopbackLLM(kind="tgi", max_concurrent_requests=4) as alive:
        victim = LoopbackLLM(kind="tgi", max_concurrent_requests=4).start()
        alive.state.delay = victim.state.delay = 0.01
        killer = _watch(lambda: victim.state.answered >= 20, victim.stop)
        cfg = GenerateConfig(
            passages=str(passages), output_dir=str(tmp_path / "out"), endpoints=[alive.url, victim.url],
            languages="sw,de", progress=False, max_retries=3, backoff_base=0.05, backoff_max=0.2, concurrency=4,
            probe_interval=30.0,
        )  # fmt: skip
        result = generate(cfg)
        killer.join(5)
    m = result.manifest
    assert result.failed == 0 and m["status"] == "complete" and m["records"]["total"] == 120
    assert m["this_run"]["endpoints_down"] == 1 and m["endpoints"][1]["up"] is False
    assert victim.state.answered >= 20 and alive.state.answered > 60
    # Connection errors: the requests in flight at the kill and those already queued for it (2 x concurrency),
    # plus the breaker's threshold; after that no request goes to the dead endpoint (no probe due within 30 s).
    assert m["retries_by_kind"].get("connection", 0) <= 3 + 2 * 4


def test_dead_endpoint_at_start_is_skipped_then_probed_back_in(tmp_path, write_passages, caplog):
    from hfswim.testing.loopback import LoopbackLLM

    passages = write_passages(make_passages(60))
    port = _free_port()
    dead_url = f"http://user:pa55word@127.0.0.1:{port}"
    with LoopbackLLM(kind="tgi", max_concurrent_requests=2) as alive:
        alive.state.delay = 0.02
        revived: list[LoopbackLLM] = []
        reviver = _watch(
            lambda: alive.state.answered >= 30, lambda: revived.append(LoopbackLLM(kind="tgi", port=port).start())
        )
        cfg = GenerateConfig(
            passages=str(passages), output_dir=str(tmp_path / "out"), endpoints=[dead_url, alive.url],
            languages="sw,de", progress=False, probe_interval=0.2, concurrency=2,
        )  # fmt: skip
        with caplog.at_level("WARNING"):
            result = generate(cfg)
        reviver.join(5)
        try:
            back = revived[0].state.answered
        finally:
            for server in revived:
                server.stop()
    assert result.failed == 0 and result.manifest["records"]["total"] == 120
    assert back > 0 and result.manifest["this_run"]["endpoints_back"] == 1
    warnings = [r.getMessage() for r in caplog.records if "does not answer" in r.getMessage()]
    assert warnings and all("pa55word" not in w and "user:" not in w for w in warnings)


def test_all_endpoints_dead_is_one_clear_error(tmp_path, write_passages):
    from hfswim.errors import EndpointError

    passages = write_passages(make_passages(1))
    urls = [f"http://127.0.0.1:{_free_port()}", f"http://127.0.0.1:{_free_port()}"]
    cfg = GenerateConfig(passages=str(passages), output_dir=str(tmp_path / "out"), endpoints=urls, progress=False)
    with pytest.raises(EndpointError, match="none of the 2 endpoints answered"):
        generate(cfg)


def test_failed_requests_later_finished_leave_failures_jsonl_and_orphans_are_cleaned(
    tmp_path, write_passages, loopback
):
    passages = write_passages(make_passages(3))
    loopback.state.prompt_faults = {"Title: Topic doc1\nPassage:": [Fault(503)] * 2}
    out = tmp_path / "out"
    cfg = _config(passages, out, loopback.url, max_retries=1, concurrency=1)
    first = generate(cfg)
    assert first.failed == 2 and len(first.failures_path.read_text().splitlines()) == 2
    assert first.manifest["records"]["failed"] == 2 and first.manifest["per_language"]["sw"]["failed"] == 1
    # What a kill during the export and manifest write leaves behind:
    (out / ".generated.parquet.k1ll3d.tmp").write_bytes(b"PAR1 half")
    (out / ".manifest.json.k1ll3d.tmp").write_text("{")
    manifest = json.loads((out / "manifest.json").read_text())
    (out / "manifest.json").write_text(json.dumps({**manifest, "status": "running"}))
    second = generate(cfg)
    assert second.manifest["status"] == "complete" and second.manifest["records"] == {
        "total": 6, "accepted": 6, "rejected": 0, "failed": 0, "already_done": 4
    }  # fmt: skip
    assert second.manifest["recovered"] == {"previous_run": "killed", "tmp_files_removed": 2, "failures_resolved": 0}
    assert not first.failures_path.exists() and not list(out.glob("*.tmp")) and not list(out.glob(".*.tmp"))


def test_lock_is_held_until_the_run_folder_is_final(tmp_path, write_passages, loopback, monkeypatch):
    from hfswim.errors import InputError
    from hfswim.generation import runner
    from hfswim.generation import store as store_module
    from hfswim.generation.progress import write_manifest as real_write_manifest

    passages = write_passages(make_passages(2))
    out = tmp_path / "out"
    seen: list[str] = []

    def write_manifest(path, payload):
        if payload["status"] != "running":  # the final manifest: another run must still be locked out
            try:
                store_module.RecordStore(out / "store", job="all").close()
                seen.append("not locked")
            except InputError:
                seen.append("locked")
        real_write_manifest(path, payload)

    monkeypatch.setattr(runner, "write_manifest", write_manifest)
    generate(_config(passages, out, loopback.url))
    assert seen == ["locked"]
    store_module.RecordStore(out / "store", job="all").close()  # released afterwards


def test_credentials_never_reach_any_output(tmp_path, write_passages, loopback, monkeypatch, caplog, capsys):
    token, password = "hf_SecretTokenForThisTest0042", "pa55-w0rd!x"
    monkeypatch.setenv("HF_TOKEN", token)
    passages = write_passages(make_passages(3))
    # doc0: a non-retryable 422 (its message quotes the URL), doc1: 503s until retries run out.
    loopback.state.prompt_faults = {
        "Title: Topic doc0\nPassage:": [Fault(422)],
        "Title: Topic doc1\n": [Fault(503)] * 9,
    }
    url = loopback.url.replace("http://", f"http://bob:{password}@")
    dead = f"http://bob:{password}@127.0.0.1:{_free_port()}"
    cfg = GenerateConfig(
        passages=str(passages), output_dir=str(tmp_path / "out"), endpoints=[url, dead], languages="sw",
        progress=True, max_retries=1, backoff_base=0.01, backoff_max=0.02,
    )  # fmt: skip
    with caplog.at_level("DEBUG"):
        result = generate(cfg)
    assert result.failed == 2 and result.failures_path.exists()
    captured = capsys.readouterr()
    texts = [captured.out, captured.err, *(r.getMessage() for r in caplog.records)]
    texts += [
        p.read_text(errors="replace") for p in (tmp_path / "out").rglob("*") if p.is_file() and p.suffix != ".parquet"
    ]
    texts += [p.read_bytes().decode("latin-1") for p in (tmp_path / "out").rglob("*.parquet")]
    assert not [t for t in texts if password in t or token in t or "bob:" in t]
    assert "127.0.0.1" in result.failures_path.read_text()  # the endpoint is still named, without credentials
    import base64

    # The credentials still reach the server: as a Basic Authorization header, never inside a URL.
    basic = "Basic " + base64.b64encode(f"bob:{password}".encode()).decode()
    assert set(loopback.state.authorization) == {basic}


def test_redact_patterns():
    from hfswim.redact import redact, register_secret

    assert redact("for url 'https://u:p%40ss@h.example:8443/v1/chat'") == "for url 'https://h.example:8443/v1/chat'"
    assert redact("Authorization: Bearer abcdefgh12345678") == "Authorization: Bearer ***"
    assert redact("token hf_abcdefghijklmnop and sk-abcdefghijklmnopqrst") == "token *** and ***"
    assert redact("GET /x?api_key=abcd1234&q=1") == "GET /x?api_key=***&q=1"
    register_secret("opaque-secret-value")
    assert redact("it said opaque-secret-value") == "it said ***"
    assert redact("max_new_tokens=96 prompt_tokens: 120") == "max_new_tokens=96 prompt_tokens: 120"


def test_merge_refuses_unfinished_shards_in_one_line(tmp_path, write_passages, loopback):
    import subprocess
    import sys

    passages = write_passages(make_passages(6))
    out = tmp_path / "out"
    generate(_config(passages, out, loopback.url, num_shards=2, shard_index=0))
    assert (out / "generated-0-of-2.parquet").exists() and not (out / "generated.parquet").exists()
    merge = [sys.executable, "-m", "hfswim.cli", "generate", str(passages), "-o", str(out), "--num-shards", "2",
             "--merge"]  # fmt: skip
    refused = subprocess.run(merge, capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "shard 1: no manifest" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    second = generate(_config(passages, out, loopback.url, num_shards=2, shard_index=1))  # the last one merges
    assert second.manifest["merged"]["records"] == 12
    merged = json.loads((out / "manifest.json").read_text())
    assert merged["records"]["total"] == 12 and merged["shard"] == {"num_shards": 2, "merged": True}
    assert pq.read_metadata(out / "generated.parquet").num_rows == 12
    again = subprocess.run(merge, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "merged 2 shards: 12 records" in again.stdout


def test_every_endpoint_down_mid_run_stops_with_one_error_and_keeps_the_store(tmp_path, write_passages):
    from hfswim.errors import EndpointError
    from hfswim.testing.loopback import LoopbackLLM

    passages = write_passages(make_passages(40))
    server = LoopbackLLM(kind="tgi", max_concurrent_requests=2).start()
    server.state.delay = 0.01
    killer = _watch(lambda: server.state.answered >= 10, server.stop)
    cfg = _config(passages, tmp_path / "out", server.url, concurrency=2, unreachable_timeout=1.0, probe_interval=0.2)
    with pytest.raises(EndpointError, match="no LLM endpoint has answered") as raised:
        generate(cfg)
    killer.join(5)
    assert "run the same command again" in str(raised.value)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["status"] == "error" and manifest["records"]["total"] >= 5
    assert not (tmp_path / "out" / "failures.jsonl").exists()  # nothing was given up on: resume asks again
