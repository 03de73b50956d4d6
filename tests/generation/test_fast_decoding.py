"""The embedded generator's fast paths: KV layers that append in place, and the int8 shortlist output layer."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from transformers.cache_utils import DynamicLayer, DynamicSlidingWindowLayer  # noqa: E402

from hfswim.generation.kv_headroom import HEADROOM, HeadroomLayer, HeadroomSlidingLayer, add_headroom  # noqa: E402
from hfswim.generation.shortlist_head import ShortlistHead  # noqa: E402


class _Cache:  # the part of DynamicCache that add_headroom uses
    def __init__(self, layers):
        self.layers = layers


@pytest.mark.parametrize("sliding", [False, True], ids=["full", "sliding-window"])
def test_headroom_layers_return_and_keep_what_the_dynamic_layers_do(sliding):
    torch.manual_seed(0)
    make = (lambda: DynamicSlidingWindowLayer(sliding_window=6)) if sliding else DynamicLayer
    plain, fast = make(), make()
    prompt = torch.randn(2, 1, 9, 4), torch.randn(2, 1, 9, 4)
    assert torch.equal(plain.update(*prompt)[0], fast.update(*prompt)[0])
    (fast,) = add_headroom(_Cache([fast])).layers
    assert isinstance(fast, HeadroomSlidingLayer if sliding else HeadroomLayer)
    pointers = set()
    for step in range(HEADROOM + 5):  # crosses one reallocation
        new = torch.randn(2, 1, 1, 4), torch.randn(2, 1, 1, 4)
        for expected, got in zip(plain.update(*new), fast.update(*new), strict=True):
            assert torch.equal(expected, got), step
        assert torch.equal(plain.keys, fast.keys) and torch.equal(plain.values, fast.values)
        assert plain.get_mask_sizes(1) == fast.get_mask_sizes(1)
        pointers.add(fast._k.buffer.data_ptr())
    assert len(pointers) <= 2  # written in place, not one new tensor per step
    fast.batch_select_indices(torch.tensor([1]))  # assigning keys/values (the batch layout code) still works
    plain.batch_select_indices(torch.tensor([1]))
    new = torch.randn(1, 1, 1, 4), torch.randn(1, 1, 1, 4)
    assert torch.equal(plain.update(*new)[1], fast.update(*new)[1])


def test_shortlist_head_picks_the_float_argmax_and_keeps_exact_logits():
    torch.manual_seed(0)
    weight, bias = torch.randn(5000, 64) * 0.2, torch.randn(5000) * 0.1
    hidden = torch.randn(256, 64) * 3
    head = ShortlistHead(weight, bias, candidates=16)
    exact = torch.nn.functional.linear(hidden, weight, bias)
    assert torch.equal(head.greedy(hidden), exact.argmax(dim=-1))
    assert torch.allclose(head.logits(hidden), exact)
    capped = ShortlistHead(weight, bias, softcap=5.0, candidates=16)
    assert torch.allclose(capped.logits(hidden), torch.tanh(exact / 5.0) * 5.0)
    assert torch.equal(capped.greedy(hidden), exact.argmax(dim=-1))  # soft-capping is monotone


def test_shortlist_head_only_for_models_with_a_plain_linear_output_layer():
    config = transformers.LlamaConfig(
        vocab_size=300, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2
    )
    model = transformers.LlamaForCausalLM(config).eval()
    assert isinstance(ShortlistHead.for_model(model), ShortlistHead)
    model.lm_head = torch.nn.Sequential(model.lm_head)  # not a Linear: the generator keeps the full forward
    assert ShortlistHead.for_model(model) is None


def test_server_tokenizer_read_from_tokenizer_json_equals_autotokenizer(tiny_llm_dir):
    from hfswim.generation.embedded_server import load_tokenizer

    reference = transformers.AutoTokenizer.from_pretrained(tiny_llm_dir)
    fast = load_tokenizer(str(tiny_llm_dir))
    assert (fast.bos_token_id, fast.eos_token_id, fast.pad_token_id) == (
        reference.bos_token_id,
        reference.eos_token_id,
        reference.pad_token_id,
    )
    messages = [{"role": "user", "content": "Title: Nile\nSummary: the river flows to the sea.\nQuery (Swahili):"}]
    texts = [t.apply_chat_template(messages, tokenize=False, add_generation_prompt=True) for t in (reference, fast)]
    assert texts[0] == texts[1] and texts[0].startswith(reference.bos_token)
    ids = [t(texts[0], add_special_tokens=False)["input_ids"] for t in (reference, fast)]
    assert ids[0] == ids[1]
    assert fast.decode(ids[0], skip_special_tokens=True) == reference.decode(ids[0], skip_special_tokens=True)
