"""Structured output: JSON asked with TGI's ``grammar`` or OpenAI's ``response_format`` and parsed as JSON; a server
that rejects the field falls back to text for the run, one that ignores it is parsed by the text parser."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

import hfswim.testing.loopback as loopback_module
from hfswim.generation import GenerateConfig, generate
from hfswim.testing.loopback import LoopbackLLM
from tests.generation.conftest import make_passages


class BodyRecordingLLM(LoopbackLLM):
    def __init__(self, kind: str, reject_response_format: bool = False) -> None:
        super().__init__(kind=kind)
        self.bodies: list[dict] = []
        self.reject = reject_response_format

    def app(self):
        from aiohttp import web

        app = super().app()

        @web.middleware
        async def record(request, handler):
            if request.method == "POST":
                body = await request.json()
                self.bodies.append(body)
                if self.reject and "response_format" in body:  # llama.cpp builds without grammar support, say
                    return web.json_response({"error": {"message": "response_format is not supported"}}, status=400)
            return await handler(request)

        app.middlewares.append(record)
        return app


def _run(tmp_path, write_passages, url, **kw):
    cfg = GenerateConfig(passages=str(write_passages(make_passages(3))), output_dir=str(tmp_path / "run"),
                         endpoints=[url], languages="sw,de", progress=False, **kw)  # fmt: skip
    result = generate(cfg)
    return result, pq.read_table(result.parquet_path).to_pylist()


@pytest.mark.parametrize("kind", ["tgi", "openai"])
def test_json_is_asked_and_parsed_as_json(tmp_path, write_passages, kind):
    with BodyRecordingLLM(kind) as server:
        result, rows = _run(tmp_path, write_passages, server.url, structured_output="json")
    assert result.accepted == 6 and {r["parse_status"] for r in rows} == {"ok"}
    assert all(r["raw_output"].startswith('{"query": ') for r in rows)
    assert all(r["query"].startswith("what about Topic doc") and r["query_logprob"] is not None for r in rows)
    if kind == "tgi":
        grammars = [b["parameters"]["grammar"] for b in server.bodies]
        assert {tuple(g["value"]["required"]) for g in grammars} == {("summary",), ("query",)}
        assert all("stop" not in b["parameters"] for b in server.bodies)  # the grammar ends the answer
    else:
        formats = [b["response_format"] for b in server.bodies]
        assert {f["type"] for f in formats} == {"json_schema"}
        assert {tuple(f["json_schema"]["schema"]["required"]) for f in formats} == {("summary",), ("query",)}
    m = result.manifest
    assert m["this_run"]["structured_output"] == {"json": 3 + 6}
    assert m["endpoints"][0]["structured_output"] is True


def test_one_step_sap_asks_for_summary_and_query(tmp_path, write_passages, loopback_openai):
    result, rows = _run(tmp_path, write_passages, loopback_openai.url, structured_output="json", strategy="sap-naive")
    assert result.accepted == 6 and all(r["summary"] and r["query"] for r in rows)
    assert all(r["raw_output"].startswith('{"summary": ') for r in rows)


def test_a_server_that_rejects_the_field_falls_back_to_text(tmp_path, write_passages):
    with BodyRecordingLLM("openai", reject_response_format=True) as server:
        result, rows = _run(tmp_path, write_passages, server.url, structured_output="json", concurrency=1)
    assert result.accepted == 6 and result.failed == 0
    assert sum("response_format" in b for b in server.bodies) == 1  # asked once, then text for the run
    assert result.manifest["structured_output"]["rejected_by_server"] == 1
    assert not any(r["raw_output"].startswith("{") for r in rows)


def test_a_server_that_ignores_the_field_is_parsed_as_text(tmp_path, write_passages, loopback, monkeypatch):
    monkeypatch.setattr(loopback_module, "schema_fields", lambda body: None)  # the server answers free text
    result, rows = _run(tmp_path, write_passages, loopback.url, structured_output="json")
    assert result.accepted == 6 and {r["parse_status"] for r in rows} == {"ok"}
    assert result.manifest["this_run"]["structured_output"] == {"text_fallback": 9}


def test_text_mode_and_auto_on_an_unknown_server_send_no_schema(tmp_path, write_passages):
    with BodyRecordingLLM("tgi") as server:
        result, _ = _run(tmp_path, write_passages, server.url)  # auto: this TGI reports no version with grammar
    assert result.accepted == 6 and not any("grammar" in b["parameters"] for b in server.bodies)
    assert result.manifest["this_run"]["structured_output"] == {}
