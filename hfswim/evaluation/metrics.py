"""Retrieval metrics: nDCG@k, MRR@k, Recall@k (via ``pytrec_eval``), XOR-Retrieve's Recall@kt, XTREME-UP's MRR@10.

``qrels`` map a query id to ``{doc_id: graded relevance}``; a ``run`` maps a query id to
``{doc_id: score}`` (higher is better), the shape mteb and ``pytrec_eval`` share.
Scores are averaged over the queries of ``qrels``; a query with no retrieved documents scores 0.

The two benchmark metrics reproduce their official scorers exactly (checked against them in
``tests/evaluation/test_eval_parity.py``):

* **Recall@kt** (XOR-TyDi QA, Asai et al., 2021, ``evals/eval_xor_retrieve.py``): concatenate the
  ``nltk.word_tokenize`` tokens of the top-ranked passages until ``k`` tokens (5000 or 2000), cut there,
  join with spaces, and count a hit if any answer other than exactly ``"yes"``/``"no"`` is a substring
  (an empty answer always is). :func:`answer_in_top_tokens` with ``matching="lenient"`` is hfswim's
  forgiving variant, reported in its own column: answers NFKC-normalised and tokenised like the window
  (so ``"3,776 m."`` or ``"Tolstoy's"`` can match), yes/no in any casing and empty answers not judged.
* **MRR@10** (XTREME-UP, Ruder et al., 2023, ``evaluation/metrics.py``): the reciprocal rank of the gold
  passage id in the submitted top-10 list, *in the retriever's order* (no re-sorting, so exact score ties
  keep the order the retriever gave; pytrec_eval would break them by document id).

Example::

    >>> qrels = {"q1": {"d1": 1}}
    >>> run = {"q1": {"d2": 0.9, "d1": 0.8}}
    >>> round(ndcg_at_k(qrels, run, 10), 4)
    0.6309
    >>> mrr_at_k(qrels, run, 10)
    0.5
    >>> recall_at_k_tokens([["Paris is the capital of France."]], [["Paris"]], k_tokens=3)
    1.0
    >>> ranked_mrr(["d1", "d7"], [["d3", "d1"], ["d7"]], k=10)
    0.75
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


def normalize_answer(text: str) -> str:
    """NFKC-normalise and trim, so full-width digits and composed characters match their plain forms."""
    return unicodedata.normalize("NFKC", text).strip()


XOR_MATCHING = ("official", "lenient")


def span_answers(answers: Sequence[str], matching: str = "official") -> list[str]:
    """The answers Recall@kt looks for; an empty list means the question is not judged.

    ``official``: every answer except exactly ``"yes"`` and ``"no"`` (so ``"Yes"`` is looked for, and an
    empty answer is kept: it is a substring of any window). ``lenient``: answers NFKC-normalised and trimmed,
    yes/no in any casing and empty answers dropped.
    """
    if matching == "official":
        return [a for a in answers if a not in _BOOLEAN_ANSWERS]
    if matching == "lenient":
        normalized = (normalize_answer(a) for a in answers if a.strip().lower() not in _BOOLEAN_ANSWERS)
        return [a for a in normalized if a]
    raise ValueError(f"unknown matching {matching!r}; choose one of {', '.join(XOR_MATCHING)}")


def top_tokens(passages: Iterable[str], k_tokens: int, tokenize: Callable[[str], list[str]]) -> list[str]:
    """The first ``k_tokens`` tokens of the ranked ``passages`` (tokenising stops once the budget is reached)."""
    tokens: list[str] = []
    for passage in passages:
        tokens += tokenize(passage)
        if len(tokens) >= k_tokens:
            break
    return tokens[:k_tokens]


def answer_in_window(
    window: Sequence[str],
    answers: Sequence[str],
    matching: str = "official",
    tokenize: Callable[[str], list[str]] | None = None,
) -> bool | None:
    """Whether an answer occurs in ``window``, a list of tokens (``None``: the question is not judged).

    ``official``: a substring of the space-joined tokens. ``lenient``: of their NFKC form, with each answer also
    looked for as ``tokenize`` splits it (``"3,776 m."`` -> ``"3,776 m ."``), so punctuation glued to words no
    longer hides it.
    """
    wanted = span_answers(answers, matching)
    if not wanted:
        return None
    text = " ".join(window)
    if matching == "official":
        return any(answer in text for answer in wanted)
    if tokenize is None:
        from hfswim.evaluation.tokenization import nltk_word_tokenize as tokenize
    text = unicodedata.normalize("NFKC", text)
    return any(answer in text or " ".join(tokenize(answer)) in text for answer in wanted)


def answer_in_top_tokens(
    passages: Iterable[str],
    answers: Sequence[str],
    k_tokens: int,
    tokenize: Callable[[str], list[str]] | None = None,
    matching: str = "official",
) -> bool | None:
    """Whether an answer occurs in the first ``k_tokens`` tokens of the ranked ``passages``.

    ``tokenize``: the budget's unit, ``nltk.word_tokenize`` (the official one) by default.
    Returns ``None`` when the question is not judged (no span answer, see :func:`span_answers`).
    """
    if tokenize is None:
        from hfswim.evaluation.tokenization import nltk_word_tokenize as tokenize
    if not span_answers(answers, matching):
        return None
    return answer_in_window(top_tokens(passages, k_tokens, tokenize), answers, matching, tokenize)


def recall_at_k_tokens(
    ranked_passages: Sequence[Sequence[str]],
    answers: Sequence[Sequence[str]],
    k_tokens: int = 5000,
    tokenize: Callable[[str], list[str]] | None = None,
    matching: str = "official",
) -> float:
    """XOR-Retrieve Recall@kt: share of judged questions answered within the top ``k_tokens`` tokens.

    Args:
        ranked_passages: per question, the retrieved passage texts, best first.
        answers: per question, its gold answer strings.
        k_tokens: token budget, 5000 for Recall@5kt and 2000 for Recall@2kt.
        tokenize: how a passage is cut into tokens; ``nltk.word_tokenize`` (official) by default.
        matching: ``official`` (the scorer's substring test) or ``lenient`` (see :func:`answer_in_window`).
    """
    (recall,) = recall_at_token_budgets(ranked_passages, answers, {"recall": k_tokens}, tokenize, (matching,)).values()
    return recall


def recall_at_token_budgets(
    ranked_passages: Sequence[Sequence[str]],
    answers: Sequence[Sequence[str]],
    budgets: Mapping[str, int],
    tokenize: Callable[[str], list[str]] | None = None,
    matchings: Sequence[str] = ("official",),
) -> dict[str, float]:
    """Recall@kt for several budgets and matchings at once, tokenising each question's passages once.

    Returns ``{name: recall}`` for the official matching and ``{name + "_" + matching: recall}`` for the others;
    each is :func:`recall_at_k_tokens` with that budget and matching.
    """
    if len(ranked_passages) != len(answers):
        raise ValueError(f"{len(ranked_passages)} rankings but {len(answers)} answer lists")
    if tokenize is None:
        from hfswim.evaluation.tokenization import nltk_word_tokenize as tokenize
    names = {(m, n): n if m == "official" else f"{n}_{m}" for m in matchings for n in budgets}
    hits: dict[str, list[float]] = {name: [] for name in names.values()}
    deepest = max(budgets.values())
    for passages, gold in zip(ranked_passages, answers, strict=True):
        if not any(span_answers(gold, m) for m in matchings):
            continue
        # The first k tokens of the deepest window are the window of every smaller budget.
        tokens = top_tokens(passages, deepest, tokenize)
        for (matching, name), key in names.items():
            hit = answer_in_window(tokens[: budgets[name]], gold, matching, tokenize)
            if hit is not None:
                hits[key].append(float(hit))
    return {key: _mean(values) for key, values in hits.items()}


def ranked_ids(doc_scores: Mapping[str, float]) -> list[str]:
    """Document ids best first; exact score ties keep the mapping's order (the retriever's, when it inserted
    documents in rank order), unlike pytrec_eval and mteb, which break ties by document id."""
    return [d for d, _ in sorted(doc_scores.items(), key=lambda kv: -kv[1])]


def ranked_mrr(targets: Sequence[str], predictions: Sequence[Sequence[str]], k: int = 10) -> float:
    """XTREME-UP's MRR@10: mean over questions of 1/rank of the gold id in the first ``k`` predicted ids.

    ``targets[i]`` is question i's gold passage id, ``predictions[i]`` its ranked ids as the retriever gave
    them (not re-sorted). A gold id absent from the ranking, e.g. missing from the index, scores 0.
    """
    if len(targets) != len(predictions):
        raise ValueError(f"{len(targets)} targets but {len(predictions)} rankings")
    total = 0.0
    for target, ranking in zip(targets, predictions, strict=True):
        for rank, doc_id in enumerate(list(ranking)[:k], 1):
            if doc_id == target:
                total += 1 / rank
                break
    return total / len(targets) if targets else 0.0
