"""Cascade attention for batched decoding: each shared prompt prefix's keys/values are read once per step.

In a decode batch of SAP requests most rows share one of a few prompt prefixes (instructions + exemplars per
template and language). With a plain batch cache every row holds its own copy of its prefix's keys/values and
the attention of a decode step reads all of them: for Gemma 3 270M (head_dim 256, fp32) that is 36 KB per
token per row, ~300 MB per step for 16 rows at a 500-token context, as much memory traffic as the weights, and
the attention's share of a step grows with the batch (profiled on 2 CPU cores; BENCHMARKS.md).

Here the batch cache holds only each row's *suffix* (its passage, then the generated tokens); the prefix
stays in the prefix cache entry, once. A decode step's attention splits the softmax in two parts (the prefix,
scored for all rows of a group by one matrix product that reads the prefix once, and the row's own suffix)
and merges them by their maxima and sums (the log-sum-exp merge of FlashAttention / cascade inference): the
same attention, summed in another order, so logits differ from the plain path by float rounding only.

Sliding-window layers see a key when ``key_position > query_position - window`` (transformers' rule),
applied to the prefix and the suffix by their absolute positions.

The attention function is registered with transformers' ``AttentionInterface`` under :data:`ATTENTION` and
falls back to ``sdpa`` for every call that does not carry a :class:`CascadeStep` (prefill, scoring).

Example::

    enable(model)                                         # once; False if the model is not supported
    step = CascadeStep(positions, suffix_valid, groups)   # per decode step
    model.base_model(input_ids=..., position_ids=..., cache=suffix_cache, use_cache=True, cascade_step=step)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

ATTENTION = "hfswim_cascade"
STEP_KWARG = "cascade_step"


@dataclass
class PrefixGroup:
    """Rows (``index`` into the batch) that share one cached prefix: ``cache`` (a DynamicCache of batch 1)
    holding the prefix's ``length`` tokens (its sliding-window layers only their last ones)."""

    cache: Any
    length: int
    index: torch.Tensor | None  # None: every row of the batch


@dataclass
class CascadeStep:
    """What a decode step's attention needs besides the suffix cache.

    Attributes:
        positions: [rows] position of each row's current token.
        suffix_valid: [rows, slots] which slots of the left-padded suffix cache (this step's token included,
            last) hold a token of the row.
        groups: the rows of each shared prefix (rows without a prefix are in no group).
    """

    positions: torch.Tensor
    suffix_valid: torch.Tensor
    groups: list[PrefixGroup]
    _memo: dict[Any, Any] = field(default_factory=dict, repr=False)

    def suffix_mask(self, window: int | None) -> torch.Tensor:
        """[rows, slots] visible suffix slots for a layer with this sliding ``window`` (None: full)."""
        key = ("suffix", window)
        mask = self._memo.get(key)
        if mask is None:
            mask = self.suffix_valid
            if window is not None:
                slots = self.suffix_valid.shape[1]
                offsets = torch.arange(slots - 1, -1, -1, device=mask.device)  # slot s is `slots-1-s` tokens back
                mask = mask & (offsets < window).unsqueeze(0)
            self._memo[key] = mask
        return mask

    def prefix_mask(self, g: int, group: PrefixGroup, kept: int, window: int | None) -> torch.Tensor | None:
        """[group rows, kept] visible prefix slots (the layer keeps the prefix's last ``kept`` tokens), or None
        when every slot is visible to every row."""
        if window is None:
            return None
        key = ("prefix", g, kept, window)
        if key in self._memo:
            return self._memo[key]
        positions = self.positions if group.index is None else self.positions[group.index]
        first = group.length - kept  # position of the first kept prefix token
        mask = None
        if int(positions.max()) - window >= first:  # some row no longer sees the oldest kept prefix tokens
            kv_positions = torch.arange(first, group.length, device=positions.device)
            mask = kv_positions.unsqueeze(0) > (positions - window).unsqueeze(1)
        self._memo[key] = mask
        return mask


def cascade_attention(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float | None = None,
    dropout: float = 0.0,
    sliding_window: int | None = None,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """transformers' attention-function signature; ``key``/``value`` are the rows' suffixes (the suffix cache
    after this step's append), the prefixes come from the :class:`CascadeStep` in ``kwargs``."""
    step: CascadeStep | None = kwargs.pop(STEP_KWARG, None)
    if step is None:
        from transformers.integrations.sdpa_attention import sdpa_attention_forward

        return sdpa_attention_forward(
            module, query, key, value, attention_mask, scaling=scaling, dropout=dropout,
            sliding_window=sliding_window, **kwargs,
        )  # fmt: skip
    rows, heads, q_len, dim = query.shape
    if q_len != 1:
        raise ValueError("cascade attention decodes one token per row")
    kv_heads = key.shape[1]
    group_size = heads // kv_heads
    scale = scaling if scaling is not None else dim**-0.5
    window = sliding_window if getattr(module, "is_sliding", sliding_window is not None) else None
    q = query.reshape(rows, kv_heads, group_size, dim) * scale  # row, kv head, query heads of that kv head

    suffix_scores = torch.matmul(q, key.transpose(-1, -2))  # [rows, kv, group, slots]
    visible = step.suffix_mask(window)
    suffix_scores = suffix_scores.masked_fill(~visible[:, None, None, :], float("-inf"))
    top = suffix_scores.amax(dim=-1)  # [rows, kv, group]

    prefix_scores = []
    for g, group in enumerate(step.groups):
        layer = group.cache.layers[module.layer_idx]
        pk, pv = layer.keys[0], layer.values[0]  # [kv, kept, dim]
        n = rows if group.index is None else group.index.numel()
        qg = q if group.index is None else q[group.index]
        scores = torch.matmul(qg.permute(1, 0, 2, 3).reshape(kv_heads, n * group_size, dim), pk.transpose(-1, -2))
        scores = scores.view(kv_heads, n, group_size, -1).permute(1, 0, 2, 3)  # [n, kv, group, kept]
        mask = step.prefix_mask(g, group, pk.shape[-2], window)
        if mask is not None:
            scores = scores.masked_fill(~mask[:, None, None, :], float("-inf"))
        group_top = scores.amax(dim=-1)
        if group.index is None:
            top = torch.maximum(top, group_top)
        else:
            top[group.index] = torch.maximum(top[group.index], group_top)
        prefix_scores.append((group, scores, pv, n))

    weights = torch.exp(suffix_scores - top.unsqueeze(-1))
    numerator = torch.matmul(weights, value)  # [rows, kv, group, dim]
    denominator = weights.sum(dim=-1)
    for group, scores, pv, n in prefix_scores:
        group_top = top if group.index is None else top[group.index]
        w = torch.exp(scores - group_top.unsqueeze(-1))  # [n, kv, group, kept]
        part = torch.matmul(w.permute(1, 0, 2, 3).reshape(kv_heads, n * group_size, -1), pv)
        part = part.view(kv_heads, n, group_size, dim).permute(1, 0, 2, 3)
        if group.index is None:
            numerator = numerator + part
            denominator = denominator + w.sum(dim=-1)
        else:
            numerator.index_add_(0, group.index, part)
            denominator.index_add_(0, group.index, w.sum(dim=-1))
    out = numerator / denominator.unsqueeze(-1)
    return out.reshape(rows, 1, heads, dim), None


def supported(model: Any) -> bool:
    """Whether cascade attention can replace the model's attention: plain softmax attention (no logit
    soft-capping, no attention sinks) in the transformers attention interface."""
    config = getattr(model, "config", None)
    if config is None or getattr(config, "attn_logit_softcapping", None):
        return False
    return getattr(config, "_attn_implementation", None) in ("sdpa", "eager", ATTENTION)


def enable(model: Any) -> bool:
    """Register :func:`cascade_attention` and switch ``model`` to it (it behaves as ``sdpa`` without a
    :class:`CascadeStep`). Returns False, changing nothing, for models it does not support."""
    if not supported(model):
        return False
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, sdpa_mask

    AttentionInterface.register(ATTENTION, cascade_attention)
    ALL_MASK_ATTENTION_FUNCTIONS.register(ATTENTION, sdpa_mask)
    model.set_attn_implementation(ATTENTION)
    return True
