"""KV cache layers with free slots at the end, so that a decode step writes its keys/values in place.

transformers' ``DynamicLayer`` appends with ``torch.cat``: every decode step copies the whole batch cache of
every layer (a fifth of a decode step of 16 rows of Gemma 3 270M on one CPU core, measured with
``torch.profiler``). :func:`add_headroom` turns the layers of a ``DynamicCache`` into subclasses whose
``keys``/``values`` are views of larger buffers: appending one token writes into the spare slots and only
every :data:`HEADROOM` tokens reallocates. Reading and assigning ``layer.keys``/``layer.values`` works as
before (an assignment replaces the buffer), so the batch-cache layout code (padding, trimming, merging,
``batch_select_indices``) is unchanged, and the values the attention sees are the same tensors' contents.

Example::

    from transformers import DynamicCache
    cache = DynamicCache(config=model.config)
    model(input_ids=ids, cache=cache, use_cache=True)
    add_headroom(cache)           # later steps append in place
"""

from __future__ import annotations

from typing import Any

import torch
from transformers.cache_utils import DynamicLayer, DynamicSlidingWindowLayer

HEADROOM = 32  # spare slots allocated past the end: one reallocation per this many decode steps


class _Slab:
    """A [batch, heads, slots, dim] buffer of which ``[start:end]`` along the slots is the layer's state."""

    __slots__ = ("buffer", "end", "start")

    def __init__(self, value: torch.Tensor | None):
        self.buffer = value
        self.start = 0
        self.end = value.shape[-2] if value is not None and value.dim() == 4 else 0

    def view(self) -> torch.Tensor | None:
        if self.buffer is None or self.buffer.dim() != 4:
            return self.buffer
        return self.buffer[:, :, self.start : self.end]

    def append(self, new: torch.Tensor) -> torch.Tensor:
        n = new.shape[-2]
        if self.buffer is None or self.buffer.dim() != 4 or self.buffer.shape[0] != new.shape[0]:
            self.buffer = new.new_empty((*new.shape[:2], n + HEADROOM, new.shape[-1]))
            self.start = self.end = 0
        elif self.end + n > self.buffer.shape[-2]:
            kept = self.end - self.start
            grown = new.new_empty((*new.shape[:2], kept + n + HEADROOM, new.shape[-1]))
            grown[:, :, :kept] = self.buffer[:, :, self.start : self.end]
            self.buffer, self.start, self.end = grown, 0, kept
        self.buffer[:, :, self.end : self.end + n] = new
        self.end += n
        return self.buffer[:, :, self.start : self.end]

    def keep_last(self, n: int) -> None:
        self.start = max(self.start, self.end - n)


class _Headroom:
    """Mixin: ``keys``/``values`` backed by :class:`_Slab` buffers (see the module docstring)."""

    _k: _Slab
    _v: _Slab

    @property
    def keys(self) -> torch.Tensor | None:
        return self._k.view()

    @keys.setter
    def keys(self, value: torch.Tensor | None) -> None:
        self._k = _Slab(value)

    @property
    def values(self) -> torch.Tensor | None:
        return self._v.view()

    @values.setter
    def values(self, value: torch.Tensor | None) -> None:
        self._v = _Slab(value)


class HeadroomLayer(_Headroom, DynamicLayer):
    """A full-attention ``DynamicLayer`` that appends in place."""

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any):
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        return self._k.append(key_states), self._v.append(value_states)


class HeadroomSlidingLayer(_Headroom, DynamicSlidingWindowLayer):
    """A ``DynamicSlidingWindowLayer`` that appends in place; it keeps the last ``sliding_window - 1`` slots
    and returns them plus the new ones, exactly as its parent does."""

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any):
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        if self.record_past:  # assisted decoding's bookkeeping: not used here, keep the parent's behaviour
            return super().update(key_states, value_states, *args, **kwargs)
        self.cumulative_length += key_states.shape[-2]
        full_keys, full_values = self._k.append(key_states), self._v.append(value_states)
        self._k.keep_last(self.sliding_window - 1)
        self._v.keep_last(self.sliding_window - 1)
        return full_keys, full_values


_HEADROOM_CLASSES = {DynamicLayer: HeadroomLayer, DynamicSlidingWindowLayer: HeadroomSlidingLayer}


def add_headroom(cache: Any) -> Any:
    """Replace the plain dynamic layers of ``cache`` by their in-place-appending subclasses (same state; other
    layer types untouched). Returns ``cache``."""
    layers = getattr(cache, "layers", None)
    for i, layer in enumerate(layers or ()):
        target = _HEADROOM_CLASSES.get(type(layer))
        if target is None:
            continue
        state = dict(vars(layer))
        keys, values = state.pop("keys", None), state.pop("values", None)
        replacement = target.__new__(target)
        vars(replacement).update(state)
        replacement.keys, replacement.values = keys, values
        layers[i] = replacement
    return cache
