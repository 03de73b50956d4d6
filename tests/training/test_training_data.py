"""Loading and normalising training pairs from every hfswim source; bad input gets one clear error."""

from __future__ import annotations

import pytest

from hfswim.errors import ConfigError, InputError
from hfswim.training.data import for_batching, heldout_by_language, load_pairs, split_heldout


def test_pipeline_parquet_drops_rejected_and_unparsed_rows(synthetic_parquet):
    pairs = load_pairs(synthetic_parquet)
    assert pairs.column_names == ["anchor", "positive", "query_language"]
    assert len(pairs) == 400
    assert "REJECTED" not in pairs["anchor"] and "UNPARSED" not in pairs["anchor"]
    assert set(pairs["query_language"]) == {"sw", "de"}


def test_title_is_prepended_to_the_passage(synthetic, tmp_path):
    path = synthetic.write_parquet(
        [{"query": "q", "title": "Nile", "text": "A river.", "query_language": "sw"}], tmp_path / "a.parquet"
    )
    assert load_pairs(path)[0]["positive"] == "Nile A river."


def test_swim_ir_columns_and_language_names(synthetic, tmp_path):
    # SWIM-IR's own `lang` column holds English names; `code` wins when present, names map to codes.
    rows = [{"_id": "1", "lang": "Swahili", "query": "q1", "title": "t", "text": "x"}]
    assert load_pairs(synthetic.write_parquet(rows, tmp_path / "a.parquet"))[0]["query_language"] == "sw"
    rows = [{"_id": "1", "lang": "Swahili", "code": "sw", "query": "q1", "title": "t", "text": "x"}]
    assert load_pairs(synthetic.write_parquet(rows, tmp_path / "b.parquet"))[0]["query_language"] == "sw"


def test_dataset_repo_configs_per_language(synthetic_repo):
    pairs = load_pairs(synthetic_repo, languages="de")
    assert set(pairs["query_language"]) == {"de"} and len(pairs) == 60
    assert len(load_pairs(synthetic_repo)) == 120


def test_unknown_language_config_lists_available_configs(synthetic_repo):
    with pytest.raises(ConfigError, match=r"unknown language config\(s\) yo; available configs: de, sw"):
        load_pairs(synthetic_repo, languages="sw,yo")


def test_missing_column_is_named(synthetic, tmp_path):
    path = synthetic.write_parquet([{"question": "q", "text": "t"}], tmp_path / "bad.parquet")
    with pytest.raises(InputError, match=r"missing column 'query'.*Columns found: question, text"):
        load_pairs(path)


def test_missing_path_and_unknown_language_in_files(tmp_path, synthetic_parquet):
    with pytest.raises(InputError, match="no such file or folder"):
        load_pairs(tmp_path / "nope" / "x.parquet")
    with pytest.raises(ConfigError, match=r"no training pairs for language.*yo; languages in the data: de, sw"):
        load_pairs(synthetic_parquet, languages=["yo"])


def test_heldout_split_is_disjoint_by_passage(synthetic_parquet):
    train, held = split_heldout(load_pairs(synthetic_parquet), fraction=0.1, max_queries=1000)
    assert len(held) == 40 and len(train) == 360
    assert not set(train["positive"]) & set(held["positive"])
    tasks = heldout_by_language(held, train, distractors=50)
    assert [t.lang for t in tasks] == ["de", "sw"]
    for task in tasks:
        assert len(task.corpus) == len(task.queries) + 50  # held-out passages + training distractors
        assert all(doc in task.corpus for docs in task.relevant_docs.values() for doc in docs)


def test_single_language_batching_makes_one_dataset_per_language(synthetic, tmp_path):
    pairs = load_pairs(synthetic.write_parquet(synthetic.rows(30, langs=("sw", "de", "te")), tmp_path / "a.parquet"))
    mixed = for_batching(pairs, "mixed")
    assert mixed.column_names == ["anchor", "positive"] and len(mixed) == 30
    per_lang = for_batching(pairs, "single-language")
    assert sorted(per_lang) == ["de", "sw", "te"] and all(len(d) == 10 for d in per_lang.values())


def test_heldout_configs_of_a_built_dataset_are_used_for_evaluation(synthetic, tmp_path, tiny_st_model):
    from hfswim.training import TrainConfig
    from hfswim.training.data import load_mteb_heldout
    from hfswim.training.retriever import prepare_data

    repo = synthetic.write_dataset_repo(synthetic.rows(60), tmp_path / "repo", heldout_every=5)
    tasks = load_mteb_heldout(repo)
    assert [(t.lang, len(t.queries), len(t.corpus)) for t in tasks] == [("de", 6, 30), ("sw", 6, 30)]
    data = prepare_data(TrainConfig(dataset=str(repo), output_dir=str(tmp_path / "o"), base_model=str(tiny_st_model)))
    assert [t.lang for t in data.heldout] == ["de", "sw"] and len(data.train) == 48  # auto: the built split
    with pytest.raises(ConfigError, match="has no <config>-corpus/-queries/-qrels"):
        prepare_data(TrainConfig(dataset=str(tmp_path / "repo" / "data" / "sw"), output_dir="o", eval_split="heldout"))


def test_dataset_built_by_hfswim_build_dataset(synthetic, tmp_path):
    """The real `hfswim build-dataset` output: per-language configs and its MTEB held-out configs."""
    import pyarrow.parquet as pq

    from hfswim.hub.build import build_dataset
    from hfswim.hub.config import BuildConfig
    from hfswim.records import FILTERED_SCHEMA, conform, record_key
    from hfswim.training.data import load_mteb_heldout

    records = [
        {"record_id": record_key(r["passage_id"], r["query_language"], "t", "m", {}), "passage_id": r["passage_id"],
         "doc_id": r["passage_id"], "title": "", "text": r["text"], "passage_language": "en",
         "query_language": r["query_language"], "setting": "cross-lingual", "query": r["query"], "parse_status": "ok",
         "template": "sap", "model": "m"}
        for r in synthetic.rows(200)
    ]  # fmt: skip
    pq.write_table(conform(records, FILTERED_SCHEMA), tmp_path / "filtered.parquet")
    build_dataset(tmp_path / "filtered.parquet", tmp_path / "repo", BuildConfig(heldout_fraction=0.1))
    pairs = load_pairs(tmp_path / "repo")
    assert pairs.column_names == ["anchor", "positive", "query_language"] and set(pairs["query_language"]) == {
        "de",
        "sw",
    }
    heldout = load_mteb_heldout(tmp_path / "repo")
    assert [t.lang for t in heldout] == ["de", "sw"]
    assert len(pairs) + sum(len(t.queries) for t in heldout) == 200
    assert set(load_pairs(tmp_path / "repo", languages="sw")["query_language"]) == {"sw"}
    # Evaluated as a local task, config `sw` is German/Swahili queries about English passages: cross-lingual
    # (`hfswim evaluate --rerank-interpolation-monolingual` leaves it alone), read from the build state.
    from hfswim.evaluation.tasks.local import local_retrieval_task

    eval_langs = local_retrieval_task(tmp_path / "repo").metadata.eval_langs
    assert eval_langs == {"de": ["deu-Latn", "eng-Latn"], "sw": ["swa-Latn", "eng-Latn"]}
