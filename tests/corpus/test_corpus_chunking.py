"""Passages of at most max_words words, on paragraph and sentence boundaries, in spaced and unspaced scripts."""

from __future__ import annotations

import random

import pytest

from hfswim.corpus import CorpusConfig, chunk_text, count_words, iter_passages
from hfswim.corpus.chunking import split_long_sentence


def words_of(passages: list[str]) -> list[str]:
    return " ".join(passages).split()


def test_short_text_is_one_passage_with_normalised_whitespace():
    assert chunk_text("  A short\n text.  ", "en") == ["A short text."]
    assert chunk_text(" \n ", "en") == []
    assert chunk_text("\ufeffA file that starts with a byte-order mark.", "en")[0].startswith("A file")


def test_counts_words_in_spaced_scripts_ignoring_lone_punctuation():
    assert count_words("Nairobi , the capital - of Kenya.") == 5
    assert count_words("Москва — столица России.") == 3
    assert count_words("नई दिल्ली भारत की राजधानी है।") == 6


def test_counts_unspaced_scripts_by_characters_per_word():
    assert count_words("北京是首都") == pytest.approx(5 / 1.5)  # Han: 1.5 characters per word
    assert count_words("ひらがな") == pytest.approx(2.0)  # kana: 2 per word
    # Thai: 4 letters per word; combining vowel and tone marks are free.
    assert count_words("น้ำ") == pytest.approx(2 / 4)
    assert count_words("GPT 模型") == pytest.approx(1 + 2 / 1.5)


def test_packs_sentences_greedily_without_exceeding_the_limit():
    rng = random.Random(0)
    vocab = "river city capital museum history science music water energy planet ocean".split()
    sentences = [" ".join(rng.choice(vocab) for _ in range(rng.randint(3, 25))).capitalize() + "." for _ in range(60)]
    text = " ".join(sentences)
    passages = chunk_text(text, "en", max_words=40)
    assert all(count_words(p) <= 40 for p in passages)
    assert words_of(passages) == text.split()  # nothing lost, nothing reordered
    assert all(p.endswith(".") for p in passages)  # every cut is at a sentence end
    assert len(passages) <= 2 * sum(len(s.split()) for s in sentences) // 40 + 1  # greedy, not one per sentence


def test_prefers_paragraph_boundaries():
    para1 = "Alpha beta gamma. Delta epsilon."  # 5 words
    para2 = "One two three four. Five six seven eight."  # 8 words
    assert chunk_text(f"{para1}\n\n{para2}", "en", max_words=10) == [para1, para2]
    assert chunk_text(f"{para1}\n\n{para2}", "en", max_words=13) == [f"{para1} {para2}"]


def test_sentence_longer_than_the_limit_falls_back_to_word_boundaries():
    sentence = " ".join(f"w{i}" for i in range(250)) + "."
    passages = chunk_text(f"Short one. {sentence} Tail here.", "en", max_words=100)
    assert all(count_words(p) <= 100 for p in passages)
    assert words_of(passages) == f"Short one. {sentence} Tail here.".split()
    assert [p.split()[0] for p in passages] == ["Short", "w0", "w100", "w200"]
    assert passages[-1].endswith("w249. Tail here.")  # the remainder packs with what follows
    assert split_long_sentence("a b c d e", 2) == ["a b", "c d", "e"]


@pytest.mark.parametrize(
    ("lang", "sentence", "stop"),
    [
        ("zh", "长城是中国古代修建的军事防御工程，东西绵延数千公里。", "。"),
        ("ja", "富士山は日本で最も高い山であり、古くから信仰の対象とされてきた。", "。"),
        ("hi", "गंगा भारत की सबसे महत्वपूर्ण नदियों में से एक है।", "।"),
        ("bn", "সুন্দরবন পৃথিবীর সবচেয়ে বড় ম্যানগ্রোভ বন।", "।"),
        ("ar", "نهر النيل من أطول أنهار العالم؟", "؟"),
        ("zh", "你去过北京吗？", "？"),
    ],
)
def test_splits_on_cjk_devanagari_and_arabic_sentence_punctuation(lang, sentence, stop):
    text = " ".join([sentence] * 12) if lang not in ("zh", "ja") else sentence * 12
    limit = max(1, int(count_words(sentence) * 2.5))  # room for two sentences, not three
    passages = chunk_text(text, lang, max_words=limit)
    assert len(passages) == 6
    assert all(p.endswith(stop) and count_words(p) <= limit for p in passages)
    assert all(p.count(stop) == 2 for p in passages)
    if lang in ("zh", "ja"):
        assert "".join(passages) == text  # unspaced: joined back without inserted spaces


def test_long_unspaced_sentence_is_cut_between_characters_within_the_limit():
    text = "长城是中国古代修建的大型军事防御工程" * 20  # one 360-character sentence, no punctuation
    passages = chunk_text(text, "zh", max_words=30)
    assert "".join(passages) == text
    assert all(count_words(p) <= 30 for p in passages)
    assert [len(p) for p in passages[:-1]] == [45] * (len(passages) - 1)  # 30 words x 1.5 characters


def test_thai_breaks_at_spaces_which_end_thai_clauses():
    clause = "แม่น้ำเจ้าพระยาเป็นแม่น้ำสายสำคัญที่สุดของประเทศไทย"
    text = " ".join([clause] * 10)
    passages = chunk_text(text, "th", max_words=int(count_words(clause) * 3) + 1)
    assert all(p.split(" ") == [clause] * len(p.split(" ")) for p in passages)  # no clause cut in two
    assert [len(p.split(" ")) for p in passages] == [3, 3, 3, 1]


def test_passage_ids_are_doc_id_and_chunk_index_and_stable(tmp_path):
    import json

    path = tmp_path / "c.jsonl"
    long_text = " ".join(f"Sentence number {i} is here." for i in range(60))  # 300 words
    path.write_text(json.dumps({"doc_id": "d1", "lang": "en", "title": "T", "text": long_text}) + "\n")
    config = CorpusConfig(source=str(path), max_words=100)
    first = list(iter_passages(config))
    assert [p.passage_id for p in first] == ["d1#0", "d1#1", "d1#2"]
    assert first == list(iter_passages(config))
    assert {p.title for p in first} == {"T"} and {p.doc_id for p in first} == {"d1"}
