"""Greedy next tokens from an int8 shortlist of the output layer, rescored exactly in float.

Gemma 3 270M's output layer (262,144 tokens x 640) is 63% of the multiply-adds of a generated token and
reads 671 MB of float32 weights per decode step. :class:`ShortlistHead` keeps an int8 copy of it
(``torch.ao.quantization.quantize_dynamic``, per-output-channel scales, fbgemm/x86 kernels: 3-5x faster on
CPU), takes the ``candidates`` best tokens by the int8 logits, recomputes those candidates' logits from the
float weights and picks the best of them. The chosen token is the float argmax unless the float winner is not
among the int8 shortlist: its int8 logit would have to trail ``candidates`` other tokens, far beyond the
int8 error on these logits (the benchmark counts the greedy queries identical to the float path). Requests
that need the whole distribution (sampling, log-probabilities) get exact float logits.

Example::

    head = ShortlistHead.for_model(model)     # None when the model's output layer is not a plain Linear
    hidden = model.base_model(input_ids=ids).last_hidden_state[:, -1]
    tokens = head.greedy(hidden)               # [batch] token ids
"""

from __future__ import annotations

import warnings
from typing import Any

import torch

DEFAULT_CANDIDATES = 32


class ShortlistHead:
    """The output layer of a causal LM, split into a fast greedy path and an exact full-logits path.

    Args:
        weight: the output layer's float weight, [vocab, hidden] (tied to the embeddings in Gemma 3).
        bias: its bias or None.
        softcap: the model's ``final_logit_softcapping`` (applied to full logits; monotone, so greedy ignores it).
        candidates: shortlist size rescored in float.
    """

    def __init__(
        self,
        weight: torch.Tensor,
        bias: torch.Tensor | None = None,
        *,
        softcap: float | None = None,
        candidates: int = DEFAULT_CANDIDATES,
    ):
        self.weight = weight.detach()
        self.bias = bias.detach() if bias is not None else None
        self.softcap = softcap
        self.candidates = min(candidates, self.weight.shape[0])
        float_linear = torch.nn.Linear(self.weight.shape[1], self.weight.shape[0], bias=self.bias is not None)
        float_linear.weight = torch.nn.Parameter(self.weight, requires_grad=False)
        if self.bias is not None:
            float_linear.bias = torch.nn.Parameter(self.bias, requires_grad=False)
        with warnings.catch_warnings():  # torch.ao's note that eager quantization moves to torchao one day
            warnings.simplefilter("ignore")
            quantized = torch.ao.quantization.quantize_dynamic(
                torch.nn.Sequential(float_linear),
                {torch.nn.Linear: torch.ao.quantization.per_channel_dynamic_qconfig},
                dtype=torch.qint8,
            )
        self._int8 = quantized[0]

    @classmethod
    def for_model(cls, model: Any, candidates: int = DEFAULT_CANDIDATES) -> ShortlistHead | None:
        """The head of ``model`` (a transformers causal LM with a plain Linear output layer on CPU), or None."""
        head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
        base = getattr(model, "base_model", None)
        if not isinstance(head, torch.nn.Linear) or base is None or base is model or head.weight.device.type != "cpu":
            return None
        softcap = getattr(model.config, "final_logit_softcapping", None)
        try:
            return cls(head.weight, head.bias, softcap=softcap, candidates=candidates)
        except (RuntimeError, NotImplementedError):  # no quantized engine on this platform
            return None

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Exact float logits, [batch, vocab], as the model's own ``lm_head`` (and soft-capping) computes them."""
        out = torch.nn.functional.linear(hidden, self.weight, self.bias)
        if self.softcap:
            out = torch.tanh(out / self.softcap) * self.softcap
        return out

    def greedy(self, hidden: torch.Tensor) -> torch.Tensor:
        """The argmax token of each row of ``hidden`` ([batch, hidden_size] float): int8 shortlist, float rescoring."""
        approx = self._int8(hidden.float().contiguous())
        shortlist = approx.topk(self.candidates, dim=-1).indices  # [batch, candidates]
        exact = torch.einsum("bd,bkd->bk", hidden, self.weight[shortlist])
        if self.bias is not None:
            exact = exact + self.bias[shortlist]
        return shortlist.gather(-1, exact.argmax(dim=-1, keepdim=True)).squeeze(-1)
