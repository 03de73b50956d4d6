"""`hfswim train` and `hfswim push-model`.

Only typer and the standard library are imported at module level; torch and sentence-transformers
load when a command runs, so `hfswim --help` stays fast.
"""

from __future__ import annotations

import os
from typing import Any

import typer

from hfswim.options import stage_command
from hfswim.training.config import TrainConfig

TRAIN_HELP = """Fine-tune a multilingual retriever (or, with --reranker, a cross-encoder) on SWIM-IR data.

DATASET is a Hub dataset id with one config per language (e.g. nthakur/swim-ir-cross-lingual), a local folder written by `hfswim build-dataset`, or Parquet/JSONL from `hfswim generate` / `hfswim filter` (rejected rows are dropped). Columns used: query, title + text, and the query language.

Writes to --output: the final model (load it with SentenceTransformer(OUTPUT)), README.md (model card with model-index), hfswim_train_config.json, hfswim_training.json (losses, held-out scores before and after), and checkpoints/ (for --resume).

Training is sentence-transformers' SentenceTransformerTrainer: MultipleNegativesRankingLoss with in-batch negatives (SWIM-X), --cached for GradCache at SWIM-X's batch 4096 on small memory, no duplicate text in a batch, bf16/fp16 automatically on GPU. Multi-GPU: `accelerate launch -m hfswim.training ...` or `torchrun --nproc_per_node N -m hfswim.training ...` with the same arguments.

Examples:

  hfswim train runs/filtered --output runs/usem3-sw --max-steps 500

  hfswim train nthakur/swim-ir-cross-lingual --languages sw,yo,te --base-model intfloat/multilingual-e5-base --query-prompt "query: " --passage-prompt "passage: " --batch-size 4096 --cached --mini-batch-size 64 --batching single-language --sampling uniform --learning-rate 1e-5

  hfswim train runs/filtered --output runs/usem3-hi --extend-vocabulary auto   (usem3: pieces for Hindi, Greek, ...)

  hfswim train runs/filtered --reranker --negatives bm25 --output runs/reranker   (InPars)

  accelerate launch --num_processes 4 -m hfswim.training runs/swim-ir --output runs/x --batch-size 1024
"""


def _train(config: TrainConfig, quiet: bool = False, verbose: bool = False) -> None:
    """Fine-tune a multilingual retriever or reranker on SWIM-IR data (sentence-transformers)."""
    from hfswim.training import train as run_training

    if quiet:
        import transformers

        os.environ["HFSWIM_PROGRESS"] = "0"  # hfswim's bars too (the training bar among them)
        transformers.logging.set_verbosity_error()
        transformers.utils.logging.disable_progress_bar()
    result = run_training(config)
    if int(os.environ.get("RANK", "0")) != 0:
        return  # under torchrun / accelerate launch, one process reports
    typer.echo(
        f"Trained {result.global_step} steps on {result.num_train_pairs} pairs ({', '.join(result.languages)}); "
        f"model in {result.output_dir}"
    )
    extension = getattr(result, "vocabulary_extension", None)
    if extension:
        added = ", ".join(f"{n} {script}" for script, n in extension["scripts"].items())
        typer.echo(f"  vocabulary: {added} pieces added after the base's {extension['original_vocab_size']}")
    for metric in ("ndcg@10", "mrr@10"):
        if metric in result.eval_after:
            before = result.eval_before.get(metric)
            shown = f"{before:.4f} -> " if before is not None else ""
            typer.echo(f"  held-out {metric}: {shown}{result.eval_after[metric]:.4f}")


train = stage_command(TrainConfig, _train, arguments=("dataset",), section="train", help=TRAIN_HELP)


def _push_model(config: Any) -> None:
    """Push a trained model folder and its card to the Hugging Face Hub.

    The card (README.md) gets the repo id in its usage snippet and, with --eval-results, the scores as model-index. Checkpoints are not pushed. Only changed files are uploaded: pushing the same folder twice makes no commit (the push-dataset rules).

    Example:

      hfswim evaluate runs/usem3-sw --tasks local:runs/swim-ir -o runs/eval

      hfswim push-model me/usem3-swim-sw runs/usem3-sw --eval-results runs/eval/scores.json
    """
    from hfswim.errors import ConfigError
    from hfswim.training.model_card import load_eval_results
    from hfswim.training.push import push_model_folder

    if config.folder is None:
        raise ConfigError("push-model: give FOLDER, the model folder written by `hfswim train`.")
    result = push_model_folder(
        config.folder,
        config.repo_id,
        eval_results=load_eval_results(config.eval_results) if config.eval_results else None,
        private=config.private,
        revision=config.revision,
        commit_message=config.commit_message,
        token=config.token,
    )
    if result.changed:
        typer.echo(f"Pushed {len(result.uploaded)} file(s) to {result.repo_url} ({result.commit_url})")
    else:
        typer.echo(f"{result.repo_url} is up to date: nothing to push.")


def __getattr__(name: str) -> Any:
    """``push_model`` is built on first use: its model (hfswim.hub.config) imports pyarrow, which `hfswim train
    --help` need not wait for."""
    if name == "push_model":
        from hfswim.hub.config import ModelPushConfig

        command = stage_command(ModelPushConfig, _push_model, arguments=("repo_id", "folder"))
        globals()["push_model"] = command
        return command
    raise AttributeError(name)
