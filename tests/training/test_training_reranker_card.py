"""Reranker training, the model card (model-index), push-model staging, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import pytest
from huggingface_hub import ModelCard

from hfswim.cli import main
from hfswim.errors import InputError
from hfswim.training import TrainConfig, train
from hfswim.training.model_card import TEMPLATE_PATH, eval_results_from_records, update_model_card
from hfswim.training.push import push_model_folder


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_st_model, synthetic_parquet) -> Path:
    """A retriever trained for a few steps, shared by the card and push tests."""
    out = tmp_path_factory.mktemp("trained") / "model"
    train(TrainConfig(dataset=str(synthetic_parquet), output_dir=str(out), base_model=str(tiny_st_model),
                      max_steps=6, eval_steps=3, learning_rate=5e-3, eval_split="0.1"))  # fmt: skip
    return out


def test_reranker_trains_on_positives_and_mined_negatives(tmp_path, tiny_st_model, synthetic_parquet):
    plain = Path(tiny_st_model).parent / "hf"
    result = train(TrainConfig(dataset=str(synthetic_parquet), output_dir=str(tmp_path / "rr"), base_model=str(plain),
                               mining_model=str(tiny_st_model), reranker=True, batch_size=16, max_steps=24,
                               learning_rate=5e-3, eval_split="0.1", logging_steps=4))  # fmt: skip
    assert result.global_step == 24 and result.train_loss[-1] < result.train_loss[0]
    assert result.num_train_pairs > 360  # positives plus mined negatives
    from sentence_transformers import CrossEncoder

    scores = CrossEncoder(result.output_dir).predict([("what river where city", "the river in the city")])
    assert scores.shape == (1,)
    card = (Path(result.output_dir) / "README.md").read_text()
    assert "cross-encoder reranker" in card and "BinaryCrossEntropyLoss" in card


def test_card_has_model_index_and_the_required_sections(trained):
    card = ModelCard.load(trained / "README.md")
    results = card.data.eval_results
    assert {(r.dataset_config, r.metric_type) for r in results} >= {("sw", "ndcg_at_10"), ("de", "mrr_at_10")}
    text = card.text
    for needle in ("Base model:", "Dataset:", "MultipleNegativesRankingLoss", "Batch size", "| Steps | 6",
                   "encode_query", "thakur-etal-2024-leveraging", "hfswim train"):  # fmt: skip
        assert needle in text, needle
    assert "# st retriever fine-tuned on filtered.parquet with hfswim" in text
    assert card.data.tags and "hfswim" in card.data.tags and card.data.language == ["de", "sw"]


def test_eval_results_from_hfswim_evaluate_rows_and_plain_records():
    rows = [
        {"task": "XQuADRetrieval", "split": "test", "subset": "de", "scores": {"ndcg_at_10": 0.5, "hits": 3},
         "dataset": "google/xquad", "main_metric": "ndcg_at_10", "main_score": 0.5},
        {"task": "T", "dataset": "d", "lang": "sw", "metric": "mrr_at_10", "value": 0.25},
    ]  # fmt: skip
    results = eval_results_from_records({"rows": rows})
    assert [(r.task_name, r.dataset_config, r.metric_type, r.metric_value) for r in results] == [
        ("XQuADRetrieval", "de", "ndcg_at_10", 0.5),
        ("T", "sw", "mrr_at_10", 0.25),
    ]
    with pytest.raises(InputError, match="record 0: needs 'task' and 'dataset'"):
        eval_results_from_records([{"ndcg_at_10": 0.1}])
    with pytest.raises(InputError, match="metric 'ndcg_at_10' is not a number"):
        eval_results_from_records([{"task": "t", "dataset": "d", "ndcg_at_10": "high"}])


def test_push_updates_card_and_leaves_checkpoints_local(trained, tmp_path):
    import shutil

    folder = tmp_path / "model"
    shutil.copytree(trained, folder)
    evals = eval_results_from_records([{"task": "XQuADRetrieval", "dataset": "xquad", "lang": "de", "ndcg_at_10": 0.7}])

    class RecordingApi:  # the Hub boundary: records what would be sent
        sent: ClassVar[list[list[str]]] = []

        def create_repo(self, repo_id, **kw):
            return f"https://huggingface.co/{repo_id}"

        def list_repo_tree(self, repo_id, **kw):
            return []

        def upload_folder(self, **kw):
            self.sent.append(kw["allow_patterns"])

    result = push_model_folder(folder, "me/tiny-swim", eval_results=evals, api=RecordingApi(), token="hf_x")
    sent = RecordingApi.sent[0]
    assert result.changed and "README.md" in sent and "model.safetensors" in sent
    assert not any(p.startswith("checkpoints/") for p in sent)
    card = ModelCard.load(folder / "README.md")
    assert 'SentenceTransformer("me/tiny-swim")' in card.text
    assert ("XQuADRetrieval", 0.7) in {(r.task_name, r.metric_value) for r in card.data.eval_results}
    assert any(r.task_name == "held-out synthetic retrieval" for r in card.data.eval_results)
    assert "| XQuADRetrieval | xquad | de | ndcg_at_10 | 0.700 |" in card.text  # one scale: 0-1, 3 decimals
    # Updating again with the same result replaces it instead of duplicating it.
    update_model_card(folder / "README.md", "me/tiny-swim", evals)
    assert sum(r.task_name == "XQuADRetrieval" for r in ModelCard.load(folder / "README.md").data.eval_results) == 1


def test_model_cards_folder_links_the_packaged_template():
    documented = Path(__file__).parents[2] / "model_cards" / "hfswim_model_card.md.jinja"
    assert documented.read_text(encoding="utf-8") == TEMPLATE_PATH.read_text(encoding="utf-8")


def test_cli_train_and_one_line_errors(tmp_path, tiny_st_model, synthetic_parquet, synthetic, capsys):
    out = tmp_path / "cli-model"
    code = main(["train", str(synthetic_parquet), "--output", str(out), "--base-model", str(tiny_st_model),
                 "--max-steps", "3", "--batch-size", "16", "--eval-split", "0.1", "--quiet"])  # fmt: skip
    assert code == 0 and (out / "model.safetensors").is_file()
    assert "Trained 3 steps" in capsys.readouterr().out

    bad = synthetic.write_parquet([{"question": "q", "text": "t"}], tmp_path / "bad.parquet")
    for args, message in [
        ([str(bad)], "missing column 'query'"),
        ([str(synthetic_parquet), "--languages", "yo"], "no training pairs for language(s) yo"),
        ([str(synthetic_parquet), "--base-model", str(tmp_path / "nope")], "no such folder"),
        ([str(synthetic_parquet), "--batching", "sometimes"], "batching: Input should be 'mixed' or 'single-language'"),
    ]:
        assert main(["train", *args, "--output", str(tmp_path / "x")]) == 2
        err = capsys.readouterr().err.strip().splitlines()[-1]  # progress bars may precede it
        assert err.startswith("hfswim: error: ") and message in err, err
    assert main(["push-model", "me/x", "--folder", str(tmp_path / "nope")]) == 2
    assert "not a model folder" in capsys.readouterr().err


def test_module_entry_point_for_multi_gpu_launchers(tmp_path, tiny_st_model, synthetic_parquet):
    from hfswim.training.__main__ import main as module_main

    out = tmp_path / "launched"
    code = module_main([str(synthetic_parquet), "--output", str(out), "--base-model", str(tiny_st_model),
                        "--max-steps", "2", "--eval-split", "0", "--quiet"])  # fmt: skip
    assert code == 0 and json.loads((out / "hfswim_training.json").read_text())["global_step"] == 2


def test_card_metadata_for_hub_base_model_and_dataset(tiny_st_model):
    from sentence_transformers import SentenceTransformer

    from hfswim.training.model_card import TrainingSummary, render_model_card

    summary = TrainingSummary(
        base_model="sentence-transformers/all-MiniLM-L6-v2", dataset="nthakur/swim-ir-cross-lingual",
        dataset_configs=["sw", "yo"], languages=["sw", "yo"], loss="CachedMultipleNegativesRankingLoss",
        batch_size=4096, steps=1000, epochs=1, learning_rate=1e-3, num_train_pairs=4_096_000, cached=True,
    )  # fmt: skip
    card = render_model_card(SentenceTransformer(str(tiny_st_model)), summary)
    assert card.data.base_model == "sentence-transformers/all-MiniLM-L6-v2"
    assert card.data.datasets == ["nthakur/swim-ir-cross-lingual"]
    assert "**Configs:** sw, yo" in card.text and "(GradCache, mini-batch 32)" in card.text
    assert "https://huggingface.co/datasets/nthakur/swim-ir-cross-lingual" in card.text
    assert card.data.eval_results is None  # nothing measured, nothing claimed


@pytest.mark.parametrize("pushed_to", ["me/swim-ir-sw", None])
def test_card_datasets_metadata_for_a_local_dataset_folder(tmp_path, tiny_st_model, pushed_to):
    """A local folder is named by the repo `hfswim push-dataset` recorded in its hfswim.json; never pushed: omitted."""
    from sentence_transformers import SentenceTransformer

    from hfswim.training.model_card import TrainingSummary, render_model_card

    folder = tmp_path / "dataset"
    folder.mkdir()
    state = {"pretty_name": "SWIM-IR (hfswim, sw)", **({"repo_id": pushed_to} if pushed_to else {})}
    (folder / "hfswim.json").write_text(json.dumps(state), encoding="utf-8")
    summary = TrainingSummary(base_model="base", dataset=str(folder), dataset_configs=[], languages=["sw"],
                              loss="MultipleNegativesRankingLoss", batch_size=8, steps=3, epochs=1,
                              learning_rate=2e-5, num_train_pairs=16)  # fmt: skip
    card = render_model_card(SentenceTransformer(str(tiny_st_model)), summary)
    text = str(card)
    assert str(tmp_path) not in text  # no machine path in anything pushed
    if pushed_to:
        assert card.data.datasets == [pushed_to]
        assert f"https://huggingface.co/datasets/{pushed_to}" in text and f"fine-tuned on {pushed_to}" in text
    else:
        assert not card.data.datasets and "datasets:" not in text.split("---")[1]
        assert "fine-tuned on SWIM-IR (hfswim, sw)" in text
