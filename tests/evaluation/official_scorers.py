"""The official scorers of XOR-Retrieve, XTREME-UP and BEIR, re-implemented as test fixtures for the parity tests.

Each function follows its original step by step (same inputs, same loops, same arithmetic), so hfswim's tasks
can be checked against it to the last digit. Sources, read at these commits:

* XOR-Retrieve: ``evals/eval_xor_retrieve.py`` (``evaluate_top_k_hit`` and ``main``) of
  https://github.com/AkariAsai/XORQA @ c894f52, MIT License, Copyright (c) 2020 Akari Asai.
  Its tokeniser is ``nltk.tokenize.word_tokenize``, used here as is (with the Punkt data hfswim ships).
* XTREME-UP: ``evaluation/metrics.py`` (``compute_mrr``, ``score_file``), ``evaluation/score_system.py``
  (``TaskResult.score``, ``average``) and ``evaluation/constants.py`` (the language lists) of
  https://github.com/google-research/xtreme-up @ af29609, Apache License 2.0, Copyright 2023 The Google
  Research Authors.
* BEIR: ``EvaluateRetrieval.evaluate`` (``ignore_identical_ids=True`` by default) in
  ``beir/retrieval/evaluation.py`` of https://github.com/beir-cellar/beir, Apache License 2.0.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Any

# --- XOR-Retrieve ---------------------------------------------------------------------------------


def _word_tokenize(text: str) -> list[str]:
    import nltk

    from hfswim.evaluation.tokenization import NLTK_DATA

    if str(NLTK_DATA) not in nltk.data.path:
        nltk.data.path.insert(0, str(NLTK_DATA))
    return nltk.tokenize.word_tokenize(text)


def xor_evaluate_top_k_hit(
    results: Sequence[Mapping[str, Any]], gt_answers: Mapping[str, Sequence[str]], max_token_num: int = 5000
) -> dict[str, dict[str, int]]:
    """``evaluate_top_k_hit``: per language, how many questions were judged and how many were hits.

    ``results``: the prediction file, a list of ``{"id", "lang", "ctxs": [passage text, ...]}``.
    ``gt_answers``: question id -> answers, from the data file.
    """
    per_lang: dict[str, dict[str, int]] = {}
    for item in results:
        q_id, lang, ctxs = item["id"], item["lang"], item["ctxs"]
        per_lang.setdefault(lang, {"count": 0, "hit": 0})
        if q_id not in gt_answers:
            continue
        # Only the exact strings "yes" and "no" are left out; any other answer, empty included, is looked for.
        span_answers = [answer for answer in gt_answers[q_id] if answer not in ["yes", "no"]]
        if len(span_answers) == 0:
            continue
        per_lang[lang]["count"] += 1
        concat_string_tokens: list[str] = []
        for ctx_text in ctxs:
            concat_string_tokens += _word_tokenize(ctx_text)
            if len(concat_string_tokens) >= max_token_num:
                break
        concat_string = " ".join(concat_string_tokens[:max_token_num])
        if any(answer in concat_string for answer in span_answers):
            per_lang[lang]["hit"] += 1
    return {lang: result for lang, result in per_lang.items() if result["count"] > 0}


def xor_official_scores(
    results: Sequence[Mapping[str, Any]], data: Sequence[Mapping[str, Any]], max_token_num: int
) -> tuple[dict[str, float], float]:
    """``main`` for one budget: per-language R@kt in percent, and the "Final macro averaged score"."""
    qid2answers = {item["id"]: item["answers"] for item in data}
    per_lang = xor_evaluate_top_k_hit(results, qid2answers, max_token_num)
    scores = {lang: (r["hit"] / r["count"]) * 100 for lang, r in per_lang.items()}
    return scores, statistics.mean(scores.values())


# --- XTREME-UP ------------------------------------------------------------------------------------

# constants.TASK_TO_LANGUAGES["qa_cross_lang"] (retrieval_cross_lang uses the same languages).
XTREME_UP_QA_CROSS_LANG = (
    "ar bn fi ko ru te as bho brx gbm gom gu hi hne kn mai ml mni mr mwr or pa ps sa ta ur"
).split()
# constants.XTREME_UP_HIGH_RESOURCE_LANGS and the members of XTREME_UP_UNDER_REPRESENTED_LANGS among the above.
XTREME_UP_HIGH_RESOURCE = frozenset(
    "en ar ca zh hr cs nl fi fr de hi hu it ja ko fa pl pt ru sr es sv tr vi cmn".split()
)
XTREME_UP_UNDER_REPRESENTED = frozenset(
    "bn te as bho brx gbm gom gu hne kn mai ml mni mr mwr or pa ps sa ta ur".split()
)


def xtreme_up_is_under_represented(lang: str) -> bool:
    """``constants.is_under_represented``."""
    lang = lang.split("_")[0]
    if lang in XTREME_UP_UNDER_REPRESENTED:
        return True
    if lang not in XTREME_UP_HIGH_RESOURCE:
        raise ValueError(f"Unrecognized language code: {lang}")
    return False


def xtreme_up_compute_mrr(targets: Sequence[str], predictions: Sequence[Sequence[str]]) -> float:
    """``metrics.compute_mrr``: 1/rank of the target in each submitted list, as submitted, averaged."""
    mrr_total = 0.0
    for target, predicted_neighbors in zip(targets, predictions, strict=True):
        rank = 0
        for i, neighbor in enumerate(predicted_neighbors):
            if target == neighbor:
                rank = i + 1
                break
        if rank > 0:
            mrr_total += 1 / rank
    return mrr_total / len(targets)


def xtreme_up_score_file(gold_rows: Sequence[Mapping[str, Any]], prediction_rows: Sequence[Mapping[str, Any]]) -> float:
    """``metrics.score_file`` for ``mrr``: gold ``id`` of line i against ``prediction`` of line i."""
    targets = [row["id"] for row in gold_rows]
    predictions = [row["prediction"] for row in prediction_rows]
    if len(targets) != len(predictions):
        raise ValueError(f"Found {len(targets)} targets and {len(predictions)} predictions")
    return xtreme_up_compute_mrr(targets, predictions)


def xtreme_up_task_score(per_language: Mapping[str, float | None]) -> float | None:
    """``score_system``'s task score for retrieval_cross_lang: only the under-represented languages are scored
    (``get_languages(..., under_represented_only=True)``) and averaged; ``None`` if one of them is missing."""
    values = [per_language.get(lang) for lang in XTREME_UP_QA_CROSS_LANG if xtreme_up_is_under_represented(lang)]
    if any(value is None for value in values):
        return None
    return sum(values) / len(values) if values else 0.0


# --- BEIR -----------------------------------------------------------------------------------------


def beir_ndcg_at_10(qrels: Mapping[str, Mapping[str, int]], results: Mapping[str, Mapping[str, float]]) -> float:
    """``EvaluateRetrieval.evaluate`` with its default ``ignore_identical_ids=True``: drop a retrieved document
    whose id is the query id, then trec_eval's ndcg_cut_10 averaged over the evaluated queries, rounded to 5
    decimals."""
    import pytrec_eval

    results = {qid: {pid: score for pid, score in docs.items() if pid != qid} for qid, docs in results.items()}
    evaluator = pytrec_eval.RelevanceEvaluator({q: dict(d) for q, d in qrels.items()}, {"ndcg_cut.10"})
    scores = evaluator.evaluate(results)
    return round(sum(s["ndcg_cut_10"] for s in scores.values()) / len(scores), 5)
