"""Re-ranking evaluation: a first stage (BM25 or a retriever) re-ranked by a CrossEncoder, through mteb.

This is mteb's own re-ranking path (the InPars toolkit's ``rerank.py`` + ``evaluate.py`` on a BM25 run):

1. the first stage runs every task with ``mteb.evaluate(..., prediction_folder=...)``, which saves its run
   (``<Task>_predictions.json``: query id -> {document id: score}, its top 1000);
2. :meth:`AbsTaskRetrieval.convert_to_reranking` turns each task into a re-ranking task over the top
   ``rerank_top_k`` documents of that run (``top_ranked``);
3. ``mteb.evaluate`` with the CrossEncoder (mteb's ``CrossEncoderWrapper`` + ``SearchCrossEncoderWrapper``)
   scores each (query, candidate) pair and ranks the candidates by that score; the same retrieval evaluator
   (pytrec_eval) scores both runs, so the two rows are comparable.

Example::

    >>> from hfswim.evaluation import EvaluateConfig, evaluate  # doctest: +SKIP
    >>> run = evaluate(EvaluateConfig(model="bm25", tasks="local:xquad/de-en", reranker="runs/reranker"))  # doctest: +SKIP
    >>> print(run.comparison)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hfswim.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from hfswim.evaluation.results import ScoreRow

logger = logging.getLogger(__name__)

FIRST_STAGE_RUNS = "first-stage-runs"  # under --output: the first stage's saved runs (mteb predictions)


@dataclass
class RerankOutcome:
    """The re-ranked scores and what re-ranking cost."""

    model_name: str
    task_results: list[Any]
    seconds: float
    num_queries: int

    @property
    def seconds_per_query(self) -> float:
        return self.seconds / max(self.num_queries, 1)


def reranker_model_name(reranker: str) -> str:
    """The results name of a reranker: its Hub id, ``local/<folder>``, or ``minilm`` (base, fresh head)."""
    from hfswim.evaluation.models import default_model_name
    from hfswim.training.models import MINILM_NAMES

    if reranker.lower() in MINILM_NAMES:
        return "local/all-MiniLM-L6-v2-untrained-head"
    return default_model_name(reranker)


def load_reranker(reranker: str, device: str | None = None, max_length: int | None = None, name: str | None = None):
    """An mteb-wrapped ``sentence_transformers.CrossEncoder`` (a trained reranker, or an encoder with a fresh head)."""
    from mteb.models.sentence_transformer_wrapper import CrossEncoderWrapper
    from sentence_transformers import CrossEncoder

    from hfswim.training.models import check_model_source, resolve_cross_encoder

    source = check_model_source(resolve_cross_encoder(reranker), what="--reranker")
    try:
        model = CrossEncoder(source, num_labels=1, max_length=max_length, device=device)
    except (OSError, ValueError) as err:
        where = "folder" if Path(source).exists() else "Hub id (offline? pass a local folder)"
        raise InputError(f"--reranker {reranker}: cannot load a cross-encoder from this {where}: {err}") from None
    wrapped = CrossEncoderWrapper(model)
    wrapped.mteb_model_meta = wrapped.mteb_model_meta.model_copy(
        update={"name": name or reranker_model_name(reranker), "revision": "local"}
    )
    return wrapped


def _query_count(task: Any) -> int:
    total = 0
    for splits in task.dataset.values():
        for data in splits.values():
            top_ranked = data.get("top_ranked") or {}
            total += sum(1 for qid in data["queries"]["id"] if qid in top_ranked)
    return total


def rerank_tasks(
    tasks: Sequence[Any],
    first_stage_runs: Path,
    reranker: str,
    top_k: int,
    output: Path,
    batch_size: int = 32,
    device: str | None = None,
    max_length: int | None = None,
    show_progress_bar: bool = False,
) -> RerankOutcome:
    """Re-rank each task's first-stage run (saved in ``first_stage_runs``) with ``reranker``; mteb scores it."""
    import mteb

    name = reranker_model_name(reranker)
    model = load_reranker(reranker, device=device, max_length=max_length, name=name)
    for task in tasks:
        task.convert_to_reranking(first_stage_runs, top_k=top_k)
    num_queries = sum(_query_count(task) for task in tasks)
    start = time.perf_counter()
    result = mteb.evaluate(
        model,
        list(tasks),
        encode_kwargs={"batch_size": batch_size, "show_progress_bar": show_progress_bar},
        cache=mteb.ResultCache(cache_path=output),
        overwrite_strategy="always",
        show_progress_bar=show_progress_bar,
        co2_tracker=False,
    )
    seconds = time.perf_counter() - start
    return RerankOutcome(name, list(result.task_results), seconds, num_queries)


def comparison_markdown(
    first: Sequence[ScoreRow], reranked: Sequence[ScoreRow], first_name: str, reranker_name: str, top_k: int
) -> str:
    """One row per task, split and language: the first stage alone and re-ranked, side by side (in %).

    Example::

        >>> from hfswim.evaluation.results import ScoreRow
        >>> a = [ScoreRow("T", "test", "de", [], "ndcg_at_10", 0.5, {"ndcg_at_10": 0.5, "mrr_at_10": 0.4})]
        >>> b = [ScoreRow("T", "test", "de", [], "ndcg_at_10", 0.6, {"ndcg_at_10": 0.6, "mrr_at_10": 0.55})]
        >>> print(comparison_markdown(a, b, "bm25", "me/ce", 100).splitlines()[2])
        | T | test | de | ndcg_at_10 | 50.00 | 60.00 | +10.00 | 40.00 | 55.00 |
    """
    by_key = {(r.task, r.split, r.subset): r for r in reranked}
    header = [
        "Task",
        "Split",
        "Language",
        "Main metric",
        first_name,
        f"+ {reranker_name} (top {top_k})",
        "Δ",
        f"MRR@10 {first_name}",
        "MRR@10 re-ranked",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for r in first:
        other = by_key.get((r.task, r.split, r.subset))
        if other is None:
            continue
        mrr_a, mrr_b = r.scores.get("mrr_at_10"), other.scores.get("mrr_at_10")
        cells = [
            r.task,
            r.split,
            r.subset,
            r.main_metric,
            f"{100 * r.main_score:.2f}",
            f"{100 * other.main_score:.2f}",
            f"{100 * (other.main_score - r.main_score):+.2f}",
            f"{100 * mrr_a:.2f}" if mrr_a is not None else "",
            f"{100 * mrr_b:.2f}" if mrr_b is not None else "",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    from hfswim.evaluation.results import mean_rows

    reranked_means = {(m.task, m.split, m.label): m for m in mean_rows(reranked)}
    for mean in mean_rows(first):
        other = reranked_means.get((mean.task, mean.split, mean.label))
        if other is None:
            continue
        a, b = mean.main_score, other.main_score
        cells = [
            mean.task,
            mean.split,
            f"**{mean.label}**",
            mean.main_metric,
            f"**{100 * a:.2f}**",
            f"**{100 * b:.2f}**",
        ]
        lines.append("| " + " | ".join([*cells, f"{100 * (b - a):+.2f}", "", ""]) + " |")
    return "\n".join(lines)
