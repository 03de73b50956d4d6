"""Retrieval metrics: nDCG@k, MRR@k, Recall@k (via ``pytrec_eval``) and XOR-Retrieve's Recall@kt.

``qrels`` map a query id to ``{doc_id: graded relevance}``; a ``run`` maps a query id to
``{doc_id: score}`` (higher is better), the shape mteb and ``pytrec_eval`` share.
Scores are averaged over the queries of ``qrels``; a query with no retrieved documents scores 0.

Recall@kt is XOR-TyDi QA's official XOR-Retrieve metric (Asai et al., 2021,
``eval_xor_retrieve.py``): concatenate the top-ranked passages until ``k`` tokens
(5000 or 2000) are reached, cut at ``k`` tokens, and count a hit if any non yes/no
answer string occurs in that text.

Example::

    >>> qrels = {"q1": {"d1": 1}}
    >>> run = {"q1": {"d2": 0.9, "d1": 0.8}}
    >>> round(ndcg_at_k(qrels, run, 10), 4)
    0.6309
    >>> mrr_at_k(qrels, run, 10)
    0.5
    >>> recall_at_k_tokens([["Paris is the capital of France ."]], [["Paris"]], k_tokens=3)
    1.0
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence

Qrels = Mapping[str, Mapping[str, int]]
Run = Mapping[str, Mapping[str, float]]

# XOR-Retrieve does not judge boolean questions by string match.
_BOOLEAN_ANSWERS = frozenset({"yes", "no"})


def _pytrec_scores(qrels: Qrels, run: Run, measure: str) -> dict[str, float]:
    """Per-query scores of one trec_eval measure, with 0 for queries the run misses."""
    import pytrec_eval

    # Ties must not depend on dict order: pytrec_eval sorts by score, then doc id (descending) like trec_eval.
    clean_qrels = {q: {d: int(r) for d, r in docs.items()} for q, docs in qrels.items()}
    clean_run = {q: {d: float(s) for d, s in run.get(q, {}).items()} for q in clean_qrels}
    evaluator = pytrec_eval.RelevanceEvaluator(clean_qrels, {measure})
    per_query = evaluator.evaluate({q: docs for q, docs in clean_run.items() if docs})
    key = measure.replace(".", "_")
    return {q: per_query.get(q, {}).get(key, 0.0) for q in clean_qrels}


def _top_k(run: Run, k: int) -> dict[str, dict[str, float]]:
    """Keep each query's ``k`` best documents (score desc, then doc id for a stable tie order)."""
    return {q: dict(sorted(docs.items(), key=lambda kv: (-kv[1], kv[0]))[:k]) for q, docs in run.items()}


def _mean(values: Iterable[float]) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def ndcg_at_k(qrels: Qrels, run: Run, k: int = 10) -> float:
    """Mean nDCG@k with graded relevance (trec_eval ``ndcg_cut``, as in BEIR and MTEB)."""
    return _mean(_pytrec_scores(qrels, run, f"ndcg_cut.{k}").values())


def mrr_at_k(qrels: Qrels, run: Run, k: int = 10) -> float:
    """Mean reciprocal rank of the first relevant document within the top ``k`` (0 if none)."""
    return _mean(_pytrec_scores(qrels, _top_k(run, k), "recip_rank").values())


def recall_at_k(qrels: Qrels, run: Run, k: int = 100) -> float:
    """Mean fraction of a query's relevant documents found in its top ``k``."""
    return _mean(_pytrec_scores(qrels, run, f"recall.{k}").values())


def whitespace_tokenize(text: str) -> list[str]:
    """Split on whitespace (the unit of XOR-Retrieve's token budget)."""
    return text.split()


def normalize_answer(text: str) -> str:
    """NFKC-normalise and trim, so full-width digits and composed characters match their plain forms."""
    return unicodedata.normalize("NFKC", text).strip()


def answer_in_top_tokens(
    passages: Sequence[str],
    answers: Sequence[str],
    k_tokens: int,
    tokenize: Callable[[str], list[str]] = whitespace_tokenize,
) -> bool | None:
    """Whether an answer occurs in the first ``k_tokens`` tokens of the ranked ``passages``.

    Returns ``None`` when the question has no span answer (only yes/no), which XOR-Retrieve leaves out.
    """
    span_answers = [normalize_answer(a) for a in answers if a.strip().lower() not in _BOOLEAN_ANSWERS]
    span_answers = [a for a in span_answers if a]
    if not span_answers:
        return None
    tokens: list[str] = []
    for passage in passages:
        tokens += tokenize(passage)
        if len(tokens) >= k_tokens:
            break
    window = normalize_answer(" ".join(tokens[:k_tokens]))
    return any(answer in window for answer in span_answers)


def recall_at_k_tokens(
    ranked_passages: Sequence[Sequence[str]],
    answers: Sequence[Sequence[str]],
    k_tokens: int = 5000,
    tokenize: Callable[[str], list[str]] = whitespace_tokenize,
) -> float:
    """XOR-Retrieve Recall@kt: share of questions (with a span answer) answered within the top ``k_tokens`` tokens.

    Args:
        ranked_passages: per question, the retrieved passage texts, best first.
        answers: per question, its gold answer strings.
        k_tokens: token budget, 5000 for Recall@5kt and 2000 for Recall@2kt.
        tokenize: how a passage is cut into tokens; whitespace by default.
    """
    if len(ranked_passages) != len(answers):
        raise ValueError(f"{len(ranked_passages)} rankings but {len(answers)} answer lists")
    hits = [answer_in_top_tokens(p, a, k_tokens, tokenize) for p, a in zip(ranked_passages, answers, strict=True)]
    judged = [h for h in hits if h is not None]
    return _mean(float(h) for h in judged)
