"""BM25 negatives (``hfswim train --negatives bm25``): real bm25s over small corpora, the margin rule, per language."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from datasets import Dataset

from hfswim.errors import InputError
from hfswim.training.bm25_negatives import bm25_tokenizer_language, mine_bm25_negatives

ROOT = Path(__file__).resolve().parents[2]

PASSAGES_EN = [
    "The Nile river flows north through Egypt and Cairo.",
    "The Congo river is the deepest river in the world.",
    "The Amazon river carries more water than any other river.",
    "Mount Everest is the highest mountain on Earth.",
    "Kenya borders Uganda, Tanzania and Ethiopia.",
    "Nairobi is the capital and largest city of Kenya.",
]
QUERIES_EN = ["which river flows through Cairo", "deepest river", "highest mountain", "capital of Kenya"]
POSITIVES_EN = [0, 1, 3, 5]

PASSAGES_DE = [
    "Der Rhein fließt durch Köln und Düsseldorf.",
    "Die Elbe fließt durch Dresden und Hamburg.",
    "Die Donau ist der zweitlängste Fluss Europas.",
    "Berlin ist die Hauptstadt Deutschlands.",
]
QUERIES_DE = ["welcher Fluss fließt durch Köln", "Hauptstadt von Deutschland"]
POSITIVES_DE = [0, 3]


def _pairs() -> Dataset:
    rows = [
        {"anchor": q, "positive": PASSAGES_EN[p], "query_language": "en"}
        for q, p in zip(QUERIES_EN, POSITIVES_EN, strict=True)
    ]
    rows += [{"anchor": f"about {p[:12]}", "positive": p, "query_language": "en"} for p in PASSAGES_EN]
    rows += [
        {"anchor": q, "positive": PASSAGES_DE[p], "query_language": "de"}
        for q, p in zip(QUERIES_DE, POSITIVES_DE, strict=True)
    ]
    rows += [{"anchor": f"über {p[:10]}", "positive": p, "query_language": "de"} for p in PASSAGES_DE]
    return Dataset.from_list(rows)


def test_negatives_are_lexical_hits_of_the_same_language_never_the_positive():
    mined = mine_bm25_negatives(
        _pairs(), num_negatives=2, relative_margin=0.0, output_format="n-tuple", fill_random=False
    )
    by_query = {row["anchor"]: row for row in mined}
    river = by_query["which river flows through Cairo"]
    assert river["positive"] == PASSAGES_EN[0]
    # BM25's best non-positive hits share "river": the Congo and Amazon passages, never a German one.
    assert {river["negative_1"], river["negative_2"]} == {PASSAGES_EN[1], PASSAGES_EN[2]}
    german = by_query["welcher Fluss fließt durch Köln"]
    assert german["query_language"] == "de"
    assert {german["negative_1"], german["negative_2"]} <= set(PASSAGES_DE) - {PASSAGES_DE[0]}
    for row in mined:
        assert row["positive"] not in (row["negative_1"], row["negative_2"])


def test_relative_margin_skips_candidates_scoring_like_the_positive():
    # A near-duplicate of the positive scores as high as the positive: a likely false negative.
    duplicate = "The Nile river flows north through Egypt to Cairo."
    rows = [{"anchor": "which river flows through Cairo", "positive": PASSAGES_EN[0], "query_language": "en"}]
    rows += [
        {"anchor": f"about {p[:12]}", "positive": p, "query_language": "en"} for p in [*PASSAGES_EN[1:], duplicate]
    ]
    pairs = Dataset.from_list(rows)
    loose = mine_bm25_negatives(pairs, num_negatives=1, relative_margin=0.0, fill_random=False)
    strict = mine_bm25_negatives(pairs, num_negatives=1, relative_margin=0.3, fill_random=False)
    assert loose[0]["negative_1"] == duplicate
    assert strict[0]["anchor"] == "which river flows through Cairo"
    assert strict[0]["negative_1"] != duplicate


def test_labeled_pairs_for_the_reranker():
    mined = mine_bm25_negatives(_pairs(), num_negatives=3, relative_margin=0.05, output_format="labeled-pair")
    assert set(mined.column_names) == {"anchor", "positive", "label", "query_language"}
    rows = [r for r in mined if r["anchor"] == "deepest river"]
    assert rows[0]["label"] == 1 and rows[0]["positive"] == PASSAGES_EN[1]
    assert all(r["label"] == 0 and r["positive"] != PASSAGES_EN[1] for r in rows[1:]) and len(rows) >= 2


def test_tokenizer_language_is_monolingual_only_when_the_passages_are_in_the_query_language():
    assert bm25_tokenizer_language("en", PASSAGES_EN) == "eng"  # English stemmer + stopwords
    assert bm25_tokenizer_language("de", PASSAGES_DE) == "deu"
    assert bm25_tokenizer_language("de", PASSAGES_EN) is None  # cross-lingual: plain tokens, as mteb's BM25


def test_queries_with_too_few_hits_are_filled_with_random_passages_or_dropped():
    rows = [{"anchor": "deepest river", "positive": PASSAGES_EN[1], "query_language": "en"}]
    rows += [
        {"anchor": f"about {p[:12]}", "positive": p, "query_language": "en"} for p in PASSAGES_EN if p != PASSAGES_EN[1]
    ]
    pairs = Dataset.from_list(rows)
    # "deepest river" hits 2 other passages ("river"); 4 negatives need 2 random ones, never the positive.
    filled = {r["anchor"]: r for r in mine_bm25_negatives(pairs, num_negatives=4, relative_margin=0.0)}
    negatives = [filled["deepest river"][f"negative_{i}"] for i in range(1, 5)]
    assert set(negatives[:2]) == {PASSAGES_EN[0], PASSAGES_EN[2]} and PASSAGES_EN[1] not in negatives
    assert len(set(negatives)) == 4
    with pytest.raises(InputError, match="kept no query"):  # no query has 4 BM25 hits: all dropped
        mine_bm25_negatives(pairs, num_negatives=4, relative_margin=0.0, fill_random=False)


def test_no_query_with_a_negative_is_one_clear_error():
    pairs = Dataset.from_list(
        [
            {"anchor": "zzz", "positive": "aaa bbb", "query_language": "en"},
            {"anchor": "yyy", "positive": "ccc", "query_language": "en"},
        ]
    )
    with pytest.raises(InputError, match="kept no query"):
        mine_bm25_negatives(pairs, num_negatives=1, fill_random=False)


def _hfswim(args: list[str], cwd) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.pop("HFSWIM_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "hfswim", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_negatives_flag_bad_values_are_one_line_errors(tmp_path):
    cases = [
        (["--negatives", "sparse"], "negatives: Input should be 'dense' or 'bm25'"),
        (["--negatives", "bm25", "--mining-model", "x"], "--mining-model picks a bi-encoder for dense negatives"),
    ]
    for extra, expected in cases:
        proc = _hfswim(["train", str(tmp_path), "--reranker", "-o", str(tmp_path / "out"), *extra], tmp_path)
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("hfswim: error:") and expected in lines[0], proc.stderr


def test_packaged_inpars_config_runs_by_name(tmp_path):
    proc = _hfswim(["run", "inpars", "--print-config"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "strategy: inpars-vanilla" in proc.stdout and "negatives: bm25" in proc.stdout


@pytest.mark.slow
def test_reranker_trains_on_bm25_negatives_and_is_evaluated_on_bm25_candidates(
    tmp_path, tiny_st_model, synthetic_parquet
):
    from hfswim.training import TrainConfig, train

    plain = Path(tiny_st_model).parent / "hf"
    result = train(TrainConfig(dataset=str(synthetic_parquet), output_dir=str(tmp_path / "rr"), base_model=str(plain),
                               reranker=True, negatives="bm25", batch_size=16, max_steps=12, learning_rate=5e-3,
                               eval_split="0.1", logging_steps=4))  # fmt: skip
    assert result.global_step == 12 and result.train_loss[-1] < result.train_loss[0]
    assert result.num_train_pairs >= 4 * 300  # each query: its positive + 3 BM25 (or random-filled) negatives
    assert result.eval_after["ndcg@10"] > 0  # held-out queries re-ranked among BM25's candidates
    saved = json.loads((tmp_path / "rr" / "hfswim_train_config.json").read_text())
    assert saved["negatives"] == "bm25"
