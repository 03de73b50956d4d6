"""Log-likelihood scoring with a shared prefix: equal to scoring each full sequence alone."""

from __future__ import annotations

import pytest

from hfswim.generation.scoring import score_continuations
from tests.generation.conftest import build_tiny_causal_lm


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = build_tiny_causal_lm(tmp_path_factory.mktemp("tiny-lm-score"), seed=3)
    return AutoModelForCausalLM.from_pretrained(path).eval(), AutoTokenizer.from_pretrained(path)


def _reference(model, tokenizer, prefix: str, continuation: str) -> float:
    import torch

    p = tokenizer(prefix, add_special_tokens=True)["input_ids"]
    c = tokenizer(continuation, add_special_tokens=False)["input_ids"]
    with torch.inference_mode():
        logits = model(input_ids=torch.tensor([p + c])).logits[0].float()
    logp = torch.log_softmax(logits, dim=-1)
    return float(sum(logp[len(p) - 1 + j, tok] for j, tok in enumerate(c)))


def test_shared_prefix_scores_equal_full_forward_scores(tiny_lm):
    model, tokenizer = tiny_lm
    prefix = "Passage: the river flows to the sea.\nQuery (Swahili): "
    conts = ["the river?", "sea", "Title: the river flows to the sea?"]
    scores = score_continuations(model, tokenizer, prefix, conts, max_batch=2)  # two chunks, ragged lengths
    for cont, got in zip(conts, scores, strict=True):
        assert got["logprob"] == pytest.approx(_reference(model, tokenizer, prefix, cont), abs=1e-3)
        assert got["tokens"] == len(tokenizer(cont, add_special_tokens=False)["input_ids"])
        assert got["mean_logprob"] == pytest.approx(got["logprob"] / got["tokens"])
    assert score_continuations(model, tokenizer, prefix, []) == []
