"""Score-based filters (log-prob, cross-encoder, round-trip) and safety, with real (tiny) models."""

from __future__ import annotations

from pathlib import Path

import pytest

from hfswim.filters.cross_encoder import CrossEncoderFilter
from hfswim.filters.logprob import LogprobFilter
from hfswim.filters.pipeline import filter_rows
from hfswim.filters.roundtrip import RoundTripFilter
from hfswim.filters.safety import SafetyFilter


@pytest.fixture(scope="module")
def tiny_cross_encoder(tiny_st_model, tmp_path_factory) -> Path:
    """A randomly initialised 2-layer BERT with one output: a real CrossEncoder, meaningless scores."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    torch.manual_seed(0)
    tokenizer = BertTokenizerFast.from_pretrained(str(Path(tiny_st_model).parent / "hf"))
    config = BertConfig(
        vocab_size=256,  # > ids of the shared tiny vocab (its vocab.txt repeats "a": ids reach len(tokenizer))
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=1,
    )
    path = tmp_path_factory.mktemp("tiny-ce")
    BertForSequenceClassification(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def _classifier(tmp_path: Path, tiny_st_model, unsafe_bias: float) -> Path:
    """A tiny text classifier whose head is biased so that it always says 'toxic' (or always 'safe')."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    tokenizer = BertTokenizerFast.from_pretrained(str(Path(tiny_st_model).parent / "hf"))
    config = BertConfig(
        vocab_size=256,  # > ids of the shared tiny vocab (its vocab.txt repeats "a": ids reach len(tokenizer))
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=2,
        id2label={0: "safe", 1: "toxic"},
        label2id={"safe": 0, "toxic": 1},
    )
    model = BertForSequenceClassification(config)
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.copy_(torch.tensor([0.0, unsafe_bias]))
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    return tmp_path


def test_filters_logprob_top_k_threshold_and_missing(row):
    rows = [row(f"q{i}", record_id=f"de{i}", query_logprob=-i / 10) for i in range(5)]
    rows += [row(f"s{i}", lang="sw", record_id=f"sw{i}", query_logprob=-i / 10) for i in range(3)]
    rows += [row("no lp", record_id="none", query_logprob=None)]
    kept, rejected, _ = filter_rows(rows, [LogprobFilter(top_k=2)])
    assert sorted(r["record_id"] for r in kept) == ["de0", "de1", "sw0", "sw1"]  # top 2 per language
    reasons = {r["record_id"]: r["reject_reason"] for r in rejected}
    assert reasons["none"].startswith("no_logprob") and reasons["de4"].startswith("below_top_k")

    kept, _, _ = filter_rows(rows, [LogprobFilter(threshold=-0.15, missing="keep")])
    assert sorted(r["record_id"] for r in kept) == ["de0", "de1", "none", "sw0", "sw1"]
    kept, _, _ = filter_rows(rows, [LogprobFilter(top_fraction=0.5)])
    assert sorted(r["record_id"] for r in kept) == ["de0", "de1", "de2", "sw0", "sw1"]  # ceil(0.5 * n)


def test_filters_cross_encoder_keeps_the_top_k_by_its_own_scores(row, tiny_cross_encoder):
    from sentence_transformers import CrossEncoder

    queries = ["where is the river", "who is the king", "what is the capital city", "when was the war", "how is music"]
    rows = [row(q, lang="en", passage_id="p-rhine", record_id=f"en{i}") for i, q in enumerate(queries)]
    rows += [row(q, lang="de", passage_id="p-nile", record_id=f"de{i}") for i, q in enumerate(queries[:3])]
    kept, rejected, _ = filter_rows(rows, [CrossEncoderFilter(str(tiny_cross_encoder), top_k=2)])

    model = CrossEncoder(str(tiny_cross_encoder), device="cpu")
    scores = {
        r["record_id"]: float(s)
        for r, s in zip(rows, model.predict([(r["query"], r["text"]) for r in rows]), strict=True)
    }
    assert len(set(scores.values())) == len(scores)  # distinct: the expected top-k is unambiguous
    expected = []
    for lang in ("en", "de"):
        ids = sorted((rid for rid in scores if rid.startswith(lang)), key=lambda rid: -scores[rid])
        expected += ids[:2]
    assert sorted(r["record_id"] for r in kept) == sorted(expected)
    for r in kept + rejected:
        assert r["ce_score"] == pytest.approx(scores[r["record_id"]], abs=1e-5)
    assert all(r["reject_reason"].startswith("below_top_k") for r in rejected)

    threshold = sorted(scores.values())[3]
    kept, _, _ = filter_rows(rows, [CrossEncoderFilter(str(tiny_cross_encoder), threshold=threshold)])
    assert sorted(r["record_id"] for r in kept) == sorted(rid for rid, s in scores.items() if s >= threshold)


def test_filters_roundtrip_with_minilm(row, minilm_path):
    from tests.filters.conftest import PASSAGES

    f = RoundTripFilter(str(minilm_path), k=1)
    f.build_index(list(PASSAGES), list(PASSAGES.values()))
    rows = [
        row(PASSAGES["p-tokyo"], lang="en", passage_id="p-tokyo", record_id="identical"),
        row("Who wrote the tragedy Hamlet?", lang="en", passage_id="p-hamlet", record_id="good"),
        row(PASSAGES["p-nile"], lang="en", passage_id="p-rhine", record_id="copied-from-other"),
        row("Where is it?", lang="en", passage_id="p-unknown", record_id="orphan"),
    ]
    result = f.apply(rows)
    assert sorted(r["record_id"] for r in result.kept) == ["good", "identical"]
    assert all(r["roundtrip_rank"] == 1 for r in result.kept)
    codes = {r["record_id"]: j.code for r, j in result.rejected}
    assert codes == {"copied-from-other": "not_retrieved", "orphan": "passage_not_in_corpus"}
    # With k = all passages, the copied query still finds its (wrong) source somewhere in the list.
    wide = RoundTripFilter(str(minilm_path), k=4)
    wide.build_index(list(PASSAGES), list(PASSAGES.values()))
    copied = row(PASSAGES["p-nile"], lang="en", passage_id="p-rhine", record_id="x")
    assert wide.apply([copied]).kept[0]["roundtrip_rank"] > 1


def test_filters_safety_word_lists_user_lists_and_classifier(row, tmp_path, tiny_st_model):
    rows = [
        row("Who wrote Hamlet, you bitch?", lang="en", record_id="en-bad"),
        row("Wer hat diese Scheiße geschrieben?", lang="de", record_id="de-bad"),
        row("Who wrote Hamlet?", lang="en", record_id="en-ok"),
        row("Nani aliandika kitabu hiki kibaya sana?", lang="sw", record_id="sw-listed"),
        row("Wo liegt Köln?", lang="de", record_id="de-ok"),
    ]
    custom = tmp_path / "sw.txt"
    custom.write_text("# my list\nkibaya sana\n", encoding="utf-8")
    result = SafetyFilter(wordlists={"sw": custom}).apply(rows)
    assert sorted(r["record_id"] for r in result.kept) == ["de-ok", "en-ok"]
    assert {j.code for _, j in result.rejected} == {"blocked_word"}
    assert len(SafetyFilter(builtin=False).apply(rows).kept) == 5

    always_toxic = _classifier(tmp_path / "toxic", tiny_st_model, unsafe_bias=10.0)
    never_toxic = _classifier(tmp_path / "safe", tiny_st_model, unsafe_bias=-10.0)
    result = SafetyFilter(builtin=False, classifier=str(always_toxic)).apply(rows)
    assert not result.kept and all(j.code == "classifier" for _, j in result.rejected)
    assert len(SafetyFilter(builtin=False, classifier=str(never_toxic)).apply(rows).kept) == 5

    flag_hamlet = SafetyFilter(builtin=False, classifier=lambda texts: [float("Hamlet" in t) for t in texts])
    assert sorted(r["record_id"] for r in flag_hamlet.apply(rows).kept) == ["de-bad", "de-ok", "sw-listed"]
