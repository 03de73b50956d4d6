"""Log-likelihood scoring: log P(continuation | prefix) for several continuations of one shared prefix.

What UPR-style query-likelihood selection needs from an LLM (Sachan et al. 2022: rank passages by
log P(query | passage)): the prompt's token log-probs, not a generation. The embedded server answers it on
``POST /v1/score`` (``{"prefix": str, "continuations": [str, ...]}`` → per continuation the summed and mean
token log-prob and the token count). The prefix (the passage and the instruction) is computed once, its KV cache
is repeated across the continuations (the queries to score against that passage), and only the continuation
positions go through the LM head: the cost per query is its own ~20 tokens, not the passage again.

Example (any causal LM with a ``DynamicCache``)::

    scores = score_continuations(model, tokenizer, "Passage: The Nile flows north.\\nQuestion: ", ["Where does the Nile flow?"])
    scores[0]["logprob"], scores[0]["tokens"]
"""

from __future__ import annotations

from typing import Any


def score_continuations(
    model: Any, tokenizer: Any, prefix: str, continuations: list[str], max_batch: int = 16
) -> list[dict[str, float]]:
    """Sum and mean of the token log-probs of each continuation after ``prefix`` (teacher forcing).

    The prefix is tokenized with the tokenizer's special tokens (BOS), each continuation without, and the two are
    concatenated as token ids, so every continuation is scored against the same prefix tokens.
    """
    import torch

    if not continuations:
        return []
    device = next(model.parameters()).device
    prefix_ids = tokenizer(prefix, add_special_tokens=True)["input_ids"]
    conts = [tokenizer(c, add_special_tokens=False)["input_ids"] or [tokenizer.eos_token_id] for c in continuations]
    out: list[dict[str, float]] = []
    with torch.inference_mode():
        # The prefix once; its last position's logits predict every continuation's first token.
        prefix_out = model(input_ids=torch.tensor([prefix_ids], device=device), use_cache=True, logits_to_keep=1)
        first_logp = torch.log_softmax(prefix_out.logits[0, -1].float(), dim=-1)
        for start in range(0, len(conts), max_batch):
            chunk = conts[start : start + max_batch]
            out += _score_chunk(model, prefix_out.past_key_values, len(prefix_ids), first_logp, chunk, device)
    return out


def _score_chunk(model, prefix_cache, prefix_len: int, first_logp, chunk: list[list[int]], device) -> list[dict]:
    import copy

    import torch

    n, width = len(chunk), max(len(c) for c in chunk)
    pad = 0
    ids = torch.full((n, width), pad, dtype=torch.long, device=device)
    mask = torch.zeros((n, prefix_len + width), dtype=torch.long, device=device)
    mask[:, :prefix_len] = 1
    for i, c in enumerate(chunk):
        ids[i, : len(c)] = torch.tensor(c, device=device)
        mask[i, prefix_len : prefix_len + len(c)] = 1
    cache = copy.deepcopy(prefix_cache)
    cache.batch_repeat_interleave(n)
    positions = torch.arange(prefix_len, prefix_len + width, device=device).unsqueeze(0).expand(n, -1)
    logits = model(input_ids=ids, attention_mask=mask, position_ids=positions, cache=cache).logits
    logp = torch.log_softmax(logits.float(), dim=-1)  # position j predicts token j + 1
    results = []
    for i, c in enumerate(chunk):
        total = float(first_logp[c[0]])
        if len(c) > 1:
            targets = torch.tensor(c[1:], device=device)
            total += float(logp[i, torch.arange(len(c) - 1, device=device), targets].sum())
        results.append({"logprob": total, "mean_logprob": total / len(c), "tokens": len(c)})
    return results
