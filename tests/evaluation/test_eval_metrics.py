"""Metrics against values computed by hand."""

from __future__ import annotations

import math

import pytest

from hfswim.evaluation.metrics import (
    answer_in_top_tokens,
    mrr_at_k,
    ndcg_at_k,
    recall_at_k,
    recall_at_k_tokens,
    recall_at_token_budgets,
)
from hfswim.evaluation.tokenization import whitespace_tokenize


def test_ndcg_at_10_graded_by_hand():
    qrels = {"q1": {"d1": 1, "d3": 2}, "q2": {"d5": 1}}
    run = {"q1": {"d2": 0.9, "d1": 0.8, "d3": 0.7}, "q2": {"d9": 0.5}}
    # q1: DCG = 0/log2(2) + 1/log2(3) + 2/log2(4); ideal = 2/log2(2) + 1/log2(3). q2 finds nothing: 0.
    dcg = 1 / math.log2(3) + 2 / math.log2(4)
    idcg = 2 + 1 / math.log2(3)
    assert ndcg_at_k(qrels, run, 10) == pytest.approx((dcg / idcg + 0.0) / 2, abs=1e-4)


def test_ndcg_cut_ignores_documents_below_k():
    qrels = {"q": {"rel": 1}}
    run = {"q": {f"d{i}": 1.0 - i / 100 for i in range(10)} | {"rel": 0.001}}  # relevant at rank 11
    assert ndcg_at_k(qrels, run, 10) == 0.0
    assert ndcg_at_k(qrels, run, 11) == pytest.approx(1 / math.log2(12), abs=1e-4)


def test_mrr_at_10_by_hand():
    qrels = {"a": {"x": 1}, "b": {"y": 1}, "c": {"z": 1}}
    run = {
        "a": {"x": 0.9, "w": 0.1},  # rank 1 -> 1
        "b": {"w": 0.9, "v": 0.8, "y": 0.7},  # rank 3 -> 1/3
        "c": {f"d{i}": 1.0 - i / 100 for i in range(10)} | {"z": 0.0},  # rank 11 -> 0 at @10
    }
    assert mrr_at_k(qrels, run, 10) == pytest.approx((1 + 1 / 3 + 0) / 3)
    assert mrr_at_k(qrels, run, 11) == pytest.approx((1 + 1 / 3 + 1 / 11) / 3)


def test_recall_at_k_by_hand():
    qrels = {"q": {"a": 1, "b": 1, "c": 1, "d": 1}}
    run = {"q": {"a": 0.9, "x": 0.8, "b": 0.7, "c": 0.1}}
    assert recall_at_k(qrels, run, 3) == pytest.approx(2 / 4)
    assert recall_at_k(qrels, run, 5) == pytest.approx(3 / 4)


def test_recall_at_kt_counts_tokens_until_the_budget():
    passages = ["alpha beta gamma", "delta Paris epsilon"]  # "Paris" is token 5
    assert answer_in_top_tokens(passages, ["Paris"], k_tokens=4) is False
    assert answer_in_top_tokens(passages, ["Paris"], k_tokens=5) is True
    # The window is cut at k tokens even inside a passage.
    assert answer_in_top_tokens(["a b c d Paris"], ["Paris"], k_tokens=4) is False
    # NLTK tokens, not words: "Paris," is two tokens, so with whitespace words the answer would be in budget.
    assert answer_in_top_tokens(["a, b, Paris"], ["Paris"], k_tokens=4) is False
    assert answer_in_top_tokens(["a, b, Paris"], ["Paris"], k_tokens=4, tokenize=whitespace_tokenize) is True


def test_recall_at_kt_skips_yes_no_and_lenient_normalises():
    rankings = [["alpha Paris"], ["alpha beta"], ["ｐｒｉｃｅ　１２３ dollars"], ["whatever"]]
    answers = [["Paris"], ["Rome"], ["123"], ["yes"]]  # full-width digits match after NFKC; yes/no is not judged
    assert answer_in_top_tokens(["whatever"], ["yes", "no"], 10) is None
    assert recall_at_k_tokens(rankings, answers, k_tokens=5000) == pytest.approx(1 / 3)
    assert recall_at_k_tokens(rankings, answers, k_tokens=5000, matching="lenient") == pytest.approx(2 / 3)


def test_recall_at_kt_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="2 rankings but 1 answer lists"):
        recall_at_k_tokens([["a"], ["b"]], [["a"]])


def test_recall_at_token_budgets_equals_one_budget_at_a_time():
    rankings = [["a b, c. Paris!", "d e f"], ["Rome, Italy"], ["x y z"], ["Tolstoy's book"]]
    answers = [["Paris"], ["Rome, Italy"], ["yes"], ["Tolstoy's"]]
    budgets = {"r5": 5, "r2": 2}
    together = recall_at_token_budgets(rankings, answers, budgets, matchings=("official", "lenient"))
    for matching, suffix in (("official", ""), ("lenient", "_lenient")):
        for name, k in budgets.items():
            assert together[name + suffix] == recall_at_k_tokens(rankings, answers, k, matching=matching)
    assert together == {"r5": 1 / 3, "r2": 0.0, "r5_lenient": 1.0, "r2_lenient": pytest.approx(1 / 3)}
