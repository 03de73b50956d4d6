"""Evaluation: mteb on official and hfswim retrieval tasks, faiss search, results for the model card.

Modules: :mod:`.metrics` (nDCG/MRR/Recall@k, XOR Recall@kt, XTREME-UP MRR@10), :mod:`.tokenization`
(XOR-Retrieve's NLTK token unit, Punkt data bundled), :mod:`.language_sets` (the languages behind each published
mean), :mod:`.index` (faiss index and mteb search backend), :mod:`.tasks` (local BEIR/MTEB-layout, XOR-Retrieve,
XTREME-UP), :mod:`.evaluate` (``hfswim evaluate``), :mod:`.results` (summary table, model-index).
"""

from __future__ import annotations

from hfswim.evaluation.config import EvaluateConfig
from hfswim.evaluation.evaluate import EvaluationRun, evaluate
from hfswim.evaluation.index import FaissIndex, FaissSearchBackend, IndexParams, SavedIndex, SearchHit
from hfswim.evaluation.metrics import mrr_at_k, ndcg_at_k, recall_at_k, recall_at_k_tokens
from hfswim.evaluation.results import ScoreRow, as_rows, summary_markdown, to_eval_results, to_model_index

__all__ = [
    "EvaluateConfig",
    "EvaluationRun",
    "FaissIndex",
    "FaissSearchBackend",
    "IndexParams",
    "SavedIndex",
    "ScoreRow",
    "SearchHit",
    "as_rows",
    "evaluate",
    "mrr_at_k",
    "ndcg_at_k",
    "recall_at_k",
    "recall_at_k_tokens",
    "summary_markdown",
    "to_eval_results",
    "to_model_index",
]
