"""Losses and negatives for SWIM-X-style retriever training.

* :class:`~sentence_transformers.losses.MultipleNegativesRankingLoss`: in-batch negatives, SWIM-X's
  loss; every other passage in the batch is a negative for a query.
* :class:`~sentence_transformers.losses.CachedMultipleNegativesRankingLoss` (GradCache): the same
  loss computed in mini-batches, so SWIM-X's batch of 4096 fits in small memory; only
  ``mini_batch_size`` sequences are ever in the graph at once.
* :func:`mine_negatives`: hard negatives from ``sentence_transformers.util.mine_hard_negatives``,
  mined per language (a query's negatives come from its own language's passages), with a relative
  margin so that near-duplicates of the positive (likely false negatives) are skipped.
* :class:`~sentence_transformers.losses.MarginMSELoss` distillation: a CrossEncoder teacher scores
  (query, positive) and (query, negative); the student learns the teacher's margins.

Under multi-GPU (``accelerate launch`` / ``torchrun``) the ranking losses gather embeddings across
devices, so the in-batch negatives are the *global* batch, as in SWIM-X.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from hfswim.errors import InputError
from hfswim.records import QUERY_LANGUAGE

if TYPE_CHECKING:
    from datasets import Dataset
    from sentence_transformers import CrossEncoder, SentenceTransformer
    from torch import nn

logger = logging.getLogger(__name__)


def world_size() -> int:
    """Number of training processes, as set by torchrun / accelerate launch."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def build_loss(
    model: SentenceTransformer, cached: bool = False, mini_batch_size: int = 32, distill: bool = False
) -> nn.Module:
    """The retriever loss for the given options (see the module docstring)."""
    from sentence_transformers import losses

    if distill:
        return losses.MarginMSELoss(model)
    gather = world_size() > 1
    if cached:
        return losses.CachedMultipleNegativesRankingLoss(
            model, mini_batch_size=mini_batch_size, gather_across_devices=gather
        )
    return losses.MultipleNegativesRankingLoss(model, gather_across_devices=gather)


def teacher_margins(rows: Dataset, teacher: CrossEncoder, batch_size: int = 64) -> list[list[float]]:
    """MarginMSE labels: ``[t(q, p) - t(q, n_i)]`` for each row's negatives, scored by the cross-encoder teacher."""
    negatives = sorted((c for c in rows.column_names if c.startswith("negative")), key=lambda c: (len(c), c))
    pairs = [(row["anchor"], row[col]) for row in rows for col in ["positive", *negatives]]
    scores = teacher.predict(pairs, batch_size=batch_size, show_progress_bar=False).tolist()
    width = 1 + len(negatives)
    return [[scores[i] - s for s in scores[i + 1 : i + width]] for i in range(0, len(scores), width)]


def mine_negatives(
    pairs: Dataset,
    model: SentenceTransformer,
    num_negatives: int,
    relative_margin: float = 0.05,
    range_max: int = 50,
    teacher: CrossEncoder | None = None,
    output_format: str = "n-tuple",
    batch_size: int = 64,
) -> Dataset:
    """Add ``num_negatives`` mined negatives to ``(anchor, positive, lang)`` pairs, language by language.

    Returns ``(anchor, positive, negative_1..n, lang)`` for ``output_format="n-tuple"``; with a
    ``teacher``, also a ``label`` column of teacher margins ``[t(q,p) - t(q,n_i)]`` for MarginMSE (the
    bi-encoder picks the negatives, the teacher scores them: a teacher's scores need not be comparable
    across queries, so they are not used for the margin filter);
    with ``"labeled-pair"``, ``(anchor, positive, label, lang)`` rows with label 1/0 (reranker training,
    the ``positive`` column then holds any passage). Queries for which too few candidates pass the
    margin are dropped by sentence-transformers (it logs how many).
    """
    from datasets import concatenate_datasets
    from sentence_transformers.util import mine_hard_negatives

    parts = []
    for lang in sorted(set(pairs[QUERY_LANGUAGE])):
        subset = pairs.filter(lambda b, lang=lang: [x == lang for x in b[QUERY_LANGUAGE]], batched=True)
        if len(set(subset["positive"])) <= 1:
            logger.warning("Language %s: a single passage, no negatives to mine; skipped.", lang)
            continue
        mined = mine_hard_negatives(
            subset.select_columns(["anchor", "positive"]),
            model,
            anchor_column_name="anchor",
            positive_column_name="positive",
            range_max=min(range_max, len(set(subset["positive"]))),
            relative_margin=relative_margin,
            num_negatives=num_negatives,
            sampling_strategy="top",
            query_prompt_name="query" if "query" in (model.prompts or {}) else None,
            corpus_prompt_name="document" if "document" in (model.prompts or {}) else None,
            output_format=output_format,
            batch_size=batch_size,
            verbose=False,
        )
        if teacher is not None:
            mined = mined.add_column("label", teacher_margins(mined, teacher, batch_size))
        if output_format == "labeled-pair" and "document" in mined.column_names:
            mined = mined.rename_column("document", "positive")  # any passage here; the label says which
        parts.append(mined.add_column(QUERY_LANGUAGE, [lang] * len(mined)))
    if not parts or sum(len(p) for p in parts) == 0:
        raise InputError(
            f"Hard-negative mining kept no query (relative margin {relative_margin}, {num_negatives} negatives): "
            "lower --hard-negatives or the margin, or add passages."
        )
    return concatenate_datasets(parts)
