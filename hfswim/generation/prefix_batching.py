"""Batched generation that computes a shared prompt prefix once: the engine of hfswim's embedded server.

Every prompt of a strategy starts with the same instructions and exemplars (per template and language), and
only the passage at the end differs. :class:`PrefixCachingGenerator` notices such shared prefixes by their
token ids (the longest common prefix with recent prompts, cut back to a line start), computes each prefix's KV
cache once, keeps a small LRU of them, and per request only runs the suffix on a copy of that cache. Requests are then decoded together
(continuous batching: a row joins as soon as its prefill is done and leaves as soon as it stops, is cancelled,
or passes its deadline), which on a CPU reads the model's weights once per step for all rows instead of once per
row.

Rows of different lengths share one left-padded cache (each row's tokens are contiguous and end at the last
slot; padding slots are masked), the layout ``generate`` uses for a padded batch, so sliding-window layers see
exactly the tokens they would see alone. With cascade attention (the default,
:mod:`hfswim.generation.cascade_attention`) that cache holds only each row's suffix and a decode step reads each
shared prefix once from its entry. Greedy outputs equal ``model.generate`` on each prompt alone.

Example::

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from hfswim.generation.prefix_batching import GenerationRequest, PrefixCachingGenerator

    model = AutoModelForCausalLM.from_pretrained("path/to/model").eval()
    tokenizer = AutoTokenizer.from_pretrained("path/to/model")
    with PrefixCachingGenerator(model, tokenizer, max_batch=8) as gen:
        ids = tokenizer("Hello", add_special_tokens=True)["input_ids"]
        print(gen.generate([GenerationRequest(ids, max_new_tokens=8)])[0].text)
"""

from __future__ import annotations

import copy
import logging
import queue
import threading
import time
from collections import OrderedDict, deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import torch

from hfswim.generation import cascade_attention
from hfswim.generation.kv_headroom import add_headroom
from hfswim.generation.shortlist_head import ShortlistHead

logger = logging.getLogger(__name__)


@dataclass
class GenerationRequest:
    """One completion to generate.

    Attributes:
        prompt_ids: the prompt's token ids (special tokens included, as the model should see them).
        max_new_tokens: at most this many generated tokens.
        temperature: 0 = greedy; otherwise sampling with ``top_p`` and ``seed``.
        stop: strings that end the generation (the text is cut before the first one).
        logprobs: return the log-probability of each generated token.
        deadline: a ``time.monotonic()`` after which the request is dropped (finish_reason "deadline").
        ignore_eos: generate past end-of-sequence tokens (vLLM's option; for benchmarks and tests).
    """

    prompt_ids: list[int]
    max_new_tokens: int
    temperature: float = 0.0
    top_p: float | None = None
    seed: int | None = None
    stop: tuple[str, ...] = ()
    logprobs: bool = False
    deadline: float | None = None
    ignore_eos: bool = False
    cancelled: threading.Event = field(default_factory=threading.Event, repr=False)

    def cancel(self) -> None:
        """Stop working on this request (its client went away): it leaves the batch at the next step."""
        self.cancelled.set()


@dataclass
class GenerationResult:
    text: str
    token_ids: list[int]
    finish_reason: str  # "stop" (EOS or stop string), "length", "cancelled", "deadline"
    prompt_tokens: int
    cached_tokens: int  # prompt tokens whose KV came from the prefix cache
    logprobs: list[tuple[str, float]] | None = None


@dataclass
class GeneratorStats:
    """Counters since start: prompt tokens computed vs reused from the prefix cache, requests, decode steps."""

    requests: int = 0
    completed: int = 0
    cancelled: int = 0
    expired: int = 0
    prompt_tokens: int = 0
    prompt_tokens_reused: int = 0
    prompt_tokens_computed: int = 0  # suffixes plus prefixes computed for the cache
    prefixes_computed: int = 0
    completion_tokens: int = 0
    decode_steps: int = 0
    batch_rows_total: int = 0  # sum of rows over decode steps (mean batch = this / decode_steps)
    prefill_s: float = 0.0  # seconds in prompt (prefix and suffix) forwards
    decode_s: float = 0.0  # seconds in batched decode steps

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["prefill_s"], out["decode_s"] = round(self.prefill_s, 3), round(self.decode_s, 3)
        out["mean_batch"] = round(self.batch_rows_total / self.decode_steps, 3) if self.decode_steps else None
        return out


@dataclass
class _PrefixEntry:
    ids: tuple[int, ...]
    cache: Any  # DynamicCache of batch 1


@dataclass
class _Row:
    request: GenerationRequest
    future: Future
    cached_tokens: int
    position: int  # position id of the next token fed to the model
    prefix: _PrefixEntry | None = None  # cascade attention: the shared prefix this row's suffix follows
    generated: list[int] = field(default_factory=list)
    logprobs: list[tuple[str, float]] = field(default_factory=list)
    generator: torch.Generator | None = None
    finish_reason: str | None = None
    text: str = ""


class PrefixCachingGenerator:
    """Continuous-batching generation with a prefix KV cache, driven by one worker thread.

    Args:
        model: a causal LM (eval mode) whose cache is a transformers ``DynamicCache``.
        tokenizer: its tokenizer (for stop strings, EOS and log-prob token texts).
        max_batch: most rows decoded together.
        prefix_cache_entries: most prefixes kept (LRU).
        min_prefix_tokens: shortest shared prefix worth caching.
        history: how many recent prompts are compared to find shared prefixes.
        use_prefix_cache: False computes every prompt in full (the reference for equality tests).
        shortlist_head: greedy tokens from an int8 shortlist of the output layer rescored in float
            (:mod:`hfswim.generation.shortlist_head`); False computes the full float output layer every step.
        cascade: decode with :mod:`hfswim.generation.cascade_attention` (the batch cache holds the rows'
            suffixes, each shared prefix is read once per step); False copies each row's prefix into the batch
            cache. Needs the prefix cache and a supported model (else off).
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        max_batch: int = 8,
        prefix_cache_entries: int = 12,
        min_prefix_tokens: int = 32,
        history: int = 64,
        use_prefix_cache: bool = True,
        shortlist_head: bool = True,
        cascade: bool = True,
    ):
        self.model = model
        self.tokenizer = tokenizer
        self.max_batch = max_batch
        self.prefix_cache_entries = prefix_cache_entries
        self.min_prefix_tokens = min_prefix_tokens
        self.use_prefix_cache = use_prefix_cache
        self.stats = GeneratorStats()
        self._prefixes: OrderedDict[tuple[int, ...], _PrefixEntry] = OrderedDict()
        self._history: deque[tuple[int, ...]] = deque(maxlen=history)
        self._token_texts: dict[int, str] = {}
        self._queue: queue.Queue[tuple[GenerationRequest, Future]] = queue.Queue()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._eos = _eos_ids(model, tokenizer)
        self._device = next(model.parameters()).device
        self._head = ShortlistHead.for_model(model) if shortlist_head else None
        self._base = model.base_model if self._head is not None else None
        self.cascade = bool(cascade and use_prefix_cache and cascade_attention.enable(model))

    # -- lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> PrefixCachingGenerator:
        if self._thread is None:
            self._thread = threading.Thread(target=self._worker, name="hfswim-generator", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def __enter__(self) -> PrefixCachingGenerator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def submit(self, request: GenerationRequest) -> Future:
        """Queue a request; the future resolves to a :class:`GenerationResult` (or the worker's exception)."""
        if not request.prompt_ids:
            raise ValueError("empty prompt")
        future: Future = Future()
        self._queue.put((request, future))
        return future

    def generate(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        """Submit all requests and wait for them (convenience for tests and scripts)."""
        self.start()
        futures = [self.submit(r) for r in requests]
        return [f.result() for f in futures]

    @property
    def queued(self) -> int:
        return self._queue.qsize()

    # -- worker ----------------------------------------------------------------------------------------------
    def _worker(self) -> None:
        rows: list[_Row] = []
        cache: Any = None
        mask: torch.Tensor | None = None
        while not self._stopping.is_set():
            future: Future | None = None  # the request being admitted, not yet among the rows
            try:
                with torch.inference_mode():
                    rows, cache, mask = self._drop_finished(rows, cache, mask)
                    while len(rows) < self.max_batch:
                        future = None
                        try:
                            request, future = self._queue.get(block=not rows, timeout=0.2)
                        except queue.Empty:
                            break
                        admitted = self._admit(request, future)
                        if admitted is None:
                            continue
                        row, row_cache = admitted
                        if row.finish_reason is not None:
                            self._finish(row)
                            continue
                        rows, cache, mask = _merge(rows, cache, mask, row, row_cache)
                    if rows:
                        self._decode_step(rows, cache, mask)
                        mask = torch.cat([mask, mask.new_ones((mask.shape[0], 1))], dim=1)
            except Exception as err:  # a bug or OOM: fail the rows in flight, keep serving the next ones
                logger.exception("generation step failed")
                for failed in [row.future for row in rows] + ([future] if future is not None else []):
                    if not failed.done():
                        failed.set_exception(err)
                rows, cache, mask = [], None, None
        for row in rows:
            row.request.cancel()
            self._finish(row, reason="cancelled")

    def _admit(self, request: GenerationRequest, future: Future) -> tuple[_Row, Any] | None:
        if not future.set_running_or_notify_cancel():
            return None
        self.stats.requests += 1
        if self._expired(request):
            self._resolve(future, request, [], "cancelled" if request.cancelled.is_set() else "deadline", 0)
            return None
        from transformers import DynamicCache

        ids = list(request.prompt_ids)
        entry, computed_now = self._prefix_for(ids) if self.use_prefix_cache else (None, 0)
        if entry is not None:
            row_cache, start = copy.deepcopy(entry.cache), len(entry.ids)
        else:
            row_cache, start = DynamicCache(config=self.model.config), 0
        last = self._forward(ids[start:], start, row_cache)
        if self.cascade:  # the batch cache keeps the suffix; the prefix stays in its entry
            row_cache = _suffix_only(row_cache, len(ids) - start)
        reused = start - computed_now  # the part of the prefix that earlier requests paid for
        self.stats.prompt_tokens += len(ids)
        self.stats.prompt_tokens_reused += reused
        self.stats.prompt_tokens_computed += len(ids) - start
        row = _Row(request=request, future=future, cached_tokens=reused, position=len(ids), prefix=entry)
        if request.temperature > 0:
            row.generator = torch.Generator(device="cpu")
            row.generator.manual_seed(request.seed if request.seed is not None else int(time.time_ns()))
        self._pick([row], last)
        return row, row_cache

    def _forward(self, ids: list[int], start: int, cache: Any) -> torch.Tensor:
        started = time.perf_counter()
        input_ids = torch.tensor([ids], device=self._device)
        positions = torch.arange(start, start + len(ids), device=self._device).unsqueeze(0)
        last = self._run(input_ids=input_ids, position_ids=positions, cache=cache, use_cache=True)
        self.stats.prefill_s += time.perf_counter() - started
        return last

    def _run(self, **inputs: Any) -> torch.Tensor:
        """The model on ``inputs``; returns the last position's hidden states [batch, hidden] when the shortlist
        head picks the tokens (the output layer is then applied by :meth:`_pick`), else its logits [batch, vocab]."""
        if self._base is None:
            return self.model(**inputs, logits_to_keep=1).logits[:, -1, :]
        return self._base(**inputs).last_hidden_state[:, -1, :]

    def _pick(self, rows: list[_Row], last: torch.Tensor) -> None:
        """Choose each row's next token from :meth:`_run`'s output (row i of ``last`` belongs to ``rows[i]``)."""
        if self._head is None:
            for i, row in enumerate(rows):
                self._choose(row, last[i])
            return
        greedy = [i for i, row in enumerate(rows) if row.request.temperature <= 0 and not row.request.logprobs]
        tokens = self._head.greedy(last[greedy]).tolist() if greedy else []
        for i, token in zip(greedy, tokens, strict=True):
            self._choose(rows[i], token=int(token))
        for i, row in enumerate(rows):
            if i not in greedy:  # sampling and log-probabilities need the whole distribution
                self._choose(row, self._head.logits(last[i : i + 1])[0])

    def _prefix_for(self, ids: list[int]) -> tuple[_PrefixEntry | None, int]:
        """The longest cached prefix of ``ids`` and how many of its tokens were computed just now.

        A new prefix is computed (extending the longest cached one) when recent prompts share a longer one,
        or, when nothing is cached or shared yet, up to the prompt's last blank line (see below)."""
        key = tuple(ids)
        best: _PrefixEntry | None = None
        for entry in self._prefixes.values():
            n = len(entry.ids)
            if n < len(key) and (best is None or n > len(best.ids)) and key[:n] == entry.ids:
                best = entry
        shared = max((_common_prefix_len(key, other) for other in self._history), default=0)
        shared = min(shared, len(key) - 1)  # at least one token is left to compute the next token's logits
        shared = self._line_start_at_or_before(key, shared)
        self._history.append(key)
        have = len(best.ids) if best is not None else 0
        computed = 0
        if shared >= self.min_prefix_tokens and shared >= have + self.min_prefix_tokens:
            computed = shared - have
            best = self._compute_prefix(key[:shared], best)
        elif best is None:
            # The first prompt of a template: its instructions and exemplars end at its last blank line (the
            # passage comes last, on consecutive lines). Computing the prompt in two parts costs the same, and
            # the next prompts of the template find their prefix cached instead of paying for it twice.
            guess = self._after_last_blank_line(key)
            if guess >= self.min_prefix_tokens:
                computed = guess
                best = self._compute_prefix(key[:guess], None)
        if best is not None:
            self._prefixes.move_to_end(best.ids)
        return best, computed

    def _after_last_blank_line(self, ids: tuple[int, ...]) -> int:
        """Length of the longest proper prefix of ``ids`` that ends with a blank line ("\n\n"), or 0."""
        for end in range(len(ids) - 1, max(len(ids) - 4096, 1), -1):
            text = self._token_text(ids[end - 1])
            if text.endswith("\n\n") or (text.endswith("\n") and self._token_text(ids[end - 2]).endswith("\n")):
                return end
        return 0

    def _line_start_at_or_before(self, ids: tuple[int, ...], n: int) -> int:
        """Back ``n`` off to just after a newline: the shared instructions and exemplars end at a line break,
        while two passages often share their first word ("Passage: The"). Cutting there gives every prompt of
        a template and language the same cached prefix instead of one per first word."""
        for end in range(n, max(n - 256, 0), -1):
            if self._ends_line(ids[end - 1]):
                return end
        return n

    def _ends_line(self, token: int) -> bool:
        return self._token_text(token).endswith("\n")

    def _token_text(self, token: int) -> str:
        text = self._token_texts.get(token)
        if text is None:
            text = self._token_texts[token] = self.tokenizer.decode([token])
        return text

    def _compute_prefix(self, ids: tuple[int, ...], base: _PrefixEntry | None) -> _PrefixEntry:
        from transformers import DynamicCache

        if base is not None:
            cache, start = copy.deepcopy(base.cache), len(base.ids)
        else:
            cache, start = DynamicCache(config=self.model.config), 0
        self._forward(list(ids[start:]), start, cache)
        self.stats.prefixes_computed += 1
        self.stats.prompt_tokens_computed += len(ids) - start
        entry = _PrefixEntry(ids=ids, cache=cache)
        self._prefixes[ids] = entry
        while len(self._prefixes) > self.prefix_cache_entries:
            self._prefixes.popitem(last=False)
        return entry

    def _decode_step(self, rows: list[_Row], cache: Any, mask: torch.Tensor) -> None:
        input_ids = torch.tensor([[row.generated[-1]] for row in rows], device=self._device)
        positions = torch.tensor([[row.position] for row in rows], device=self._device)
        attention_mask = torch.cat([mask, mask.new_ones((mask.shape[0], 1))], dim=1)
        started = time.perf_counter()
        if self.cascade:
            step = cascade_attention.CascadeStep(positions[:, 0], attention_mask.bool(), self._groups(rows))
            extra = {"attention_mask": None, cascade_attention.STEP_KWARG: step}
        else:
            extra = {"attention_mask": attention_mask}
        last = self._run(input_ids=input_ids, position_ids=positions, cache=cache, use_cache=True, **extra)
        for row in rows:
            row.position += 1
        self._pick(rows, last)
        self.stats.decode_s += time.perf_counter() - started
        self.stats.decode_steps += 1
        self.stats.batch_rows_total += len(rows)

    def _groups(self, rows: list[_Row]) -> list[cascade_attention.PrefixGroup]:
        """The rows of each shared prefix, for cascade attention."""
        members: dict[int, list[int]] = {}
        for i, row in enumerate(rows):
            if row.prefix is not None:
                members.setdefault(id(row.prefix), []).append(i)
        groups = []
        for index in members.values():
            entry = rows[index[0]].prefix
            whole = len(index) == len(rows)
            tensor = None if whole else torch.tensor(index, device=self._device)
            groups.append(cascade_attention.PrefixGroup(cache=entry.cache, length=len(entry.ids), index=tensor))
        return groups

    def _choose(self, row: _Row, logits: torch.Tensor | None = None, token: int | None = None) -> None:
        """Take ``token`` (greedy, chosen by the shortlist head) or pick one from ``logits`` as next token of
        ``row``, and decide whether the row is finished."""
        request = row.request
        if token is None:
            logits = logits.float()
            if request.temperature > 0:
                probs = torch.softmax(logits / request.temperature, dim=-1)
                if request.top_p is not None and request.top_p < 1.0:
                    probs = _top_p_filter(probs, request.top_p)
                token = int(torch.multinomial(probs, 1, generator=row.generator).item())
            else:
                token = int(torch.argmax(logits).item())
        if request.logprobs and logits is not None:
            logprob = float(torch.log_softmax(logits, dim=-1)[token].item())
            row.logprobs.append((self.tokenizer.decode([token]), logprob))
        row.generated.append(token)
        self.stats.completion_tokens += 1
        if token in self._eos and not request.ignore_eos:
            row.finish_reason = "stop"
            return
        row.text = self.tokenizer.decode(row.generated, skip_special_tokens=True)
        if any(s and s in row.text for s in request.stop):
            row.finish_reason = "stop"
        elif len(row.generated) >= request.max_new_tokens:
            row.finish_reason = "length"

    def _expired(self, request: GenerationRequest) -> bool:
        return request.cancelled.is_set() or (request.deadline is not None and time.monotonic() > request.deadline)

    def _drop_finished(self, rows: list[_Row], cache: Any, mask: torch.Tensor | None):
        keep = []
        for i, row in enumerate(rows):
            if row.finish_reason is None and self._expired(row.request):
                row.finish_reason = "cancelled" if row.request.cancelled.is_set() else "deadline"
            if row.finish_reason is None:
                keep.append(i)
            else:
                self._finish(row)
        if len(keep) == len(rows):
            return rows, cache, mask
        if not keep:
            return [], None, None
        index = torch.tensor(keep, device=self._device)
        cache.batch_select_indices(index)
        mask = mask[index]
        rows = [rows[i] for i in keep]
        shared_padding = int((mask == 0).long().cumprod(dim=1).sum(dim=1).min().item())  # leading 0s of every row
        _trim_left(cache, shared_padding)
        return rows, cache, mask[:, shared_padding:]

    def _finish(self, row: _Row, reason: str | None = None) -> None:
        reason = reason or row.finish_reason or "stop"
        self._resolve(row.future, row.request, row.generated, reason, row.cached_tokens, row)

    def _resolve(
        self,
        future: Future,
        request: GenerationRequest,
        generated: list[int],
        reason: str,
        cached: int,
        row: _Row | None = None,
    ) -> None:
        if reason == "cancelled":
            self.stats.cancelled += 1
        elif reason == "deadline":
            self.stats.expired += 1
        else:
            self.stats.completed += 1
        ids = generated if request.ignore_eos else [t for t in generated if t not in self._eos]
        text = self.tokenizer.decode(ids, skip_special_tokens=True) if ids else ""
        cut = min((text.find(s) for s in request.stop if s and s in text), default=-1)
        if cut >= 0:
            text = text[:cut]
        result = GenerationResult(
            text=text,
            token_ids=list(generated),
            finish_reason=reason,
            prompt_tokens=len(request.prompt_ids),
            cached_tokens=cached,
            logprobs=list(row.logprobs) if row is not None and request.logprobs else None,
        )
        if not future.done():
            future.set_result(result)


def _eos_ids(model: Any, tokenizer: Any) -> frozenset[int]:
    ids: set[int] = set()
    for value in (getattr(getattr(model, "generation_config", None), "eos_token_id", None), tokenizer.eos_token_id):
        if isinstance(value, int):
            ids.add(value)
        elif value:
            ids.update(int(v) for v in value)
    return frozenset(ids)


def _common_prefix_len(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def _top_p_filter(probs: torch.Tensor, top_p: float) -> torch.Tensor:
    sorted_probs, order = torch.sort(probs, descending=True)
    keep = torch.cumsum(sorted_probs, dim=-1) - sorted_probs < top_p
    filtered = torch.zeros_like(probs).scatter(-1, order, sorted_probs * keep)
    return filtered / filtered.sum()


# -- the left-padded batch cache ------------------------------------------------------------------------------
# A batch cache has one "frame" of L slots shared by all rows; row i's tokens fill the last len_i slots and the
# 2D mask marks them. Full-attention layers hold all L slots, sliding-window layers the last min(L, window - 1),
# with cumulative_length = L: the layout transformers' own padded generation produces, so its mask code applies.


def _frame_length(cache: Any) -> int:
    return int(cache.get_seq_length())


def _pad_left(cache: Any, pad: int) -> None:
    """Add ``pad`` empty (masked) slots at the start of every row's frame."""
    if pad <= 0:
        return
    for layer in cache.layers:
        if not getattr(layer, "is_initialized", False) or layer.keys is None or layer.keys.numel() == 0:
            continue
        if getattr(layer, "is_sliding", False):
            layer.cumulative_length += pad
            want = min(layer.cumulative_length, layer.sliding_window - 1)
            extra = want - layer.keys.shape[-2]
        else:
            extra = pad
        if extra > 0:
            layer.keys = _zero_pad(layer.keys, extra)
            layer.values = _zero_pad(layer.values, extra)


def _zero_pad(tensor: torch.Tensor, n: int) -> torch.Tensor:
    shape = list(tensor.shape)
    shape[-2] = n
    return torch.cat([tensor.new_zeros(shape), tensor], dim=-2)


def _trim_left(cache: Any, n: int) -> None:
    """Drop the first ``n`` frame slots (padding of every row)."""
    if n <= 0:
        return
    for layer in cache.layers:
        if not getattr(layer, "is_initialized", False) or layer.keys is None or layer.keys.numel() == 0:
            continue
        if getattr(layer, "is_sliding", False):
            layer.cumulative_length -= n
            keep = min(layer.cumulative_length, layer.sliding_window - 1)
            layer.keys = layer.keys[..., layer.keys.shape[-2] - keep :, :]
            layer.values = layer.values[..., layer.values.shape[-2] - keep :, :]
        else:
            layer.keys = layer.keys[..., n:, :]
            layer.values = layer.values[..., n:, :]


def _suffix_only(cache: Any, length: int) -> Any:
    """A cache of full-attention layers holding the last ``length`` tokens of ``cache`` (a row's suffix after
    its prefix). Sliding-window layers that no longer hold the oldest of them get zeros there: those tokens are
    outside the window of every later token, and cascade attention masks them by position."""
    from transformers import DynamicCache

    suffix = DynamicCache()
    for i, layer in enumerate(cache.layers):
        keys, values = layer.keys, layer.values
        have = keys.shape[-2]
        if have >= length:
            keys, values = keys[..., have - length :, :], values[..., have - length :, :]
        else:
            keys, values = _zero_pad(keys, length - have), _zero_pad(values, length - have)
        suffix.update(keys.contiguous(), values.contiguous(), i)
    return suffix


def _merge(rows: list[_Row], cache: Any, mask: torch.Tensor | None, row: _Row, row_cache: Any):
    """Add a freshly prefilled row (its own batch-1 cache) to the batch, left-padding whichever is shorter."""
    row_len = _frame_length(row_cache)
    row_mask = torch.ones((1, row_len), dtype=torch.long, device=row_cache.layers[0].keys.device)
    if cache is None:
        return [row], add_headroom(row_cache), row_mask  # decode steps append to the batch cache in place
    frame = _frame_length(cache)
    width = max(frame, row_len)
    _pad_left(cache, width - frame)
    _pad_left(row_cache, width - row_len)
    mask = torch.cat([mask.new_zeros((mask.shape[0], width - frame)), mask], dim=1)
    row_mask = torch.cat([row_mask.new_zeros((1, width - row_len)), row_mask], dim=1)
    for layer, new in zip(cache.layers, row_cache.layers, strict=True):
        if getattr(layer, "is_initialized", False) and getattr(new, "is_initialized", False):
            layer.keys = torch.cat([layer.keys, new.keys], dim=0)
            layer.values = torch.cat([layer.values, new.values], dim=0)
    return [*rows, row], cache, torch.cat([mask, row_mask], dim=0)
