"""Fine-tune a CrossEncoder reranker on SWIM-IR pairs with ``CrossEncoderTrainer`` (``hfswim train --reranker``).

Training rows are (query, passage, label): each (query, positive) pair with label 1, plus
``--hard-negatives`` passages (default 3) mined with a relative margin, label 0: by a bi-encoder
(``--negatives dense``, the default; ``--mining-model``, default hfswim's USE port) or by BM25
(``--negatives bm25``, bm25s per language: the InPars recipe, :mod:`hfswim.training.bm25_negatives`); the loss is ``BinaryCrossEntropyLoss``, the standard
recipe for sentence-transformers rerankers. Held-out queries are evaluated with
``CrossEncoderRerankingEvaluator`` (rerank the positive among the miner's candidates; MRR@10 / nDCG@10).

Example (skipped as a test: it needs a filtered run on disk and minutes of training)::

    >>> from hfswim.training import TrainConfig, train   # doctest: +SKIP
    >>> train(TrainConfig(dataset="runs/filtered", output_dir="runs/reranker", reranker=True, max_steps=200))  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from hfswim.records import QUERY_LANGUAGE
from hfswim.training.config import TrainConfig, default_base_model
from hfswim.training.data import HeldOut

if TYPE_CHECKING:
    from datasets import Dataset

logger = logging.getLogger(__name__)

DEFAULT_RERANKER_NEGATIVES = 3


def reranking_samples(heldout: list[HeldOut], miner, num_candidates: int = 10) -> dict[str, list[dict]]:
    """Per language: each held-out query with its positive and the bi-encoder's top other passages."""
    samples: dict[str, list[dict]] = {}
    for task in heldout:
        ids = list(task.corpus)
        texts = [task.corpus[i] for i in ids]
        doc_emb = miner.encode_document(texts, convert_to_tensor=True)
        qids = list(task.queries)
        query_emb = miner.encode_query([task.queries[q] for q in qids], convert_to_tensor=True)
        scores = miner.similarity(query_emb, doc_emb)
        top = scores.topk(min(num_candidates + 1, len(ids)), dim=1).indices.tolist()
        samples[task.lang] = [
            {
                "query": task.queries[qid],
                "positive": [task.corpus[p] for p in task.relevant_docs[qid]],
                "negative": [texts[i] for i in row if ids[i] not in task.relevant_docs[qid]][:num_candidates],
            }
            for qid, row in zip(qids, top, strict=False)
        ]
    return samples


def bm25_reranking_samples(heldout: list[HeldOut], num_candidates: int = 10) -> dict[str, list[dict]]:
    """Per language: each held-out query with its positive and BM25's top other passages (``--negatives bm25``)."""
    from hfswim.training.bm25_negatives import BM25Index, bm25_tokenizer_language

    samples: dict[str, list[dict]] = {}
    for task in heldout:
        ids = list(task.corpus)
        texts = [task.corpus[i] for i in ids]
        index = BM25Index(texts, bm25_tokenizer_language(task.lang, texts))
        qids = list(task.queries)
        scores = index.scores([task.queries[q] for q in qids])
        samples[task.lang] = []
        for qid, row in zip(qids, scores, strict=True):
            order = row.argsort()[::-1][: num_candidates + len(task.relevant_docs[qid])].tolist()
            samples[task.lang].append(
                {
                    "query": task.queries[qid],
                    "positive": [task.corpus[p] for p in task.relevant_docs[qid]],
                    "negative": [texts[i] for i in order if ids[i] not in task.relevant_docs[qid]][:num_candidates],
                }
            )
    return samples


def labeled_pairs(pairs: Dataset, miner, config: TrainConfig) -> Dataset:
    """(query, passage, label) rows: positives and mined negatives (dense, or BM25), with the language kept."""
    from hfswim.training.losses import mine_negatives

    options = {
        "num_negatives": config.hard_negatives or DEFAULT_RERANKER_NEGATIVES,
        "relative_margin": config.relative_margin,
        "range_max": config.mining_range_max,
        "output_format": "labeled-pair",
    }
    if config.negatives == "bm25":
        from hfswim.training.bm25_negatives import mine_bm25_negatives

        mined = mine_bm25_negatives(pairs, **options)
    else:
        mined = mine_negatives(pairs, miner, **options)
    return mined.rename_columns({"anchor": "query", "positive": "passage"})


def train_reranker(config: TrainConfig):
    """Train a CrossEncoder; save it with its card to ``config.output_dir``; return a ``TrainResult``."""
    import statistics

    from sentence_transformers.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments
    from sentence_transformers.cross_encoder.evaluation import CrossEncoderRerankingEvaluator
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss
    from sentence_transformers.evaluation import SequentialEvaluator
    from sentence_transformers.training_args import BatchSamplers

    from hfswim.training.data import for_batching
    from hfswim.training.model_card import TrainingSummary, write_model_card
    from hfswim.training.models import load_cross_encoder, load_retriever
    from hfswim.training.retriever import (
        CONFIG_FILE,
        RESULTS_FILE,
        TrainResult,
        resolve_checkpoint,
    )

    checkpoint = resolve_checkpoint(config)
    model = load_cross_encoder(
        config.resolved_base_model, max_length=config.query_max_length + config.passage_max_length
    )
    miner = None
    if config.negatives == "dense":
        miner = load_retriever(
            config.mining_model or default_base_model(),
            query_max_length=config.query_max_length,
            passage_max_length=config.passage_max_length,
            query_prompt=config.query_prompt,
            passage_prompt=config.passage_prompt,
        )
    # Mining happens here with the bi-encoder, not in prepare_data (which mines with the model being trained).
    from hfswim.training.retriever import common_training_kwargs, prepare_data, with_training_args

    data = prepare_data(config, model=None)
    train_rows = labeled_pairs(data.train, miner, config)
    samples = reranking_samples(data.heldout, miner) if miner is not None else bm25_reranking_samples(data.heldout)
    evaluator = None
    if samples:
        evaluator = SequentialEvaluator(
            [
                CrossEncoderRerankingEvaluator(s, at_k=10, name=f"heldout-{lang}", write_csv=False)
                for lang, s in samples.items()
            ],
            main_score_function=statistics.fmean,
        )
    del miner

    kwargs = {
        **common_training_kwargs(config, has_evaluator=evaluator is not None),
        "batch_sampler": BatchSamplers.BATCH_SAMPLER,  # a query recurs with its negatives: duplicates are intended
    }
    args = CrossEncoderTrainingArguments(**with_training_args(config, CrossEncoderTrainingArguments, kwargs))
    trainer = CrossEncoderTrainer(
        model=model,
        args=args,
        train_dataset=for_batching(train_rows, config.batching, columns=["query", "passage", "label"]),
        loss=BinaryCrossEntropyLoss(model),
        evaluator=evaluator,
    )
    before = _summarise(evaluator(model)) if evaluator is not None and checkpoint is None else ({}, {})
    trainer.train(resume_from_checkpoint=checkpoint)
    after = _summarise(evaluator(model)) if evaluator is not None else ({}, {})

    output_dir = Path(config.output_dir)
    result = TrainResult(
        output_dir=str(output_dir),
        config=config.model_dump(mode="json"),
        num_train_pairs=len(train_rows),
        languages=sorted(set(train_rows[QUERY_LANGUAGE])),
        global_step=trainer.state.global_step,
        base_model=config.resolved_base_model,
        train_loss=[log["loss"] for log in trainer.state.log_history if "loss" in log],
        eval_before=before[0],
        eval_after=after[0],
        eval_before_per_language=before[1],
        eval_per_language=after[1],
    )
    if trainer.is_world_process_zero():
        model.save_pretrained(str(output_dir))
        (output_dir / CONFIG_FILE).write_text(json.dumps(result.config, indent=2) + "\n", encoding="utf-8")
        result.save(output_dir / RESULTS_FILE)
        write_model_card(model, output_dir, TrainingSummary.from_result(result, config))
    return result


def _summarise(results: dict[str, float]) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """``heldout-<lang>_<metric>`` keys -> (mean per metric, per-language scores)."""
    import statistics

    per_lang: dict[str, dict[str, float]] = {}
    for key, value in results.items():
        if key.startswith("heldout-") and "_" in key:
            lang, metric = key[len("heldout-") :].split("_", 1)
            per_lang.setdefault(lang, {})[metric] = float(value)
    metrics = sorted({m for s in per_lang.values() for m in s})
    return {m: statistics.fmean(s[m] for s in per_lang.values() if m in s) for m in metrics}, per_lang
