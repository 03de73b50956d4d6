"""SWIM-IR stratified sampling: seeded, order-independent, capped, about the right size, bounded memory."""

from __future__ import annotations

import json
import math
import random
import tracemalloc
from collections import Counter
from collections.abc import Iterator

import pyarrow.parquet as pq
import pytest

from hfswim.corpus import (
    CorpusConfig,
    StratifiedSampler,
    inclusion_threshold,
    make_sampler,
    passage_draw,
    sample_passages,
    write_passages,
)
from hfswim.records import PASSAGE_SCHEMA, Passage

LANGS = ["en", "sw", "yo", "zh", "hi"]


def stream(n: int, langs: list[str] = LANGS, text: str = "") -> Iterator[Passage]:
    for i in range(n):
        yield Passage(f"doc{i}#0", passage_language=langs[i % len(langs)], text=text)


def ids(passages) -> list[str]:
    return [p.passage_id for p in passages]


def write_corpus(path, n_docs: int, langs: list[str] = LANGS, words: int = 30) -> str:
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n_docs):
            text = " ".join(f"w{(i * 7 + j) % 97}" for j in range(words)) + "."
            fh.write(json.dumps({"doc_id": f"d{i}", "lang": langs[i % len(langs)], "text": text}) + "\n")
    return str(path)


def test_draw_is_uniform_deterministic_and_seeded():
    draws = [passage_draw(f"p{i}", seed=0) for i in range(20_000)]
    assert draws == [passage_draw(f"p{i}", seed=0) for i in range(20_000)]
    assert all(0.0 <= d < 1.0 for d in draws)
    assert abs(sum(draws) / len(draws) - 0.5) < 0.01
    deciles = Counter(int(d * 10) for d in draws)
    assert all(abs(deciles[k] - 2000) < 200 for k in range(10))  # ~5 sigma
    assert draws[:50] != [passage_draw(f"p{i}", seed=1) for i in range(50)]


def test_rate_keeps_about_rate_times_total():
    n, rate = 50_000, 0.1
    kept = len(list(StratifiedSampler(threshold=rate, seed=3).sample(stream(n))))
    sigma = math.sqrt(n * rate * (1 - rate))
    assert abs(kept - n * rate) < 5 * sigma


def test_same_seed_same_sample_other_seed_other_sample():
    a = ids(StratifiedSampler(threshold=0.2, seed=7).sample(stream(5000)))
    b = ids(StratifiedSampler(threshold=0.2, seed=7).sample(stream(5000)))
    c = ids(StratifiedSampler(threshold=0.2, seed=8).sample(stream(5000)))
    assert a == b and a != c
    assert len(set(a) & set(c)) < 0.5 * len(a)  # independent draws overlap by about the rate


@pytest.mark.parametrize("cap", [None, 40])
def test_sample_does_not_depend_on_input_order(cap):
    passages = list(stream(3000))
    shuffled = passages[:]
    random.Random(1).shuffle(shuffled)
    sampler = StratifiedSampler(threshold=0.3, cap_per_language=cap, seed=0)
    forward, backward = ids(sampler.sample(passages)), ids(sampler.sample(shuffled))
    assert set(forward) == set(backward)
    if cap is not None:
        assert forward == backward  # capped output is ordered by language, then draw


def test_cap_keeps_the_lowest_draws_per_language():
    passages = list(stream(5000))
    kept = list(StratifiedSampler(threshold=1.0, cap_per_language=25, seed=2).sample(passages))
    assert Counter(p.passage_language for p in kept) == {lang: 25 for lang in LANGS}
    for lang in LANGS:
        draws = sorted(passage_draw(p.passage_id, 2) for p in passages if p.passage_language == lang)
        got = [passage_draw(p.passage_id, 2) for p in kept if p.passage_language == lang]
        assert got == draws[:25]  # exactly the 25 lowest, in order


def test_cap_smaller_than_what_the_threshold_keeps_only_in_big_languages():
    passages = list(stream(2000, ["en"] * 9 + ["sw"]))  # 1800 en, 200 sw
    kept = Counter(
        p.passage_language for p in StratifiedSampler(threshold=0.5, cap_per_language=150, seed=0).sample(passages)
    )
    assert kept["en"] == 150
    assert 60 < kept["sw"] < 140  # about 100: the cap does not bind


def test_per_language_thresholds_and_inclusion_threshold():
    assert inclusion_threshold(1000, 4000) == 0.25
    assert inclusion_threshold(10, 5) == 1.0
    kept = Counter(p.passage_language for p in StratifiedSampler(threshold={"en": 1.0}, seed=0).sample(stream(100)))
    assert kept == {"en": 20}


def test_sample_size_counts_the_corpus_first_and_keeps_about_that_many(tmp_path):
    source = write_corpus(tmp_path / "c.jsonl", 4000, words=10)
    config = CorpusConfig(source=source, sample_size=800, seed=0)
    assert make_sampler(config).threshold == pytest.approx(0.2)
    kept = ids(sample_passages(config))
    assert abs(len(kept) - 800) < 5 * math.sqrt(4000 * 0.2 * 0.8)
    given_total = CorpusConfig(source=source, sample_size=800, total=4000, seed=0)
    assert ids(sample_passages(given_total)) == kept  # a known total skips the counting pass, same result


def test_equal_allocation_gives_each_language_about_the_sample_size(tmp_path):
    source = write_corpus(tmp_path / "c.jsonl", 3000, langs=["en"] * 5 + ["sw"], words=10)  # 2500 en, 500 sw
    config = CorpusConfig(source=source, sample_size=250, allocation="equal", seed=1)
    assert make_sampler(config).threshold == pytest.approx({"en": 0.1, "sw": 0.5})
    kept = Counter(p.passage_language for p in sample_passages(config))
    assert abs(kept["en"] - 250) < 75 and abs(kept["sw"] - 250) < 60


def test_no_sampling_rule_keeps_every_passage(tmp_path):
    source = write_corpus(tmp_path / "c.jsonl", 50)
    assert len(list(sample_passages(CorpusConfig(source=source)))) == 50


def test_write_passages_writes_the_passage_schema(tmp_path):
    source = write_corpus(tmp_path / "c.jsonl", 500, words=150)  # each document -> 2 passages
    counts = write_passages(CorpusConfig(source=source, rate=0.5, cap_per_language=30), tmp_path / "out.parquet")
    table = pq.read_table(tmp_path / "out.parquet")
    assert table.schema == PASSAGE_SCHEMA
    assert counts == {lang: 30 for lang in sorted(LANGS)} == dict(Counter(table.column("passage_language").to_pylist()))
    assert all(pid.split("#")[1] in ("0", "1") for pid in table.column("passage_id").to_pylist())


def test_sampler_memory_is_bounded_on_a_200k_passage_stream():
    padding = "x" * 500  # each passage carries ~0.5 kB of text: 100 MB if the stream were materialised
    sampler = StratifiedSampler(threshold=0.5, cap_per_language=200, seed=0)
    tracemalloc.start()
    try:
        kept = sum(1 for _ in sampler.sample(stream(200_000, text=padding)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert kept == 200 * len(LANGS)
    assert peak < 2 * 2**20, f"peak {peak / 2**20:.1f} MiB"


@pytest.mark.slow
def test_whole_stage_streams_a_corpus_file_in_bounded_memory(tmp_path):
    source = write_corpus(tmp_path / "c.jsonl", 20_000, words=60)  # ~9 MB on disk
    config = CorpusConfig(source=source, sample_size=1000, cap_per_language=100, seed=0)
    tracemalloc.start()
    try:
        kept = sum(1 for _ in sample_passages(config))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert kept == 500
    assert peak < 2 * 2**20, f"peak {peak / 2**20:.1f} MiB"
