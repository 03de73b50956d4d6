"""Inverse cloze task pairs (--inverse-cloze): a sentence as the query, the rest of its passage as the positive."""

from __future__ import annotations

import json

import pytest

from hfswim.errors import InputError
from hfswim.records import Passage
from hfswim.training.config import TrainConfig
from hfswim.training.inverse_cloze import inverse_cloze_pairs, load_inverse_cloze
from hfswim.training.retriever import load_training_data

GREEK = "Ο Νείλος είναι ποταμός της Αφρικής. Πηγάζει από τη λίμνη Βικτώρια. Εκβάλλει στη Μεσόγειο θάλασσα κοντά."
HINDI = "गंगा भारत की सबसे लंबी नदी है। यह हिमालय से निकलती है और बंगाल की खाड़ी में गिरती है।"


def _write(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def passages(tmp_path):
    return _write(
        tmp_path / "passages.jsonl",
        [
            {"_id": "p1", "title": "Νείλος", "text": GREEK, "lang": "el"},
            {"_id": "p2", "title": "", "text": HINDI, "lang": "hi"},
            {"_id": "p3", "title": "", "text": "Μία μόνο πρόταση εδώ χωρίς άλλη.", "lang": "el"},  # one sentence
            {
                "_id": "p4",
                "title": "",
                "text": "Nil uzun bir nehirdir. Afrika'dan akar ve denize dökülür.",
                "lang": "tr",
            },
        ],
    )


def test_the_query_sentence_leaves_its_positive():
    p = Passage("p1", passage_language="el", title="", text=GREEK)
    pairs = inverse_cloze_pairs([p], pairs_per_passage=3, keep=0.0, seed=0)
    assert len(pairs) == 3 and len({pair["anchor"] for pair in pairs}) == 3  # distinct sentences
    for pair in pairs:
        assert pair["anchor"] in GREEK and pair["anchor"] not in pair["positive"]
        assert len(pair["positive"].split()) + len(pair["anchor"].split()) == len(GREEK.split())
    kept = inverse_cloze_pairs([p], pairs_per_passage=3, keep=1.0, seed=0)
    assert all(pair["positive"] == GREEK for pair in kept)  # keep=1: the sentence stays in its context


def test_pairs_are_seeded_and_take_the_passage_language(passages):
    first = load_inverse_cloze(passages, pairs_per_passage=1, keep=0.1, seed=3)
    assert first.to_list() == load_inverse_cloze(passages, pairs_per_passage=1, keep=0.1, seed=3).to_list()
    # the one-sentence passage gives no pair; Turkish (no SWIM-IR language) is a batch key like any other
    assert first["query_language"] == ["el", "hi", "tr"]
    assert first[1]["anchor"] in ("गंगा भारत की सबसे लंबी नदी है।", "यह हिमालय से निकलती है और बंगाल की खाड़ी में गिरती है।")


def test_a_passage_without_a_language_is_named(tmp_path):
    bad = _write(tmp_path / "beir.jsonl", [{"_id": "d1", "text": GREEK}])
    with pytest.raises(InputError, match="'d1' has none"):
        load_inverse_cloze(bad, pairs_per_passage=1, keep=0.1, seed=0)


def test_training_data_gains_the_pairs_outside_the_heldout(tmp_path, passages):
    records = _write(
        tmp_path / "kept.jsonl",
        [
            {"query": f"Πού ρέει ο ποταμός {i};", "text": f"Ποταμός {i} ρέει.", "query_language": "el"}
            for i in range(40)
        ],
    )
    base = {"dataset": str(records), "output_dir": str(tmp_path / "m"), "eval_split": "0.1"}
    plain = load_training_data(TrainConfig(**base))
    cloze = load_training_data(TrainConfig(**base, inverse_cloze=str(passages), inverse_cloze_pairs=2))
    assert len(cloze.train) == len(plain.train) + 6  # 2 pairs from each two-sentence passage
    assert cloze.heldout[0].queries == plain.heldout[0].queries  # held-out queries stay generated ones
    only_greek = load_training_data(TrainConfig(**base, inverse_cloze=str(passages), languages=["el"]))
    assert set(only_greek.train["query_language"]) == {"el"}
