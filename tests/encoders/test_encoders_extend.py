"""Adding Indic pieces to a USE-architecture model (tiny random instance): ids, rows, training reaches them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hfswim.encoders import load_sentence_transformer
from hfswim.encoders.extend import append_pieces, extend_vocabulary
from hfswim.encoders.indic import indic_characters, romanize
from hfswim.errors import InputError

HINDI = [
    "भारत दक्षिण एशिया में स्थित एक विशाल देश है",
    "गंगा नदी हिमालय से निकलती है",
    "हिंदी भारत में सबसे अधिक बोली जाने वाली भाषा है",
    "दिल्ली भारत की राजधानी है",
] * 20
LATIN = ["the river flows through the city", "mto unapita katikati ya mji", "река течёт через город"]


@pytest.fixture(scope="module")
def extended(tiny_usem3, tmp_path_factory):
    return extend_vocabulary(tiny_usem3, HINDI, tmp_path_factory.mktemp("ext") / "m", vocab_size=150)


def test_romanize_shares_one_table_across_indic_blocks():
    assert romanize("भारत") == "bhaarata" and romanize("नमस्ते") == "namaste"
    assert romanize("ভারত") == "bhaarata"  # Bengali: same ISCII offsets
    assert romanize("१९४७") == "1947" and romanize("abc") == "abc"
    assert len(indic_characters()) > 800


def test_appended_pieces_come_after_the_original_ones(tiny_usem3):
    import sentencepiece as spm

    original = load_sentence_transformer(tiny_usem3)[0].tokenizer
    proto = append_pieces(original.serialized_model_proto(), [("▁भारत", -5.0), ("गंगा", -6.0)])
    extended = spm.SentencePieceProcessor(model_proto=proto)
    n = original.get_piece_size()
    assert extended.get_piece_size() == n + 2
    assert [extended.id_to_piece(i) for i in range(n)] == [original.id_to_piece(i) for i in range(n)]
    assert extended.encode("भारत गंगा") == [n, original.piece_to_id("▁"), n + 1]


def test_extension_keeps_ids_and_embeddings_of_other_text(tiny_usem3, extended):
    base, ext = load_sentence_transformer(tiny_usem3), load_sentence_transformer(extended)
    assert ext[0].original_vocab_size == base[0].vocab_size < ext[0].vocab_size
    assert ext[0].token_ids(LATIN) == base[0].token_ids(LATIN)
    np.testing.assert_allclose(ext.encode(LATIN), base.encode(LATIN), atol=1e-6)
    before, after = base[0].token_ids(HINDI[:2]), ext[0].token_ids(HINDI[:2])
    assert all(0 in row for row in before) and not any(0 in row for row in after)
    assert not np.allclose(ext.encode(HINDI[:2]), base.encode(HINDI[:2]))  # Hindi now has its own pieces


def test_training_moves_the_added_rows(tmp_path, extended):
    from hfswim.training import TrainConfig, train
    from tests.training.conftest import write_parquet

    rows = [{"query": HINDI[i], "title": "", "text": HINDI[i + 1], "query_language": "hi", "passage_id": str(i)}
            for i in range(4)] * 8  # fmt: skip
    data = write_parquet(rows, tmp_path / "hi.parquet")
    before = load_sentence_transformer(extended)[0].added_embeddings.detach().clone()
    result = train(TrainConfig(dataset=str(data), output_dir=str(tmp_path / "out"), base_model=str(extended),
                               batch_size=4, max_steps=3, learning_rate=1e-4, eval_split="0"))  # fmt: skip
    after = load_sentence_transformer(result.output_dir)[0]
    assert after.added_embeddings.shape == before.shape
    assert not torch.allclose(after.added_embeddings, before)


def test_refuses_text_without_indic_script_and_models_already_extended(tiny_usem3, extended, tmp_path):
    with pytest.raises(InputError, match="Indic"):
        extend_vocabulary(tiny_usem3, LATIN, tmp_path / "x")
    with pytest.raises(InputError, match="already extended"):
        extend_vocabulary(extended, HINDI, tmp_path / "y")
