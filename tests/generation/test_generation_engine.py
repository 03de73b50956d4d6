"""The engine against a loopback server: summary reuse, strategies, settings, shards, several endpoints."""

from __future__ import annotations

import hashlib
import json

import pyarrow.parquet as pq
import pytest

from hfswim.generation import GenerateConfig, generate, passage_shard
from hfswim.prompts import get_prompt_strategy
from hfswim.testing.loopback import LoopbackLLM
from tests.generation.conftest import LANGS, make_passages


def _config(path, out, urls, **kw) -> GenerateConfig:
    kw.setdefault("languages", LANGS)
    return GenerateConfig(passages=str(path), output_dir=str(out), endpoints=urls, progress=False, **kw)


def _rows(result) -> list[dict]:
    return pq.read_table(result.parquet_path).to_pylist()


@pytest.mark.parametrize("kind", ["tgi", "openai"])
def test_two_step_sap_requests_one_summary_per_passage(kind, tmp_path, write_passages):
    passages = write_passages(make_passages(6))
    with LoopbackLLM(kind=kind) as server:
        result = generate(_config(passages, tmp_path / "out", [server.url], languages="sw,de,hi"))
        answered = server.state.answered
    rows = _rows(result)
    assert len(rows) == 18 and len({r["record_id"] for r in rows}) == 18
    assert answered == 6 + 18  # one summary per passage, then one query per language
    m = result.manifest
    assert m["tokens"]["by_step"]["summary"]["requests"] == 6
    assert m["tokens"]["by_step"]["query"]["requests"] == 18
    assert m["records"]["accepted"] == 18 and m["per_language"]["sw"]["accepted"] == 6
    assert m["endpoints"][0]["kind"] == kind and m["model"] == "hfswim/loopback"
    assert m["status"] == "complete" and m["generated_parquet"]["records"] == 18
    # The summary written into every language's record is the passage's one summary.
    by_passage: dict[str, set] = {}
    for r in rows:
        by_passage.setdefault(r["passage_id"], set()).add(r["summary"])
        assert r["parse_status"] == "ok" and r["query"] and r["query_language"] in ("sw", "de", "hi")
        assert r["endpoint_kind"] == kind and r["template"] == "sap" and r["setting"] == "cross-lingual"
        # log-probs: TGI details tokens / OpenAI logprobs.content, restricted to the query's tokens
        assert r["query_logprob"] is not None and -0.5 < r["query_logprob"] < -0.2
        assert r["prompt_tokens"] > 0 and r["completion_tokens"] > 0
        assert json.loads(r["params"])["strategy"] == "sap"
    assert all(len(s) == 1 for s in by_passage.values())


def test_naive_sap_is_one_request_per_pair_and_costs_more_tokens(tmp_path, write_passages, loopback):
    passages = write_passages(make_passages(4))
    sap = generate(_config(passages, tmp_path / "sap", [loopback.url], languages="sw,de,hi"))
    before = loopback.state.answered
    naive = generate(_config(passages, tmp_path / "naive", [loopback.url], languages="sw,de,hi", strategy="sap-naive"))
    assert loopback.state.answered - before == 12  # no summary step
    rows = _rows(naive)
    assert len(rows) == 12 and all(r["parse_status"] == "ok" and r["summary"] and r["query"] for r in rows)
    # the query's log-prob covers only the query tokens of "summary ... Query (L): query"
    assert all(r["query_logprob"] is not None for r in rows)
    assert naive.manifest["tokens"]["prompt"] > sap.manifest["tokens"]["prompt"]


def test_query_only_strategies_and_monolingual_setting(tmp_path, write_passages, loopback):
    rows = make_passages(3, lang="de", prefix="de") + make_passages(2, lang="sw", prefix="sw")
    rows += make_passages(2, lang="en", prefix="en")  # not selected: skipped in the monolingual setting
    passages = write_passages(rows)
    result = generate(
        _config(passages, tmp_path / "mono", [loopback.url], setting="monolingual", strategy="inpars-vanilla")
    )
    out = _rows(result)
    assert len(out) == 5
    assert all(r["query_language"] == r["passage_language"] and r["setting"] == "monolingual" for r in out)
    assert result.manifest["tokens"]["by_step"]["summary"]["requests"] == 0
    assert result.manifest["passages"]["without_target_language"] == 2


def test_shards_split_the_corpus_disjointly(tmp_path, write_passages, loopback):
    passages = write_passages(make_passages(20))
    ids = []
    for i in range(3):
        result = generate(
            _config(passages, tmp_path / f"s{i}", [loopback.url], languages="sw", num_shards=3, shard_index=i)
        )
        shard_ids = {r["passage_id"] for r in _rows(result)}
        assert all(passage_shard(p, 3) == i for p in shard_ids)
        ids.extend(shard_ids)
    assert sorted(ids) == sorted(p["passage_id"] for p in make_passages(20))
    assert passage_shard("doc1#0", 3) == int.from_bytes(hashlib.blake2b(b"doc1#0", digest_size=8).digest(), "big") % 3


def test_several_endpoints_are_driven_at_once(tmp_path, write_passages):
    passages = write_passages(make_passages(12))
    with (
        LoopbackLLM(kind="tgi", max_concurrent_requests=2) as a,
        LoopbackLLM(kind="tgi", max_concurrent_requests=2) as b,
    ):
        a.state.delay = b.state.delay = 0.02
        result = generate(_config(passages, tmp_path / "out", [a.url, b.url], languages="sw,de"))
        assert a.state.answered > 5 and b.state.answered > 5
        assert a.state.answered + b.state.answered == 12 + 24
    assert len(result.manifest["endpoints"]) == 2 and result.manifest["records"]["accepted"] == 24


def test_unparseable_summary_rejects_every_language_without_query_requests(tmp_path, write_passages, loopback):
    passages = write_passages(make_passages(2))
    # max_new_tokens=1 for the summary step: "Topic" is cut mid-sentence... still text; force an empty one instead
    strategy = get_prompt_strategy("sap", "cross-lingual")
    assert strategy.parse_summary("   ").status != "ok"
    loopback_empty = loopback
    loopback_empty.state.faults = []

    import hfswim.testing.loopback as lb

    original = lb.fake_completion

    def empty_summary(prompt, max_new_tokens, stop):
        if prompt.rstrip().endswith("Summary:"):
            return "\n\n", ["\n\n"]
        return original(prompt, max_new_tokens, stop)

    lb.fake_completion = empty_summary
    try:
        result = generate(_config(passages, tmp_path / "out", [loopback.url]))
    finally:
        lb.fake_completion = original
    rows = _rows(result)
    assert len(rows) == 4 and all(r["parse_status"].startswith("summary_") and r["query"] is None for r in rows)
    # The summaries only; an empty answer is asked again twice (empty_retries) before it is stored as rejected.
    assert loopback.state.answered == 2 * 3 and result.manifest["retries_by_kind"] == {"empty_answer": 4}
    assert result.manifest["records"]["rejected"] == 4 and result.accepted == 0
