"""A small run folder in the layout `hfswim run` writes, without running any model: what the report reads."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

LANGS = ("de", "sw", "bho")


def make_run(folder: Path, languages=LANGS) -> Path:
    (folder / "filter").mkdir(parents=True)
    pq.write_table(
        pa.table({"passage_id": ["p1", "p2"], "passage_language": ["en", "en"], "text": ["a", "b"]}),
        folder / "passages.parquet",
    )
    rows = []
    for code in languages:
        for i in range(6):
            rows.append(
                {
                    "query_language": code,
                    "query": f"<script>alert(1)</script> {code} query number {i}"
                    if i == 0
                    else f"{code} query {'x' * i}",
                    "title": "Nile",
                    "text": "The Nile is the longest river in Africa. " * 3,
                    "passage_id": f"p{i}",
                }
            )
    pq.write_table(pa.Table.from_pylist(rows), folder / "filter" / "kept.parquet")
    per_language = {
        code: {
            "in": 10,
            "kept": 6,
            "rejected": 4,
            "by_filter": {"parse": {"in": 10, "rejected": 1, "out": 9}, "langid": {"in": 9, "rejected": 3, "out": 6}},
        }
        for code in languages
    }
    report = {"execution_order": ["parse", "langid", "dedup"], "per_filter": {}, "per_language": per_language}
    (folder / "filter" / "quality_report.json").write_text(json.dumps(report), encoding="utf-8")
    evaluate = {
        name: {"model": name, "metric": "ndcg_at_10", "mean": 0.5, "per_language": {c: score for c in languages}}
        for name, score in (("bm25", 0.41), ("base", 0.52), ("trained", 0.77))
    }
    reused = {"status": "reused", "seconds": None, "ran_seconds": 41.2, "ran_at": "2026-11-30T22:10:03Z"}
    stages = {"sample": reused, "evaluate": {"status": "ran", "seconds": 3.2, **evaluate}}
    (folder / "pipeline.json").write_text(json.dumps({"stages": stages}), encoding="utf-8")
    return folder


@pytest.fixture
def run_dir(tmp_path) -> Path:
    return make_run(tmp_path / "run")
