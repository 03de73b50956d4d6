"""Building a local dataset repo: round trip through `datasets`, configs, shards, held-out split, errors, crashes."""

from __future__ import annotations

import hashlib
import json

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hfswim.errors import ConfigError, InputError
from hfswim.hub import rows as hub_rows
from hfswim.hub.build import build_dataset
from hfswim.hub.config import BuildConfig
from hfswim.hub.layout import HUB_SCHEMA
from hfswim.hub.shards import ShardWriter
from tests.hub.conftest import make_record


def _tree_digest(folder):
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_round_trip_generated_records_load_identically(tmp_path, write_records):
    rows = [make_record(i) for i in range(25)]
    src = write_records(rows)

    result = build_dataset(src, tmp_path / "repo")

    assert result.built == ["sw"]
    assert datasets.get_dataset_config_names(str(tmp_path / "repo")) == ["sw"]
    loaded = datasets.load_dataset(str(tmp_path / "repo"), "sw", split="train")
    assert loaded.column_names == HUB_SCHEMA.names
    assert len(loaded) == 25
    for row, got in zip(rows, loaded, strict=True):
        assert got["_id"] == row["record_id"]
        assert (got["query"], got["title"], got["text"], got["summary"]) == (
            row["query"],
            row["title"],
            row["text"],
            row["summary"],
        )
        assert (got["lang"], got["code"], got["query_language"], got["passage_language"]) == (
            "Swahili",
            "sw",
            "sw",
            "en",
        )
        assert (got["passage_id"], got["template"], got["model"]) == (row["passage_id"], "sap", "gemma-3-270m")
        assert got["query_logprob"] == pytest.approx(row["query_logprob"])
        assert got["ce_score"] is None  # generated records carry no filter scores


def test_filtered_records_publish_kept_rows_only(tmp_path, write_records):
    rows = [make_record(i, langid_language="sw", langid_score=0.9, ce_score=0.5, roundtrip_rank=1) for i in range(10)]
    rows[0]["reject_filter"], rows[0]["reject_reason"] = "langid", "looks German"
    rows[1]["parse_status"] = "no question found"
    rows[2]["query"] = "   "
    src = write_records(rows, filtered=True)

    result = build_dataset(src, tmp_path / "repo")

    loaded = datasets.load_dataset(str(tmp_path / "repo"), "sw", split="train")
    assert loaded["_id"] == [r["record_id"] for r in rows[3:]]
    assert loaded[0]["langid_score"] == pytest.approx(0.9) and loaded[0]["roundtrip_rank"] == 1
    assert result.stats.dropped == {"rejected by a filter": 1, "parse status not ok": 1, "empty query": 1}


def test_cross_lingual_and_monolingual_share_one_repo(tmp_path, write_records):
    rows = [make_record(i, "de") for i in range(4)] + [make_record(i, "de", "monolingual") for i in range(3)]
    rows += [make_record(i, "sw") for i in range(2)]
    build_dataset(write_records(rows), tmp_path / "repo")

    assert datasets.get_dataset_config_names(str(tmp_path / "repo")) == ["de", "de-mono", "sw"]
    mono = datasets.load_dataset(str(tmp_path / "repo"), "de-mono", split="train")
    cross = datasets.load_dataset(str(tmp_path / "repo"), "de", split="train")
    assert set(mono["passage_language"]) == {"de"} and set(cross["passage_language"]) == {"en"}
    assert set(cross["query_language"]) == {"de"}
    assert len(mono) == 3 and len(cross) == 4


def test_setting_inferred_when_missing(tmp_path, write_records):
    rows = [
        make_record(0, "de", setting=None, passage_language="de"),
        make_record(1, "de", setting=None, passage_language="en"),
    ]
    build_dataset(write_records(rows), tmp_path / "repo")
    assert datasets.get_dataset_config_names(str(tmp_path / "repo")) == ["de", "de-mono"]


def test_two_repo_layout_uses_bare_codes_and_refuses_the_other_setting(tmp_path, write_records):
    mono = write_records([make_record(i, "de", "monolingual") for i in range(3)], name="mono.parquet")
    build_dataset(mono, tmp_path / "mono", BuildConfig(layout="monolingual"))
    assert datasets.get_dataset_config_names(str(tmp_path / "mono")) == ["de"]

    cross = write_records([make_record(i, "sw") for i in range(3)], name="cross.parquet")
    with pytest.raises(ConfigError, match="holds monolingual data only"):
        build_dataset(cross, tmp_path / "mono")
    assert datasets.get_dataset_config_names(str(tmp_path / "mono")) == ["de"]


def test_shards_are_bounded_and_named_for_the_hub(tmp_path, write_records):
    build_dataset(write_records([make_record(i) for i in range(23)]), tmp_path / "repo", BuildConfig(shard_rows=10))

    shards = sorted(p.name for p in (tmp_path / "repo" / "data" / "sw").iterdir())
    assert shards == [f"train-0000{i}-of-00003.parquet" for i in range(3)]
    assert [pq.ParquetFile(tmp_path / "repo" / "data" / "sw" / s).metadata.num_rows for s in shards] == [10, 10, 3]
    assert len(datasets.load_dataset(str(tmp_path / "repo"), "sw", split="train")) == 23


def test_shard_writer_respects_the_byte_bound(tmp_path):
    schema = pa.schema([("x", pa.string())])
    with ShardWriter(tmp_path, "c", "train", schema, shard_rows=10_000, shard_bytes=2_000, row_group_rows=50) as w:
        for _ in range(4):
            w.write(pa.table({"x": ["y" * 100] * 50}, schema=schema))
    shards = sorted((tmp_path / "data" / "c").iterdir())
    assert len(shards) > 5
    assert sum(pq.ParquetFile(s).metadata.num_rows for s in shards) == 200


def test_heldout_split_is_deterministic_disjoint_and_loads_in_mteb(tmp_path, write_records):
    pytest.importorskip("mteb", reason="the eval extra (mteb) reads the held-out split")
    from mteb.abstasks.retrieval_dataset_loaders import RetrievalDatasetLoader

    rows = [make_record(i) for i in range(200)]
    src = write_records(rows)
    config = BuildConfig(heldout_fraction=0.2, seed=3)
    result = build_dataset(src, tmp_path / "a", config)
    build_dataset(src, tmp_path / "b", config)

    assert _tree_digest(tmp_path / "a") == _tree_digest(tmp_path / "b")  # same seed, same bytes
    repo = str(tmp_path / "a")
    assert datasets.get_dataset_config_names(repo) == ["sw", "sw-corpus", "sw-queries", "sw-qrels"]
    train = datasets.load_dataset(repo, "sw", split="train")
    queries = datasets.load_dataset(repo, "sw-queries", split="test")
    qrels = datasets.load_dataset(repo, "sw-qrels", split="test")
    held = result.config("sw").heldout["queries"]
    assert 15 <= held <= 65 and len(queries) == held and len(train) == 200 - held
    assert not set(qrels["corpus-id"]) & set(train["passage_id"])  # no held-out passage in train
    assert not set(queries["_id"]) & set(train["_id"])

    split = RetrievalDatasetLoader(hf_repo=repo, revision=None, split="test", config="sw").load()
    assert len(split["corpus"]) == 200  # every passage: train passages are distractors
    assert len(split["queries"]) == held
    by_id = {r["record_id"]: r for r in rows}
    for query_id, rels in split["relevant_docs"].items():
        assert rels == {by_id[query_id]["passage_id"]: 1}


def test_adding_a_language_keeps_other_configs_byte_identical(tmp_path, write_records):
    repo = tmp_path / "repo"
    build_dataset(write_records([make_record(i) for i in range(5)], name="sw.parquet"), repo)
    before = _tree_digest(repo)

    result = build_dataset(write_records([make_record(i, "yo") for i in range(4)], name="yo.parquet"), repo)

    after = _tree_digest(repo)
    assert result.built == ["yo"] and [c.name for c in result.configs] == ["sw", "yo"]
    assert {k: v for k, v in after.items() if k.startswith("data/sw/")} == {
        k: v for k, v in before.items() if k.startswith("data/sw/")
    }
    assert datasets.get_dataset_config_names(str(repo)) == ["sw", "yo"]
    assert "Yoruba" in (repo / "README.md").read_text() and "Swahili" in (repo / "README.md").read_text()

    # Rebuilding the same input changes no file at all (nothing time-dependent is written).
    build_dataset(write_records([make_record(i, "yo") for i in range(4)], name="yo.parquet"), repo)
    assert _tree_digest(repo) == after


def test_rebuilding_a_language_replaces_its_shards(tmp_path, write_records):
    repo = tmp_path / "repo"
    build_dataset(write_records([make_record(i) for i in range(30)]), repo, BuildConfig(shard_rows=10))
    build_dataset(write_records([make_record(i) for i in range(5)]), repo, BuildConfig(shard_rows=10))
    assert [p.name for p in (repo / "data" / "sw").iterdir()] == ["train-00000-of-00001.parquet"]
    assert len(datasets.load_dataset(str(repo), "sw", split="train")) == 5


def test_empty_language_is_one_clear_error(tmp_path, write_records):
    src = write_records([make_record(i) for i in range(3)])
    with pytest.raises(InputError, match=r"language\(s\) yo: no publishable record \(empty language\)"):
        build_dataset(src, tmp_path / "repo", BuildConfig(languages=["sw", "yo"]))
    assert not list((tmp_path / "repo" / "data").glob("*/*.parquet"))


def test_row_without_query_language_names_file_and_row(tmp_path, write_records):
    rows = [make_record(i) for i in range(5)]
    rows[3]["query_language"] = ""
    src = write_records(rows)
    with pytest.raises(InputError, match=r"records\.parquet: row 3: empty query language"):
        build_dataset(src, tmp_path / "repo")


def test_no_publishable_record_is_an_error(tmp_path, write_records):
    src = write_records([make_record(0, parse_status="refused")])
    with pytest.raises(InputError, match="no publishable record"):
        build_dataset(src, tmp_path / "repo")


def test_input_without_record_columns_is_an_error(tmp_path):
    path = tmp_path / "other.parquet"
    pq.write_table(pa.table({"question": ["q"]}), path)
    with pytest.raises(InputError, match="missing column"):
        build_dataset(path, tmp_path / "repo")


def test_schema_mismatch_across_shards_is_one_clear_error(tmp_path, write_records):
    repo = tmp_path / "repo"
    build_dataset(write_records([make_record(i) for i in range(3)]), repo)
    foreign = pa.table({"_id": ["x"], "query": ["q"], "score": [1.0]})
    pq.write_table(foreign, repo / "data" / "sw" / "train-00001-of-00002.parquet")

    with pytest.raises(InputError, match=r"train-00001-of-00002\.parquet: schema mismatch.*missing column\(s\) lang"):
        build_dataset(write_records([make_record(i, "yo") for i in range(3)], name="yo.parquet"), repo)


def test_crash_mid_build_leaves_no_shard_that_load_dataset_reads(tmp_path, write_records, monkeypatch):
    repo = tmp_path / "repo"
    build_dataset(write_records([make_record(i) for i in range(6)], name="first.parquet"), repo)
    before = _tree_digest(repo)

    calls = {"n": 0}
    real = hub_rows.to_hub_table

    def crash_on_third_batch(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("power cut")
        return real(*args, **kwargs)

    monkeypatch.setattr(hub_rows, "to_hub_table", crash_on_third_batch)
    rows = [make_record(i) for i in range(100)] + [make_record(i, "yo") for i in range(100)]
    with pytest.raises(RuntimeError, match="power cut"):
        build_dataset(write_records(rows, name="second.parquet"), repo, BuildConfig(batch_size=40, shard_rows=10))

    assert _tree_digest(repo) == before  # previous build intact, staging removed
    assert len(datasets.load_dataset(str(repo), "sw", split="train")) == 6


def test_killed_build_leaves_only_hidden_staging_that_the_next_build_removes(tmp_path, write_records):
    repo = tmp_path / "repo"
    build_dataset(write_records([make_record(i) for i in range(4)]), repo)
    # A process killed mid-write: shards written to staging, never committed.
    writer = ShardWriter(repo, "sw", "train", HUB_SCHEMA, shard_rows=2)
    writer.write(pa.Table.from_pylist([{"_id": "zz", "query": "half"}] * 5, schema=HUB_SCHEMA))
    writer._flush()
    assert list((repo / "data").glob(".sw-*.staging/*.parquet"))

    assert len(datasets.load_dataset(str(repo), "sw", split="train")) == 4  # staging is invisible
    build_dataset(write_records([make_record(i, "yo") for i in range(2)], name="yo.parquet"), repo)
    assert not list((repo / "data").glob(".*"))


def test_state_records_provenance_and_counts(tmp_path, write_records):
    build_dataset(write_records([make_record(i) for i in range(3)]), tmp_path / "repo")
    state = json.loads((tmp_path / "repo" / "hfswim.json").read_text())
    info = state["configs"]["sw"]
    assert (info["train_rows"], info["train_shards"], info["passage_languages"]) == (3, 1, ["en"])
    assert info["provenance"]["model"] == ["gemma-3-270m"] and info["provenance"]["template_hash"] == ["h4sh"]


def test_heldout_draw_is_independent_of_the_corpus_sample():
    """A sample keeps the passages with the lowest corpus draws; the held-out split must not hold them all out."""
    from hfswim.corpus.sampling import passage_draw as corpus_draw
    from hfswim.hub.heldout import passage_draw as heldout_draw

    ids = [f"doc{i}#0" for i in range(4000)]
    sampled = sorted(ids, key=lambda p: corpus_draw(p, 0))[:200]  # a 5% sample, seed 0
    held = [p for p in sampled if heldout_draw(p, 0) < 0.25]
    assert 20 < len(held) < 80  # about a quarter, not all 200


def test_config_without_heldout_queries_gets_no_eval_configs(tmp_path):
    """A tiny config whose passages all miss the held-out draw must not list empty MTEB configs."""
    from datasets import get_dataset_config_names

    from hfswim.hub import BuildConfig, build_dataset
    from hfswim.hub.heldout import passage_draw
    from hfswim.io import AtomicParquetWriter
    from hfswim.records import GENERATED_SCHEMA

    ids = [f"doc{i}#0" for i in range(200) if passage_draw(f"doc{i}#0", 0) >= 0.25][:3]
    rows = [
        {
            "record_id": f"r{i}",
            "passage_id": pid,
            "title": "T",
            "text": f"passage {i} text",
            "passage_language": "en",
            "query_language": "de",
            "setting": "cross-lingual",
            "query": f"Frage nummer {i}?",
            "parse_status": "ok",
        }
        for i, pid in enumerate(ids)
    ]
    records = tmp_path / "kept.parquet"
    with AtomicParquetWriter(records, GENERATED_SCHEMA) as writer:
        writer.write_rows(rows)
    build_dataset(records, tmp_path / "repo", BuildConfig(heldout_fraction=0.25))
    assert get_dataset_config_names(str(tmp_path / "repo")) == ["de"]
