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


def _sentences(words: str, n: int = 120, seed: int = 0) -> list[str]:
    """Distinct sentences over a small vocabulary (SentencePiece learns whole words from them)."""
    import random

    rng, vocab = random.Random(seed), words.split()
    return [" ".join(rng.sample(vocab, 8)) for _ in range(n)]


GREEK = _sentences(
    "Η Αθήνα είναι πρωτεύουσα της Ελλάδας και μεγαλύτερη πόλη χώρας ποταμός διασχίζει την έχει ένα μουσείο "
    "ιστορία επιστήμης μουσικής στο σχολείο του βουνού"
)
VIETNAMESE = _sentences(
    "Hà Nội là thủ đô của Việt Nam và thành phố lớn thứ hai đất nước con sông chảy qua có một bảo tàng "
    "lịch sử khoa học âm nhạc trường trên núi"
)


def test_romanisations_of_the_added_scripts():
    from hfswim.encoders.scripts import SCRIPTS, script_for_language

    assert SCRIPTS["greek"].romanize("Αθήνα Πάνθερς") == "Athina Panthers"
    assert SCRIPTS["vietnamese"].romanize("Đội thủ đô Hà Nội") == "Doi thu do Ha Noi"
    assert script_for_language("hi").name == "indic" and script_for_language("el").name == "greek"
    assert script_for_language("vi").name == "vietnamese" and script_for_language("ro") is None
    assert "ộ" in SCRIPTS["vietnamese"].letters() and "ω" in SCRIPTS["greek"].letters()


@pytest.fixture(scope="module")
def extended_greek_vietnamese(tiny_usem3, tmp_path_factory):
    texts = GREEK + VIETNAMESE + LATIN
    out = tmp_path_factory.mktemp("ext") / "m"
    return extend_vocabulary(tiny_usem3, texts, out, vocab_size=400, scripts=("greek", "vietnamese"))


def test_greek_and_vietnamese_pieces_leave_readable_text_alone(tiny_usem3, extended_greek_vietnamese):
    base, ext = load_sentence_transformer(tiny_usem3)[0], load_sentence_transformer(extended_greek_vietnamese)[0]
    n = base.vocab_size
    pieces = [ext.tokenizer.id_to_piece(i) for i in range(n, ext.vocab_size)]
    # Vietnamese pieces all hold a letter the original could not read: plain Latin text keeps its segmentation.
    unreadable = {c for p in pieces for c in p if 0 in base.tokenizer.encode(c)}
    latin_only = [p for p in pieces if not any(c in unreadable for c in p)]
    assert not latin_only, latin_only[:5]
    assert ext.token_ids(LATIN) == base.token_ids(LATIN)
    assert ext.token_ids(["the capital has a museum"]) == base.token_ids(["the capital has a museum"])
    # Greek and Vietnamese words now have multi-letter pieces and no <unk>.
    for text in (GREEK[0], VIETNAMESE[0]):
        before, after = base.token_ids([text])[0], ext.token_ids([text])[0]
        assert 0 in before and 0 not in after and len(after) < len(before)
    assert len(ext.token_ids([GREEK[0]])[0]) < 0.6 * len(GREEK[0].replace(" ", ""))  # not letter by letter
    assert any(len(p.lstrip("▁")) > 2 and all("α" <= c <= "ω" or c in "άέήίόύώ" for c in p.lstrip("▁")) for p in pieces)


def test_unknown_script_is_refused(tiny_usem3, tmp_path):
    with pytest.raises(InputError, match="unknown script"):
        extend_vocabulary(tiny_usem3, GREEK, tmp_path / "x", scripts=("klingon",))


def test_the_same_texts_give_the_same_extension(tiny_usem3, extended_greek_vietnamese, tmp_path):
    """Resuming an --extend-vocabulary run rebuilds the extension from the same pairs: the checkpoint's table only
    fits if the pieces (ids, order) and their initial rows come out identical."""
    again = extend_vocabulary(
        tiny_usem3, GREEK + VIETNAMESE + LATIN, tmp_path / "m", vocab_size=400, scripts=("greek", "vietnamese")
    )
    first, second = load_sentence_transformer(extended_greek_vietnamese)[0], load_sentence_transformer(again)[0]
    assert first.vocab_size == second.vocab_size
    pieces = [[m.tokenizer.id_to_piece(i) for i in range(m.vocab_size)] for m in (first, second)]
    assert pieces[0] == pieces[1]
    assert torch.equal(first.state_dict()["added_embeddings"], second.state_dict()["added_embeddings"])
