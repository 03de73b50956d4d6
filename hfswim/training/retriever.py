"""Fine-tune a bi-encoder retriever on SWIM-IR pairs with ``SentenceTransformerTrainer``.

Everything that runs is sentence-transformers / transformers: the trainer owns the loop,
mixed precision, gradient checkpointing, checkpoints, resume and multi-GPU (through
``accelerate launch`` or ``torchrun``); this module only wires hfswim's data and options into it.

Layout of ``output_dir`` after a run::

    output_dir/                 the final model (load with SentenceTransformer(output_dir)) + README.md card
    output_dir/checkpoints/     trainer checkpoints (checkpoint-<step>/), for --resume
    output_dir/hfswim_train_config.json, hfswim_training.json   the config and the run's results

Example (skipped as a test: it needs a filtered run on disk and minutes of training)::

    >>> from hfswim.training import TrainConfig, train_retriever   # doctest: +SKIP
    >>> result = train_retriever(TrainConfig(dataset="runs/filtered", output_dir="runs/model", max_steps=100))  # doctest: +SKIP
    >>> result.eval_after["mrr@10"] > result.eval_before["mrr@10"]  # doctest: +SKIP
    True
"""

from __future__ import annotations

import dataclasses
import json
import logging
import statistics
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hfswim.errors import ConfigError
from hfswim.io import write_json_atomic
from hfswim.noise import stderr_hidden_unless_verbose
from hfswim.records import QUERY_LANGUAGE
from hfswim.training.config import TrainConfig
from hfswim.training.data import (
    HeldOut,
    for_batching,
    heldout_by_language,
    load_mteb_heldout,
    load_pairs,
    parse_language_list,
    split_heldout,
)

if TYPE_CHECKING:
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)

CONFIG_FILE = "hfswim_train_config.json"
RESULTS_FILE = "hfswim_training.json"
CHECKPOINTS_DIR = "checkpoints"


@dataclass
class TrainResult:
    """What a run produced: where the model is, and how it did on the held-out queries."""

    output_dir: str
    config: dict[str, Any]
    num_train_pairs: int
    languages: list[str]
    global_step: int
    base_model: str = ""  # the model training started from (Hub id or path)
    train_loss: list[float] = field(default_factory=list)  # logged training losses, in order
    eval_before: dict[str, float] = field(default_factory=dict)  # mean over languages, before training
    eval_after: dict[str, float] = field(default_factory=dict)
    eval_before_per_language: dict[str, dict[str, float]] = field(default_factory=dict)
    eval_per_language: dict[str, dict[str, float]] = field(default_factory=dict)  # after training
    # --extend-vocabulary: {"requested", "scripts": {script: pieces added}, "added_pieces", "original_vocab_size"}
    vocabulary_extension: dict[str, Any] = field(default_factory=dict)

    def save(self, path: str | Path) -> None:
        write_json_atomic(path, asdict(self))


@dataclass
class PreparedData:
    train: Dataset  # (anchor, positive[, negative_1..n][, label], lang)
    heldout: list[HeldOut]
    vocabulary_extension: dict[str, Any] = field(default_factory=dict)  # see TrainResult


AUTO_HELDOUT_FRACTION = 0.02


def prepare_data(config: TrainConfig, model: SentenceTransformer | None = None) -> PreparedData:
    """Load, hold out, and (given a model) mine negatives: everything before the trainer."""
    return add_negatives(config, load_training_data(config), model)


def load_training_data(config: TrainConfig) -> PreparedData:
    """The training pairs and the held-out tasks, without negatives (no model needed)."""
    pairs = load_pairs(
        config.dataset,
        config.languages,
        config.split,
        config.max_samples_per_language,
        config.seed,
        parallel_passages=config.parallel_passages,
    )
    heldout: list[HeldOut] = []
    heldout_pairs = None
    mode, fraction = config.eval_split, config.eval_fraction
    if config.eval_dataset:
        heldout_pairs = load_pairs(config.eval_dataset, config.languages, "train" if fraction is not None or mode in (
            "auto", "heldout") else mode)  # fmt: skip
    else:
        if mode in ("auto", "heldout"):
            heldout = load_mteb_heldout(config.dataset, config.languages)
            if not heldout and mode == "heldout":
                raise ConfigError(
                    f"--eval-split heldout: {config.dataset} has no <config>-corpus/-queries/-qrels held-out configs "
                    "(build the dataset with a held-out fraction, or give --eval-split 0.02)."
                )
            fraction = None if heldout else AUTO_HELDOUT_FRACTION
        if heldout:
            heldout = [_cap_queries(task, config.eval_max_queries, config.seed) for task in heldout]
        elif fraction is None:
            heldout_pairs = load_pairs(config.dataset, config.languages, mode)
        elif fraction > 0:
            pairs, heldout_pairs = split_heldout(pairs, fraction, config.eval_max_queries, config.seed)
    if heldout_pairs is not None:
        if len(heldout_pairs) > config.eval_max_queries:
            heldout_pairs = heldout_pairs.shuffle(seed=config.seed).select(range(config.eval_max_queries))
        heldout = heldout_by_language(heldout_pairs, pairs)
    if config.inverse_cloze:  # added after the held-out draw: the held-out score stays one of generated queries
        from datasets import concatenate_datasets

        from hfswim.training.inverse_cloze import load_inverse_cloze

        cloze = load_inverse_cloze(
            config.inverse_cloze,
            pairs_per_passage=config.inverse_cloze_pairs,
            keep=config.inverse_cloze_keep,
            seed=config.seed,
        )
        if config.languages:
            wanted = set(parse_language_list(config.languages) or ())
            cloze = cloze.filter(lambda b: [lang in wanted for lang in b[QUERY_LANGUAGE]], batched=True)
        logger.info("--inverse-cloze: %d pairs from %s", len(cloze), config.inverse_cloze)
        pairs = concatenate_datasets([pairs, cloze])
    return PreparedData(pairs, heldout)


def add_negatives(config: TrainConfig, data: PreparedData, model: SentenceTransformer | None) -> PreparedData:
    """``data`` with mined hard negatives (and teacher margins) when the config asks for them and a model is given."""
    pairs = data.train
    if (config.hard_negatives or config.distill) and model is not None:
        from hfswim.training.losses import mine_negatives
        from hfswim.training.models import load_cross_encoder

        teacher = load_cross_encoder(config.distill) if config.distill else None
        if config.negatives == "bm25":
            from hfswim.training.bm25_negatives import mine_bm25_negatives
            from hfswim.training.losses import teacher_margins

            pairs = mine_bm25_negatives(
                pairs,
                num_negatives=max(1, config.hard_negatives),
                relative_margin=config.relative_margin,
                range_max=config.mining_range_max,
            )
            if teacher is not None:
                pairs = pairs.add_column("label", teacher_margins(pairs, teacher))
        else:
            pairs = mine_negatives(
                pairs,
                model,
                num_negatives=max(1, config.hard_negatives),
                relative_margin=config.relative_margin,
                range_max=config.mining_range_max,
                teacher=teacher,
            )
    return dataclasses.replace(data, train=pairs)


def _cap_queries(task: HeldOut, max_queries: int, seed: int) -> HeldOut:
    if len(task.queries) <= max_queries:
        return task
    import random

    keep = sorted(random.Random(seed).sample(sorted(task.queries), max_queries))
    return HeldOut(task.lang, {q: task.queries[q] for q in keep}, task.corpus, {q: task.relevant_docs[q] for q in keep})


def build_evaluator(heldout: list[HeldOut], batch_size: int = 64):
    """One ``InformationRetrievalEvaluator`` per language, run in sequence; main score = mean nDCG@10."""
    from sentence_transformers.evaluation import InformationRetrievalEvaluator, SequentialEvaluator

    if not heldout:
        return None
    evaluators = [
        InformationRetrievalEvaluator(
            task.queries,
            task.corpus,
            task.relevant_docs,
            name=f"heldout-{task.lang}",
            batch_size=batch_size,
            mrr_at_k=[10],
            ndcg_at_k=[10],
            accuracy_at_k=[1, 10],
            precision_recall_at_k=[10],
            map_at_k=[100],
            write_csv=False,
        )
        for task in heldout
    ]
    return SequentialEvaluator(evaluators, main_score_function=statistics.fmean)


def summarise_eval(
    results: dict[str, float], languages: list[str]
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Split the evaluator's flat ``heldout-<lang>_cosine_<metric>`` keys into per-language and mean scores."""
    per_lang: dict[str, dict[str, float]] = {}
    for key, value in results.items():
        for lang in languages:
            prefix = f"heldout-{lang}_"
            if key.split("eval_", 1)[-1].startswith(prefix):
                metric = key.split(prefix, 1)[1].split("_", 1)[-1]  # drop the score function ("cosine")
                per_lang.setdefault(lang, {})[metric] = float(value)
    metrics = sorted({m for scores in per_lang.values() for m in scores})
    mean = {m: statistics.fmean(s[m] for s in per_lang.values() if m in s) for m in metrics}
    return mean, per_lang


def common_training_kwargs(config: TrainConfig, has_evaluator: bool) -> dict[str, Any]:
    """Training arguments shared by the retriever and the reranker: precision, schedule, checkpoints, logging."""
    import torch
    from sentence_transformers.training_args import MultiDatasetBatchSamplers

    cuda = torch.cuda.is_available()
    bf16 = fp16 = False
    if config.precision == "auto":
        if cuda:
            bf16 = torch.cuda.is_bf16_supported()
            fp16 = not bf16
    elif config.precision in ("bf16", "fp16"):
        if not cuda:
            raise ConfigError(f"--precision {config.precision} needs a GPU; use --precision fp32 or auto on CPU.")
        bf16, fp16 = config.precision == "bf16", config.precision == "fp16"

    strategy = "steps" if config.eval_steps else "epoch"
    return {
        "output_dir": str(Path(config.output_dir) / CHECKPOINTS_DIR),
        "num_train_epochs": config.epochs,
        "max_steps": config.max_steps,
        "per_device_train_batch_size": config.batch_size,
        "learning_rate": config.learning_rate,
        "warmup_steps": config.warmup_ratio,  # a float < 1 is a ratio of the total steps
        "weight_decay": config.weight_decay,
        "bf16": bf16,
        "fp16": fp16,
        **checkpointing_kwargs(config.gradient_checkpointing),
        "multi_dataset_batch_sampler": (
            MultiDatasetBatchSamplers.ROUND_ROBIN
            if config.sampling == "uniform"
            else MultiDatasetBatchSamplers.PROPORTIONAL
        ),
        "eval_strategy": strategy if has_evaluator else "no",
        "eval_steps": config.eval_steps,
        "save_strategy": strategy,
        "save_steps": config.eval_steps or 500,
        "save_total_limit": config.save_total_limit,
        "logging_steps": config.logging_steps,
        "logging_first_step": True,
        "seed": config.seed,
        "report_to": config.report_to,
        "dataloader_pin_memory": cuda,
    }


def training_arguments(config: TrainConfig, columns: list[str], has_evaluator: bool):
    """``SentenceTransformerTrainingArguments`` for the config (precision, batching, schedule, prompts)."""
    from sentence_transformers import SentenceTransformerTrainingArguments
    from sentence_transformers.training_args import BatchSamplers

    text_columns = [c for c in columns if c not in ("label", QUERY_LANGUAGE)]
    # Columns are tokenised as queries or documents: query/document max lengths and prompts follow.
    router_mapping = {c: ("query" if c == "anchor" else "document") for c in text_columns}
    prompts = {}
    if config.query_prompt:
        prompts["anchor"] = config.query_prompt
    if config.passage_prompt:
        prompts.update({c: config.passage_prompt for c in text_columns if c != "anchor"})

    kwargs = {
        **common_training_kwargs(config, has_evaluator),
        "per_device_eval_batch_size": min(config.batch_size, 128),
        # No passage twice in one batch: a duplicate would be a false in-batch negative.
        "batch_sampler": BatchSamplers.NO_DUPLICATES,
        "router_mapping": router_mapping,
        "prompts": prompts or None,
        "data_seed": config.seed,
        "dataloader_drop_last": False,
        "ddp_find_unused_parameters": False,
    }
    return SentenceTransformerTrainingArguments(
        **with_training_args(config, SentenceTransformerTrainingArguments, kwargs)
    )


def with_training_args(config: TrainConfig, arguments_class: type, kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` updated with the config's ``training_args``: any field of the trainer's arguments dataclass,
    passed through as it is (no hfswim option re-declares it); an unknown name is a ConfigError."""
    import dataclasses
    import difflib

    known = {f.name for f in dataclasses.fields(arguments_class)}
    for key in config.training_args:
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ConfigError(f"training_args.{key}: not a field of {arguments_class.__name__}{hint}.")
    return {**kwargs, **config.training_args}


def checkpointing_kwargs(enabled: bool) -> dict[str, bool]:
    """Gradient checkpointing under the argument name this transformers version uses."""
    if not enabled:
        return {}
    from transformers import TrainingArguments

    fields = TrainingArguments.__dataclass_fields__
    return {"activation_checkpointing" if "activation_checkpointing" in fields else "gradient_checkpointing": True}


def mixed_uniform(pairs: Dataset, seed: int) -> Dataset:
    """Mixed-language data where every language is equally likely: smaller languages are oversampled."""
    from datasets import interleave_datasets

    langs = sorted(set(pairs[QUERY_LANGUAGE]))
    if len(langs) == 1:
        return pairs
    parts = [pairs.filter(lambda b, lang=lang: [x == lang for x in b[QUERY_LANGUAGE]], batched=True) for lang in langs]
    return interleave_datasets(parts, seed=seed, stopping_strategy="all_exhausted")


def resolve_checkpoint(config: TrainConfig) -> str | None:
    """The checkpoint to resume from, or None; a missing checkpoint is an error, not a silent restart."""
    if not config.resume:
        return None
    if isinstance(config.resume, str) and config.resume not in ("true", "True", "last"):
        if not Path(config.resume).is_dir():
            raise ConfigError(f"--resume {config.resume}: no such checkpoint folder.")
        return config.resume
    from transformers.trainer_utils import get_last_checkpoint

    folder = Path(config.output_dir) / CHECKPOINTS_DIR
    last = get_last_checkpoint(str(folder)) if folder.is_dir() else None
    if last is None:
        raise ConfigError(f"--resume: no checkpoint-* folder under {folder} to resume from.")
    return last


def build_trainer(config: TrainConfig):
    """The model, the ``SentenceTransformerTrainer`` and the prepared data, ready to ``train()``."""
    from sentence_transformers import SentenceTransformerTrainer

    from hfswim.training.losses import build_loss
    from hfswim.training.models import load_retriever

    data = load_training_data(config)
    base = config.resolved_base_model
    with tempfile.TemporaryDirectory(prefix="hfswim-vocabulary-") as folder:  # the extended base, loaded then gone
        if config.extend_vocabulary:
            from hfswim.training.vocabulary import extend_base

            base, _ = extend_base(config.extend_vocabulary, base, training_texts(data.train), Path(folder) / "base")
        model = load_retriever(
            base,
            query_max_length=config.query_max_length,
            passage_max_length=config.passage_max_length,
            query_prompt=config.query_prompt,
            passage_prompt=config.passage_prompt,
        )
    if config.extend_vocabulary:
        from hfswim.training.vocabulary import extension_report

        data.vocabulary_extension = extension_report(model[0], config.extend_vocabulary)
    if config.freeze_embeddings:
        freeze_token_embeddings(model)
    data = add_negatives(config, data, model)
    train = data.train
    if config.batching == "mixed" and config.sampling == "uniform":
        train = mixed_uniform(train, config.seed)
    train_dataset = for_batching(train, config.batching)
    columns = (
        next(iter(train_dataset.values())).column_names
        if hasattr(train_dataset, "values")
        else train_dataset.column_names
    )
    evaluator = build_evaluator(data.heldout)
    args = training_arguments(config, columns, evaluator is not None)
    loss = build_loss(model, cached=config.cached, mini_batch_size=config.mini_batch_size, distill=bool(config.distill))
    with stderr_hidden_unless_verbose():  # its model-card callback's "Computing widget examples" bar
        trainer = SentenceTransformerTrainer(
            model=model, args=args, train_dataset=train_dataset, loss=loss, evaluator=evaluator
        )
    _loss_in_progress_bar(trainer)
    return model, trainer, data


def training_texts(pairs: Dataset) -> list[str]:
    """The distinct queries and passages of the training pairs (what new vocabulary pieces are learned from)."""
    return list(dict.fromkeys([*pairs["anchor"], *pairs["positive"]]))


def freeze_token_embeddings(model: Any) -> int:
    """Stop gradients to the first module's token-embedding table (USE port: ``embeddings``; transformers
    encoders: ``get_input_embeddings()``); returns the number of frozen weights."""
    import torch

    first = model[0]
    inner = getattr(first, "auto_model", first)
    table = (
        inner.get_input_embeddings() if hasattr(inner, "get_input_embeddings") else getattr(inner, "embeddings", None)
    )
    if not isinstance(getattr(table, "weight", None), torch.nn.Parameter):
        raise ConfigError(f"--freeze-embeddings: no token-embedding table found in {type(inner).__name__}.")
    table.weight.requires_grad_(False)
    return table.weight.numel()


def _loss_in_progress_bar(trainer: Any) -> None:
    """Show the logged loss on the training bar instead of printing a raw log dict below it at every step."""
    from transformers import PrinterCallback, ProgressCallback

    from hfswim.progress import progress_bar, progress_enabled

    class LossOnBar(ProgressCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            if state.is_world_process_zero:  # as ProgressCallback's, named from its first frame
                self.training_bar = progress_bar("train", total=state.max_steps, unit="step", delay=0)
            self.current_step = 0

        def on_log(self, args, state, control, logs=None, **kwargs):
            if state.is_world_process_zero and self.training_bar is not None and logs:
                shown = {k: logs[k] for k in ("loss", "eval_loss") if isinstance(logs.get(k), int | float)}
                if shown:  # the closing summary log has no loss: the last one stays on the bar
                    self.training_bar.set_postfix({k: f"{v:.4g}" for k, v in shown.items()}, refresh=False)

    # transformers swaps its bar for a PrinterCallback (a raw dict per log step) when its logging is quieter than
    # WARNING, which hfswim's third-party silencing makes it: neither stays, the bar with the loss comes back.
    trainer.pop_callback(ProgressCallback)
    trainer.pop_callback(PrinterCallback)
    if progress_enabled():
        trainer.add_callback(LossOnBar)


def train_retriever(config: TrainConfig) -> TrainResult:
    """Train, save the final model and its card to ``config.output_dir``, and return the results."""
    from hfswim.training.model_card import TrainingSummary, write_model_card

    checkpoint = resolve_checkpoint(config)
    model, trainer, data = build_trainer(config)
    languages = sorted(set(data.train[QUERY_LANGUAGE]))
    evaluator = trainer.evaluator
    eval_before: dict[str, float] = {}
    before_per_language: dict[str, dict[str, float]] = {}
    if evaluator is not None and checkpoint is None:
        eval_before, before_per_language = summarise_eval(evaluator(model), [t.lang for t in data.heldout])

    trainer.train(resume_from_checkpoint=checkpoint)

    eval_after: dict[str, float] = {}
    per_language: dict[str, dict[str, float]] = {}
    if evaluator is not None:
        eval_after, per_language = summarise_eval(evaluator(model), [t.lang for t in data.heldout])

    output_dir = Path(config.output_dir)
    if trainer.is_world_process_zero():
        model.save_pretrained(str(output_dir))
    result = TrainResult(
        output_dir=str(output_dir),
        config=config.model_dump(mode="json"),
        num_train_pairs=len(data.train),
        languages=languages,
        global_step=trainer.state.global_step,
        base_model=config.resolved_base_model,
        train_loss=[log["loss"] for log in trainer.state.log_history if "loss" in log],
        eval_before=eval_before,
        eval_after=eval_after,
        eval_before_per_language=before_per_language,
        eval_per_language=per_language,
        vocabulary_extension=data.vocabulary_extension,
    )
    if trainer.is_world_process_zero():
        (output_dir / CONFIG_FILE).write_text(json.dumps(result.config, indent=2) + "\n", encoding="utf-8")
        result.save(output_dir / RESULTS_FILE)
        summary = TrainingSummary.from_result(result, config)
        if len(data.train):  # the card's usage example: a real training pair, in a language the model learned
            first = data.train[0]
            summary.usage_query, summary.usage_passage = first["anchor"], first["positive"][:300]
        write_model_card(model, output_dir, summary)
    return result
