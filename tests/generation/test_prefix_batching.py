"""The embedded server's generator: greedy outputs with the prefix cache and batching equal ``generate`` alone.

Tiny random Gemma 3 (sliding-window + full layers, window smaller than the prompts) and Llama models, built
in fixtures; token-for-token equality with ``model.generate`` on each prompt alone.
"""

from __future__ import annotations

import time

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from hfswim.generation.prefix_batching import GenerationRequest, PrefixCachingGenerator  # noqa: E402

SHARED = (
    "Write one natural question in Swahili that the summary answers.\n\n"
    "Title: Nile\nSummary: the river flows to the sea.\nQuery (Swahili): wapi mto?\n\n"
    "Title: Rhine\nSummary: the river flows through the city.\nQuery (Swahili): nini mji?\n\n"
)
SUFFIXES = [
    "Title: Danube\nSummary: the river flows.\nQuery (Swahili):",
    "Title: Kilimanjaro\nSummary: the mountain is the highest in the city of the king and the queen.\nQuery (Swahili):",
    "Title: A\nSummary: water.\nQuery (Swahili):",
    "Title: Congo\nSummary: the river flows through the forest to the ocean, past the old city.\nQuery (Swahili):",
    "Title: Volga\nSummary: the river flows to the sea?\nQuery (Swahili):",
]


@pytest.fixture(scope="module")
def tokenizer(tiny_llm_dir):
    return transformers.AutoTokenizer.from_pretrained(tiny_llm_dir)


def _gemma(tokenizer):
    config = transformers.Gemma3TextConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=4,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=16,
        sliding_window=8,  # far shorter than the prompts: the sliding layers' cache is cut and realigned
        layer_types=["sliding_attention", "sliding_attention", "full_attention", "sliding_attention"],
        max_position_embeddings=1024,
        initializer_range=0.5,  # decisive logits: no near-ties for float noise to flip
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return transformers.Gemma3ForCausalLM(config)


def _llama(tokenizer):
    config = transformers.LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        initializer_range=0.5,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return transformers.LlamaForCausalLM(config)


def _prompt_ids(tokenizer, suffix: str) -> list[int]:
    return tokenizer(tokenizer.bos_token + SHARED + suffix, add_special_tokens=False)["input_ids"]


def _reference(model, ids: list[int], max_new_tokens: int) -> list[int]:
    with torch.inference_mode():
        out = model.generate(
            torch.tensor([ids]), max_new_tokens=max_new_tokens, do_sample=False, attention_mask=torch.ones(1, len(ids))
        )
    return out[0, len(ids) :].tolist()


@pytest.mark.parametrize(
    ("build", "shortlist_head", "cascade"),
    [(_gemma, True, True), (_llama, True, True), (_gemma, False, True), (_gemma, True, False)],
    ids=["gemma3-sliding", "llama", "gemma3-full-output-layer", "gemma3-prefix-copied-per-row"],
)
def test_greedy_with_prefix_cache_and_batching_equals_generate_alone(tokenizer, build, shortlist_head, cascade):
    torch.manual_seed(0)
    model = build(tokenizer).eval()
    model.generation_config.eos_token_id = None  # run every row to max_new_tokens: longest comparison
    prompts = [_prompt_ids(tokenizer, s) for s in SUFFIXES]
    lengths = {len(p) for p in prompts}
    assert len(lengths) == len(prompts)  # rows of different lengths: the batch cache is left-padded
    if build is _gemma:
        assert min(lengths) > 3 * model.config.sliding_window
    max_new = [12, 5, 20, 9, 16]  # rows leave the batch at different steps
    expected = [_reference(model, p, n) for p, n in zip(prompts, max_new, strict=True)]
    with PrefixCachingGenerator(
        model, tokenizer, max_batch=3, min_prefix_tokens=8, shortlist_head=shortlist_head, cascade=cascade
    ) as gen:
        assert (gen._head is not None) == shortlist_head
        assert gen.cascade == cascade  # cascade attention: each shared prefix read once per decode step
        # the first prompt primes the history; the rest reuse the shared prefix, decoded 3 at a time
        first = gen.generate([GenerationRequest(prompts[0], max_new_tokens=max_new[0])])
        rest = gen.generate(
            [GenerationRequest(p, max_new_tokens=n) for p, n in zip(prompts[1:], max_new[1:], strict=True)]
        )
        stats = gen.stats
    results = first + rest
    assert [r.token_ids for r in results] == expected
    assert all(r.finish_reason == "length" for r in results)
    assert stats.prefixes_computed >= 1 and stats.prompt_tokens_reused > 0
    assert stats.as_dict()["mean_batch"] > 1
    assert sum(r.cached_tokens > 0 for r in results) >= 3


def test_without_prefix_cache_every_prompt_is_computed_in_full(tokenizer):
    torch.manual_seed(0)
    model = _gemma(tokenizer).eval()
    prompts = [_prompt_ids(tokenizer, s) for s in SUFFIXES[:3]]
    with PrefixCachingGenerator(model, tokenizer, max_batch=4, use_prefix_cache=False) as gen:
        results = gen.generate([GenerationRequest(p, max_new_tokens=4) for p in prompts])
        assert gen.stats.prompt_tokens_reused == 0
        assert gen.stats.prompt_tokens_computed == sum(map(len, prompts))
    assert all(r.cached_tokens == 0 for r in results)


def test_stop_strings_eos_logprobs_and_sampling(tokenizer):
    torch.manual_seed(0)
    model = _llama(tokenizer).eval()
    ids = _prompt_ids(tokenizer, SUFFIXES[0])
    greedy = _reference(model, ids, 10)
    text = tokenizer.decode(greedy, skip_special_tokens=True)
    with PrefixCachingGenerator(model, tokenizer, max_batch=2) as gen:
        stop = text[len(text) // 2 : len(text) // 2 + 2] if len(text) > 3 else "zz"
        (stopped,) = gen.generate([GenerationRequest(ids, max_new_tokens=10, stop=(stop,), logprobs=True)])
        assert stop not in stopped.text and text.startswith(stopped.text)
        assert stopped.logprobs and all(lp <= 0 for _, lp in stopped.logprobs)
        a, b = gen.generate([GenerationRequest(ids, max_new_tokens=8, temperature=1.0, seed=s) for s in (1, 1)])
        assert a.token_ids == b.token_ids  # same seed, same sample
        model.generation_config.eos_token_id = greedy[2]
        gen._eos = frozenset({greedy[2]})
        (eos,) = gen.generate([GenerationRequest(ids, max_new_tokens=10)])
        assert eos.finish_reason == "stop" and eos.token_ids == greedy[:3]


def test_cancelled_and_expired_requests_leave_the_batch(tokenizer):
    torch.manual_seed(0)
    model = _llama(tokenizer).eval()
    ids = _prompt_ids(tokenizer, SUFFIXES[1])
    with PrefixCachingGenerator(model, tokenizer, max_batch=4) as gen:
        keep = GenerationRequest(ids, max_new_tokens=30)
        dropped = GenerationRequest(ids, max_new_tokens=100_000)
        late = GenerationRequest(ids, max_new_tokens=100_000, deadline=time.monotonic() + 0.3)
        futures = [gen.submit(r) for r in (keep, dropped, late)]
        time.sleep(0.2)
        dropped.cancel()
        results = [f.result(timeout=60) for f in futures]
        assert gen.stats.cancelled == 1 and gen.stats.expired == 1
    assert [r.finish_reason for r in results] == ["length", "cancelled", "deadline"]
    assert len(results[0].token_ids) == 30 and len(results[1].token_ids) < 100_000


def test_shared_prefix_is_cut_at_a_line_start_so_one_entry_serves_every_passage(tokenizer):
    torch.manual_seed(0)
    model = _llama(tokenizer).eval()
    # the first two passages share "Title: the river": without the cut the cached prefix would end mid-line
    # and the third prompt would need a second prefix computed from scratch
    suffixes = ["Title: the river Nile\nSummary:", "Title: the river Congo\nSummary:", "Title: a city\nSummary:"]
    prompts = [_prompt_ids(tokenizer, s) for s in suffixes]
    with PrefixCachingGenerator(model, tokenizer, max_batch=1, min_prefix_tokens=8) as gen:
        results = [gen.generate([GenerationRequest(p, max_new_tokens=2)])[0] for p in prompts]
        assert gen.stats.prefixes_computed == 1
    shared = len(_prompt_ids(tokenizer, ""))
    assert [r.cached_tokens for r in results] == [0, shared, shared]


def test_cascade_attention_with_rows_of_several_prefixes_and_none_equals_generate_alone(tokenizer):
    """Rows of two templates (two cached prefixes) and a short prompt without one, decoded in one batch."""
    torch.manual_seed(1)
    model = _gemma(tokenizer).eval()
    model.generation_config.eos_token_id = None
    other = SHARED.replace("Swahili", "German").replace("river", "stream")
    prompts = [_prompt_ids(tokenizer, s) for s in SUFFIXES[:3]]
    prompts += [tokenizer(tokenizer.bos_token + other + s, add_special_tokens=False)["input_ids"] for s in SUFFIXES[3:]]
    prompts.append(tokenizer(tokenizer.bos_token + "Short.", add_special_tokens=False)["input_ids"])
    max_new = [7, 3, 11, 9, 5, 6]
    expected = [_reference(model, p, n) for p, n in zip(prompts, max_new, strict=True)]
    with PrefixCachingGenerator(model, tokenizer, max_batch=6, min_prefix_tokens=8) as gen:
        assert gen.cascade
        gen.generate([GenerationRequest(prompts[0], max_new_tokens=1), GenerationRequest(prompts[3], max_new_tokens=1)])
        order = [0, 3, 5, 1, 4, 2]  # interleaved templates: the groups are index subsets of the batch
        results = gen.generate([GenerationRequest(prompts[i], max_new_tokens=max_new[i]) for i in order])
    assert [r.token_ids for r in results] == [expected[i] for i in order]
    assert sum(r.cached_tokens > 0 for r in results) == 5
