"""Fixtures for the encoder tests: a tiny random USE-architecture model, and the real converted port."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

# A few scripts, so the tiny SentencePiece model has pieces for Latin, Cyrillic, Arabic and CJK text.
TINY_TEXT = [
    "the river flows through the city and the capital has a museum",
    "what is the history of science and music in the mountain school",
    "der fluss fließt durch die stadt und die hauptstadt hat ein museum",
    "el río pasa por la ciudad y la capital tiene un museo",
    "mto unapita katikati ya mji na mji mkuu una makumbusho",
    "река течёт через город и в столице есть музей",
    "يمر النهر عبر المدينة وفي العاصمة متحف",
    "河流穿过城市，首都有一座博物馆",
] * 20


def train_tiny_sentencepiece(path: Path, texts: list[str] = TINY_TEXT, vocab_size: int = 100) -> Path:
    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(texts),
        model_writer=model,
        vocab_size=vocab_size,
        model_type="unigram",
        character_coverage=1.0,
        minloglevel=2,
    )
    path.write_bytes(model.getvalue())
    return path


def build_tiny_usem3(folder: Path, seed: int = 0) -> Path:
    """A randomly initialised USEncoder (16-d) with a 100-piece SentencePiece model, saved as sentence-transformers."""
    import torch
    from sentence_transformers import SentenceTransformer

    from hfswim.encoders.module import USEncoder

    folder.mkdir(parents=True, exist_ok=True)
    sp = train_tiny_sentencepiece(folder / "tiny.model")
    torch.manual_seed(seed)
    encoder = USEncoder(
        sp_model_path=str(sp), vocab_size=100, embedding_dim=16, cnn_dim=8, hidden_dim=12, output_dim=16,
        max_seq_length=64, query_length=32, document_length=64,
    )  # fmt: skip
    SentenceTransformer(modules=[encoder], device="cpu").save(str(folder / "st"), create_model_card=False)
    return folder / "st"


@pytest.fixture(scope="session")
def tiny_usem3(tmp_path_factory) -> Path:
    return build_tiny_usem3(tmp_path_factory.mktemp("tiny-usem3"))


@pytest.fixture(scope="session")
def usem3_path() -> Path:
    """The real port, converted once into the hfswim cache (``$HFSWIM_CACHE`` or ``~/.cache/hfswim``)."""
    from hfswim.encoders import build_usem3_model

    return build_usem3_model()
