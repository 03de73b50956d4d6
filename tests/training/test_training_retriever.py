"""Retriever training end to end on CPU: the loss falls, retrieval improves, batches, resume, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hfswim.errors import ConfigError, InputError
from hfswim.training import TrainConfig, train
from hfswim.training.retriever import build_trainer


def config(tmp_path: Path, data: Path, model: Path, **overrides) -> TrainConfig:
    values = dict(
        dataset=str(data), output_dir=str(tmp_path / "out"), base_model=str(model), batch_size=32,
        max_steps=40, learning_rate=5e-3, eval_split="0.15", logging_steps=5,
    )  # fmt: skip
    values.update(overrides)
    return TrainConfig(**values)


def test_training_lowers_loss_and_improves_heldout_mrr(tmp_path, tiny_st_model, synthetic_parquet):
    result = train(config(tmp_path, synthetic_parquet, tiny_st_model))
    assert result.global_step == 40 and result.base_model == str(tiny_st_model)
    assert result.train_loss[-1] < 0.5 * result.train_loss[0]
    # Held-out passages were never trained on: the gain is generalisation, not memorisation.
    assert result.eval_after["mrr@10"] > result.eval_before["mrr@10"] + 0.3
    out = Path(result.output_dir)
    assert (out / "model.safetensors").is_file() and (out / "README.md").is_file()
    saved = json.loads((out / "hfswim_training.json").read_text())
    assert saved["eval_per_language"].keys() == {"de", "sw"}

    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(out))
    assert (model[0].query_length, model[0].document_length) == (64, 256)  # the defaults, saved with the model


def batch_languages(trainer, pairs_by_anchor: dict[str, str]) -> list[set[str]]:
    loader = trainer.get_train_dataloader()
    sampler = loader.batch_sampler
    sampler = getattr(sampler, "batch_sampler", sampler)  # accelerate may wrap it
    concat = trainer.train_dataset
    from torch.utils.data import ConcatDataset

    rows = ConcatDataset(list(concat.values())) if hasattr(concat, "values") else concat
    return [{pairs_by_anchor[rows[i]["anchor"]] for i in batch} for batch in sampler]


@pytest.mark.parametrize("sampling", ["uniform", "proportional"])
def test_single_language_batching_yields_single_language_batches(synthetic, tmp_path, tiny_st_model, sampling):
    rows = synthetic.rows(150, langs=("sw", "de", "te"))
    data = synthetic.write_parquet(rows, tmp_path / "d.parquet")
    lang_of = {r["query"]: r["query_language"] for r in rows}
    cfg = config(tmp_path, data, tiny_st_model, batching="single-language", sampling=sampling, batch_size=8,
                 eval_split="0")  # fmt: skip
    _, trainer, _ = build_trainer(cfg)
    batches = batch_languages(trainer, lang_of)
    assert len(batches) >= 15
    assert all(len(langs) == 1 for langs in batches)
    assert {lang for langs in batches for lang in langs} == {"sw", "de", "te"}

    # The same data with mixed batching does mix languages: the check above can fail.
    _, trainer, _ = build_trainer(cfg.model_copy(update={"batching": "mixed"}))
    assert any(len(langs) > 1 for langs in batch_languages(trainer, lang_of))


def test_batches_hold_no_duplicate_texts(synthetic, tmp_path, tiny_st_model):
    rows = synthetic.rows(40)
    rows += [dict(r, query=r["query"] + " again") for r in rows]  # every passage twice
    data = synthetic.write_parquet(rows, tmp_path / "d.parquet")
    _, trainer, _ = build_trainer(config(tmp_path, data, tiny_st_model, batch_size=16, eval_split="0"))
    loader = trainer.get_train_dataloader()
    for batch in loader.batch_sampler:
        positives = [trainer.train_dataset[i]["positive"] for i in batch]
        assert len(positives) == len(set(positives))


def test_query_and_passage_max_lengths_and_prompts_reach_the_collator(synthetic, tmp_path, tiny_st_model):
    long_rows = [dict(r, query=r["query"] + " river" * 100, text=r["text"] + " city" * 300) for r in synthetic.rows(16)]
    data = synthetic.write_parquet(long_rows, tmp_path / "d.parquet")
    cfg = config(tmp_path, data, tiny_st_model, query_max_length=12, passage_max_length=40, eval_split="0",
                 query_prompt="query: ", passage_prompt="passage: ", batch_size=8)  # fmt: skip
    model, trainer, _ = build_trainer(cfg)
    batch = next(iter(trainer.get_train_dataloader()))
    assert batch["anchor_input_ids"].shape[1] == 12
    assert batch["positive_input_ids"].shape[1] == 40
    assert model.prompts == {"query": "query: ", "document": "passage: "}
    assert trainer.args.prompts == {"anchor": "query: ", "positive": "passage: "}


def test_resume_continues_from_the_last_checkpoint(tmp_path, tiny_st_model, synthetic_parquet):
    first = train(config(tmp_path, synthetic_parquet, tiny_st_model, max_steps=6, eval_steps=3, eval_split="0"))
    checkpoints = Path(first.output_dir) / "checkpoints"
    assert sorted(p.name for p in checkpoints.iterdir()) == ["checkpoint-3", "checkpoint-6"]
    resumed = train(config(tmp_path, synthetic_parquet, tiny_st_model, max_steps=9, eval_steps=3, eval_split="0",
                           resume="last"))  # fmt: skip
    assert resumed.global_step == 9
    # The log history of steps 1-6 came back with the checkpoint: training continued, it did not restart.
    state = json.loads((checkpoints / "checkpoint-9" / "trainer_state.json").read_text())
    assert [log["step"] for log in state["log_history"] if "loss" in log][:2] == [1, 5]


def test_resume_without_checkpoint_is_an_error(tmp_path, tiny_st_model, synthetic_parquet):
    with pytest.raises(ConfigError, match="no checkpoint-\\* folder"):
        train(config(tmp_path, synthetic_parquet, tiny_st_model, resume="last"))


def test_nonexistent_base_model_path_is_one_clear_error(tmp_path, synthetic_parquet):
    with pytest.raises(InputError, match=r"base model .*/no/such/model: no such folder"):
        train(config(tmp_path, synthetic_parquet, tmp_path / "no" / "such" / "model"))


def test_cached_loss_with_mined_hard_negatives(tmp_path, tiny_st_model, synthetic_parquet):
    result = train(config(tmp_path, synthetic_parquet, tiny_st_model, cached=True, mini_batch_size=4,
                          hard_negatives=2, max_steps=10, eval_split="0"))  # fmt: skip
    assert result.global_step == 10 and result.train_loss[-1] < result.train_loss[0]
    card = (Path(result.output_dir) / "README.md").read_text()
    assert "CachedMultipleNegativesRankingLoss" in card and "2 mined hard negatives" in card


def test_distillation_from_a_cross_encoder_teacher(tmp_path, tiny_st_model, synthetic_parquet):
    from sentence_transformers import CrossEncoder

    teacher = tmp_path / "teacher"
    CrossEncoder(str(Path(tiny_st_model).parent / "hf"), num_labels=1).save_pretrained(str(teacher))
    cfg = config(tmp_path, synthetic_parquet, tiny_st_model, distill=str(teacher), max_steps=5, eval_split="0")
    _, trainer, data = build_trainer(cfg)
    assert {"label", "negative_1"} <= set(data.train.column_names)
    trainer.train()
    assert trainer.state.global_step == 5


def test_plain_transformers_encoder_folder_is_mean_pooled(tmp_path, tiny_st_model, synthetic_parquet):
    from sentence_transformers import SentenceTransformer

    plain = Path(tiny_st_model).parent / "hf"  # a BertModel + tokenizer, no modules.json
    result = train(config(tmp_path, synthetic_parquet, plain, max_steps=5, eval_split="0", gradient_checkpointing=True))
    assert result.train_loss[-1] < result.train_loss[0]
    model = SentenceTransformer(result.output_dir)
    assert type(model[1]).__name__ == "Pooling" and model[1].pooling_mode == "mean"


@pytest.mark.slow
def test_minilm_few_steps_loss_goes_down(tmp_path, minilm_path, synthetic_parquet):
    result = train(config(tmp_path, synthetic_parquet, minilm_path, batch_size=16, max_steps=12, learning_rate=5e-5,
                          logging_steps=2, eval_split="0", passage_max_length=32, query_max_length=16))  # fmt: skip
    assert result.train_loss[-1] < result.train_loss[0]


@pytest.mark.slow
def test_torchrun_two_processes_on_cpu(tmp_path, tiny_st_model, synthetic_parquet):
    """The documented multi-GPU entry point, run with 2 CPU processes (gloo): DDP + cross-device negatives."""
    import os
    import subprocess
    import sys

    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "-m", "hfswim.training",
           str(synthetic_parquet), "--output", str(out), "--base-model", str(tiny_st_model), "--max-steps", "4",
           "--batch-size", "16", "--lr", "5e-3", "--eval-split", "0", "--quiet"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("Trained 4 steps") == 1  # one report, from rank 0
    assert json.loads((out / "hfswim_training.json").read_text())["global_step"] == 4


def test_freeze_embeddings_keeps_the_token_table_and_trains_the_rest(tmp_path, tiny_st_model, synthetic_parquet):
    import torch

    model, trainer, _ = build_trainer(
        config(tmp_path, synthetic_parquet, tiny_st_model, freeze_embeddings=True, max_steps=3)
    )
    table = model[0].auto_model.get_input_embeddings().weight
    before_table = table.detach().clone()
    others = [p for p in model.parameters() if p.requires_grad]
    before_other = others[0].detach().clone()
    trainer.train()
    assert not table.requires_grad and torch.equal(table, before_table)
    assert not torch.equal(others[0], before_other)
