"""The upr filter (LLM query-likelihood): its decisions, and the real path through the embedded server's /v1/score."""

from __future__ import annotations

import httpx
import pytest

from hfswim.filters.upr import UprFilter
from tests.filters.conftest import PASSAGES


class _OverlapUpr(UprFilter):
    """The decision logic under a transparent likelihood: shared words with the passage (the LLM path is tested
    below against a real server)."""

    def score(self, passage_id: str, queries: list[str]) -> list[float]:
        words = set(self.passages[passage_id]["text"].lower().split())
        return [len(words & set(q.lower().split())) / max(1, len(q.split())) for q in queries]


def test_upr_keeps_a_query_only_when_its_source_wins_and_records_hard_negatives(row, minilm_path):
    f = _OverlapUpr(str(minilm_path), k=2)
    f.build_index(list(PASSAGES), list(PASSAGES.values()))
    rows = [
        row(PASSAGES["p-tokyo"], lang="en", passage_id="p-tokyo", record_id="own"),
        row(PASSAGES["p-nile"], lang="en", passage_id="p-rhine", record_id="other-passage"),
        row("Where is it?", lang="en", passage_id="p-unknown", record_id="orphan"),
    ]
    result = f.apply(rows)
    assert [r["record_id"] for r in result.kept] == ["own"]
    kept = result.kept[0]
    assert kept["upr_rank"] == 1 and kept["upr_margin"] > 0
    assert kept["upr_negatives"] and "p-tokyo" not in kept["upr_negatives"]
    codes = {r["record_id"]: j.code for r, j in result.rejected}
    assert codes == {"other-passage": "source_not_best", "orphan": "passage_not_in_corpus"}
    loser = next(r for r, _ in result.rejected if r["record_id"] == "other-passage")
    assert loser["upr_rank"] > 1 and loser["upr_negatives"][0] == "p-nile"  # the source joins its candidates


@pytest.mark.slow
def test_upr_scores_through_the_embedded_server(row, minilm_path, tmp_path_factory):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from hfswim.generation.embedded import EmbeddedServer
    from hfswim.generation.scoring import score_continuations
    from tests.generation.conftest import build_tiny_causal_lm

    path = build_tiny_causal_lm(tmp_path_factory.mktemp("tiny-llm-upr"))
    server = EmbeddedServer(model=path, max_batch=2, startup_timeout=180)
    url = server.start()
    try:
        body = {"prefix": "Passage: the river flows.\nQuestion: ", "continuations": ["the river?", "sea"]}
        answer = httpx.post(f"{url}/v1/score", json=body, timeout=60).json()["scores"]
        local = score_continuations(
            AutoModelForCausalLM.from_pretrained(path).eval(), AutoTokenizer.from_pretrained(path), **body
        )
        assert [a["logprob"] for a in answer] == pytest.approx([b["logprob"] for b in local], abs=1e-3)
        assert httpx.post(f"{url}/v1/score", json={"prefix": "x"}, timeout=60).status_code == 400

        f = UprFilter(str(minilm_path), k=2, endpoint=url)
        f.build_index(list(PASSAGES), list(PASSAGES.values()))
        rows = [row(q, lang="en", passage_id=p, record_id=p) for p, q in (("p-tokyo", "Tokyo?"), ("p-nile", "Nile?"))]
        result = f.apply(rows)
        for r in result.kept:
            assert r["upr_rank"] == 1 and r["upr_margin"] >= 0
        for r, j in result.rejected:
            assert j.code == "source_not_best" and r["upr_rank"] > 1
        assert len(result.kept) + len(result.rejected) == 2
    finally:
        server.stop()


def test_quality_report_shows_round_trip_accuracy_per_language_next_to_swim_ir_human_figures():
    from hfswim.filters.base import Rejection
    from hfswim.filters.report import QualityReport

    report = QualityReport(filters=["langid", "roundtrip"], execution_order=["langid", "roundtrip"])
    rows = [
        {"record_id": f"r{i}", "query_language": lang, "query": "q"} for i, lang in enumerate(["de"] * 4 + ["hi"] * 2)
    ]
    report.count_input(rows)
    report.count_filter("langid", rows, [])
    missed = Rejection("roundtrip", "not_retrieved", "")
    report.count_filter("roundtrip", rows, [(rows[0], missed), (rows[4], missed), (rows[5], missed)])
    md = report.to_markdown()
    assert "## Relevance per language" in md and "adequate 63-85%" in md
    assert "| de | 100% of 4 | 75% of 4 |" in md and "| hi | 100% of 2 | 0% of 2 |" in md
