"""Fixtures for the generation tests: passage files, loopback LLM servers, a tiny real model served by
``transformers serve`` and by hfswim's embedded server, and the packaged Gemma (slow)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hfswim.io import AtomicParquetWriter
from hfswim.records import PASSAGE_SCHEMA
from hfswim.testing.loopback import LoopbackLLM

# Languages whose exemplars every test may rely on.
LANGS = "sw,de"


def make_passages(n: int, lang: str = "en", prefix: str = "doc") -> list[dict]:
    return [
        {
            "passage_id": f"{prefix}{i}#0",
            "doc_id": f"{prefix}{i}",
            "passage_language": lang,
            "title": f"Topic {prefix}{i}",
            "text": f"Passage {i} tells how the river {prefix}{i} flows through the old city to the sea.",
            "source": "tests",
        }
        for i in range(n)
    ]


@pytest.fixture
def write_passages(tmp_path):
    """``write_passages(rows, name="passages.parquet")`` -> path; .jsonl names write JSON lines."""

    def write(rows: list[dict], name: str = "passages.parquet") -> Path:
        path = tmp_path / name
        if name.endswith(".jsonl"):
            path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        else:
            with AtomicParquetWriter(path, PASSAGE_SCHEMA) as writer:
                writer.write_rows(rows)
        return path

    return write


@pytest.fixture
def loopback():
    """A TGI-style loopback server (``/info``, ``/generate``), fresh per test."""
    with LoopbackLLM(kind="tgi", max_concurrent_requests=8) as server:
        yield server


@pytest.fixture
def loopback_openai():
    """An OpenAI-style loopback server (Messages API only), fresh per test."""
    with LoopbackLLM(kind="openai") as server:
        yield server


def build_tiny_causal_lm(path: Path, seed: int = 0) -> Path:
    """A 2-layer random Llama with a byte-level BPE tokenizer and a pass-through chat template (~1 MB)."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from hfswim.generation.embedded import PASSTHROUGH_CHAT_TEMPLATE

    torch.manual_seed(seed)
    path.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<pad>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    corpus = ["Title: Passage: Summary: Query (Swahili): Query (German): the river flows to the sea?"] * 20
    tok.train_from_iterator(corpus, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>", model_max_length=4096
    )
    tokenizer.chat_template = PASSTHROUGH_CHAT_TEMPLATE
    config = LlamaConfig(
        vocab_size=tok.get_vocab_size(),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = LlamaForCausalLM(config)
    model.generation_config.do_sample = False
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_llm_dir(tmp_path_factory) -> Path:
    return build_tiny_causal_lm(tmp_path_factory.mktemp("tiny-llm"))


@pytest.fixture(scope="session")
def tiny_llm_server(tiny_llm_dir):
    """A real ``transformers serve`` (managed by hfswim) serving the tiny model: (url, served model name)."""
    from hfswim.generation.embedded import EmbeddedServer

    server = EmbeddedServer(model=tiny_llm_dir, backend="transformers", startup_timeout=180)
    url = server.start()
    try:
        yield url, server.served_model
    finally:
        server.stop()


@pytest.fixture(scope="session")
def tiny_hfswim_server(tiny_llm_dir):
    """hfswim's embedded server (managed, batch 4) serving the tiny model: the started EmbeddedServer."""
    from hfswim.generation.embedded import EmbeddedServer

    server = EmbeddedServer(model=tiny_llm_dir, max_batch=4, startup_timeout=180)
    server.start()
    try:
        yield server
    finally:
        server.stop()
