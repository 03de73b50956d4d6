"""The whole pipeline, end to end, on the embedded Gemma 3 270M served by hfswim's embedded server.

generate -> filter -> build-dataset -> load_dataset must give back exactly the kept rows, and
the train and evaluate stages must run on what was built.
"""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
import yaml

from hfswim.cli import main
from hfswim.config import PipelineConfig, demo_config_path
from hfswim.errors import ConfigError


def test_demo_config_is_valid():
    config = PipelineConfig.from_yaml(demo_config_path())
    assert config.corpus.source.endswith("passages.jsonl") and config.train is not None and config.evaluate is not None
    # A before/after that means something: human questions held out from generation, BM25 beside the two models.
    assert config.evaluate.tasks == "local:xquad-demo" and config.evaluate.baselines == ["bm25"]


def test_packaged_xquad_demo_holds_out_the_articles_it_generates_for():
    from hfswim.corpus import CorpusConfig, xquad_demo_path
    from hfswim.evaluation.tasks.local import discover_sources

    root = xquad_demo_path()
    assert CorpusConfig(source="xquad-demo").source == str(root / "passages.jsonl")
    articles = {
        json.loads(line)["doc_id"].split("_")[0]
        for line in (root / "passages.jsonl").read_text(encoding="utf-8").splitlines()
    }
    assert {s.subset for s in discover_sources(root / "eval")} == {"de-en", "es-en", "ro-en", "vi-en"}
    generated = set(PipelineConfig.from_yaml(demo_config_path()).generate.languages.split(","))
    assert generated <= {"ro", "vi"}  # the demo generates for languages it evaluates
    for lang in ("de", "es", "ro", "vi"):
        qrels = (root / "eval" / f"{lang}-en" / "qrels" / "test.tsv").read_text(encoding="utf-8").splitlines()[1:]
        assert len(qrels) >= 100
        assert not {line.split("\t")[1].split("_")[0] for line in qrels} & articles


def test_bad_pipeline_config_names_the_key(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump({"corpus": {"source": "demo"}, "generat": {}}), encoding="utf-8")
    with pytest.raises(ConfigError, match="generat"):
        PipelineConfig.from_yaml(path)
    path.write_text(yaml.safe_dump({"corpus": {"source": "demo", "max_words": 0}, "generate": None}), encoding="utf-8")
    assert main(["run", str(path), "-o", str(tmp_path / "out")]) == 2  # one clear error line, no traceback
    assert main(["run", str(tmp_path / "missing.yaml")]) == 2


@pytest.mark.slow
def test_pipeline_end_to_end_on_the_embedded_gemma(tmp_path):
    config = yaml.safe_load(demo_config_path().read_text(encoding="utf-8"))
    config["generate"]["languages"] = "de"
    config["generate"]["max_passages"] = 4
    config["train"] = {"max_steps": 2, "batch_size": 2}
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    out = tmp_path / "run"

    assert main(["run", str(path), "-o", str(out)]) == 0

    summary = json.loads((out / "pipeline.json").read_text(encoding="utf-8"))
    assert set(summary["stages"]) == {"sample", "generate", "filter", "dataset", "train", "evaluate", "report"}
    manifest = json.loads((out / "generate" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["records"]["failed"] == 0

    # Round trip: what the filter kept is what load_dataset gives back (train + held-out queries).
    from datasets import get_dataset_config_names, load_dataset

    kept = pq.read_table(out / "filter" / "kept.parquet").to_pylist()
    assert kept, "the filters rejected every Gemma query"
    repo = str(out / "dataset")
    configs = get_dataset_config_names(repo)
    cache = str(tmp_path / "hf-cache")
    loaded = []
    if "de" in configs:
        loaded += [
            (r["query"], r["passage_id"], r["text"]) for r in load_dataset(repo, "de", split="train", cache_dir=cache)
        ]
    if "de-queries" in configs:
        queries = {r["_id"]: r["text"] for r in load_dataset(repo, "de-queries", split="test", cache_dir=cache)}
        qrels = load_dataset(repo, "de-qrels", split="test", cache_dir=cache)
        corpus = {r["_id"]: r["text"] for r in load_dataset(repo, "de-corpus", split="test", cache_dir=cache)}
        loaded += [(queries[q["query-id"]], q["corpus-id"], corpus[q["corpus-id"]]) for q in qrels]
    assert sorted(loaded) == sorted((r["query"], r["passage_id"], r["text"]) for r in kept)

    card = (out / "model" / "README.md").read_text(encoding="utf-8")
    assert summary["stages"]["evaluate"]["trained"]["per_language"]
    assert "No benchmark results yet" not in card and "images/evaluation.png" in card
    assert (out / "model" / "images" / "evaluation.png").is_file() and (out / "report" / "report.html").is_file()
    assert str(tmp_path) not in card and "127.0.0.1" not in (out / "dataset" / "hfswim.json").read_text()
    assert load_dataset(repo, split="train", cache_dir=cache)  # the default config

    # A re-run of the unchanged config reuses every stage but the report: no generation, training or evaluation.
    assert main(["run", str(path), "-o", str(out)]) == 0
    rerun = json.loads((out / "pipeline.json").read_text(encoding="utf-8"))
    assert {n for n, r in rerun["stages"].items() if r["status"] == "ran"} == {"report"}
    evaluated = {name for name, entry in summary["stages"]["evaluate"].items() if isinstance(entry, dict)}
    assert evaluated == {"base", "trained", "bm25"}
    assert "trained - base" in (out / "eval" / "comparison.md").read_text(encoding="utf-8")
