"""End to end: mteb.evaluate through hfswim's faiss backend, result files, and the three CLI commands."""

from __future__ import annotations

import json

import pytest

from hfswim.cli import main
from hfswim.evaluation import EvaluateConfig, evaluate, to_model_index
from hfswim.evaluation.search import Searcher, build_index


@pytest.mark.slow
def test_evaluate_local_folder_with_tiny_model_writes_all_outputs(beir_multi, tiny_st_model, tmp_path):
    run = evaluate(EvaluateConfig(model=str(tiny_st_model), tasks=f"local:{beir_multi}", output=tmp_path / "out"))
    assert {(r.task, r.subset) for r in run.rows} == {("LocalRetrieval-multi", "en"), ("LocalRetrieval-multi", "de-en")}
    for row in run.rows:
        assert row.main_metric == "ndcg_at_10" and 0.0 <= row.main_score <= 1.0
        assert row.main_score == row.scores["ndcg_at_10"]
    result_files = list((tmp_path / "out" / "results").rglob("LocalRetrieval-multi.json"))
    assert len(result_files) == 1
    mteb_json = json.loads(result_files[0].read_text())
    assert {s["hf_subset"] for s in mteb_json["scores"]["test"]} == {"en", "de-en"}
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "| LocalRetrieval-multi | test | de-en | ndcg_at_10 |" in summary
    model_index = json.loads((tmp_path / "out" / "model-index.json").read_text())
    assert model_index[0]["name"] == run.model_name == f"local/{tiny_st_model.parent.name}"
    metrics = [r["metrics"][0] for r in model_index[0]["results"]]
    assert {m["type"] for m in metrics} == {"ndcg_at_10"}
    # The training stage can build the card's model-index from the output folder alone.
    assert to_model_index(tmp_path / "out", "me/model")[0]["results"] == model_index[0]["results"]


@pytest.mark.slow
@pytest.mark.parametrize("index", ["flat", "hnsw"])
def test_minilm_finds_the_obvious_passages(beir_folder, minilm_path, tmp_path, index):
    run = evaluate(EvaluateConfig(model=str(minilm_path), tasks=f"local:{beir_folder}", output=tmp_path, index=index))
    (row,) = run.rows
    assert row.scores["ndcg_at_10"] == pytest.approx(1.0)  # each English query names its passage's topic
    assert row.scores["mrr_at_10"] == pytest.approx(1.0)


@pytest.mark.slow
def test_bm25_baseline_and_xor_and_xtreme_up_tasks(beir_folder, xor_fixture, xtreme_up_fixture, minilm_path, tmp_path):
    run = evaluate(EvaluateConfig(model="bm25", tasks=f"local:{beir_folder}", output=tmp_path / "bm25"))
    assert run.model_name == "mteb/baseline-bm25s" and 0.5 < run.rows[0].main_score <= 1.0
    run = evaluate(
        EvaluateConfig(
            model=str(minilm_path),
            tasks=f"xor-retrieve:{xor_fixture},xtreme-up:{xtreme_up_fixture}",
            output=tmp_path / "x",
        )
    )
    by_task = {(r.task, r.subset): r for r in run.rows}
    xor = by_task["XORRetrieve", "ja"]
    # 6 short passages fit in 2000 tokens, so every question whose answer is in the pool is a hit.
    assert xor.main_metric == "recall_at_5kt" and xor.main_score == pytest.approx(1.0)
    assert by_task["XORRetrieve", "ru"].scores["recall_at_2kt"] == pytest.approx(0.5)  # Tolstoy is in no passage
    assert by_task["XtremeUpCrossLangRetrieval", "hi"].main_metric == "mrr_at_10"
    assert 0.0 < by_task["XtremeUpCrossLangRetrieval", "hi"].main_score <= 1.0


@pytest.mark.slow
def test_index_and_search_cli(beir_folder, minilm_path, tmp_path, capsys):
    out = tmp_path / "idx"
    assert main(["index", str(beir_folder / "corpus.jsonl"), "--model", str(minilm_path), "--output", str(out)]) == 0
    assert "indexed 6 passages (384-d, flat)" in capsys.readouterr().out
    assert main(["search", str(out), "Who discovered penicillin?", "--k", "2", "--json"]) == 0
    hits = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [h["rank"] for h in hits] == [1, 2] and hits[0]["passage_id"] == "penicillin"
    assert hits[0]["score"] > hits[1]["score"]


@pytest.mark.slow
def test_searcher_matches_a_saved_hnsw_index(beir_folder, minilm_path, tmp_path):
    build_index(beir_folder / "corpus.jsonl", minilm_path, tmp_path / "idx", kind="hnsw")
    hits = Searcher.load(tmp_path / "idx").search("tallest mountain of Japan", k=3)
    assert hits[0].passage_id == "fuji" and hits[0].title == "Mount Fuji"
    narrow = Searcher.load(tmp_path / "idx", ef_search=8)
    assert narrow.index.index.index.hnsw.efSearch == 8
    assert narrow.search("tallest mountain of Japan", k=1)[0].passage_id == "fuji"


def test_cli_errors_are_one_line(capsys, tmp_path):
    assert main(["evaluate", "bm25", "--tasks", "NotATask"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("hfswim: error: unknown task 'NotATask'") and "\n" not in err
    assert main(["evaluate", "bm25", "--tasks", "local:x", "--index-kind", "annoy"]) == 2
    assert "--index-kind: Input should be 'flat', 'hnsw' or 'ivfpq' (got 'annoy')" in capsys.readouterr().err
    assert main(["search", str(tmp_path), "query"]) == 2
    assert "not an hfswim index folder" in capsys.readouterr().err


@pytest.mark.slow
def test_embedding_cache_gives_the_same_scores(beir_folder, tiny_st_model, tmp_path):
    def run_once(out: str):
        config = EvaluateConfig(
            model=str(tiny_st_model),
            tasks=f"local:{beir_folder}",
            output=tmp_path / out,
            embedding_cache=tmp_path / "cache",
        )
        return evaluate(config).rows[0].scores["ndcg_at_10"]

    first = run_once("a")
    assert any((tmp_path / "cache").iterdir())
    assert run_once("b") == pytest.approx(first)
