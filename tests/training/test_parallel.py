"""Parallel positives: monolingual queries on a parallel corpus become cross-lingual pairs."""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hfswim.errors import InputError
from hfswim.training.data import load_pairs
from hfswim.training.parallel import load_parallel_passages


@pytest.fixture
def german_records(tmp_path):
    path = tmp_path / "kept.parquet"
    table = pa.table(
        {
            "doc_id": ["p1", "p2", "p3"],
            "title": ["", "", ""],
            "text": ["Der Nil ist ein Fluss.", "Berlin ist eine Stadt.", "Ohne Gegenstück."],
            "query": ["Wie lang ist der Nil?", "Wo liegt Berlin?", "Was fehlt?"],
            "query_language": ["de", "de", "de"],
            "reject_filter": [None, None, None],
        }
    )
    pq.write_table(table, path)
    return path


@pytest.fixture
def english_passages(tmp_path):
    path = tmp_path / "en.jsonl"
    rows = [
        {"_id": "p1", "title": "Nile", "text": "The Nile is a river."},
        {"_id": "p2", "title": "", "text": "Berlin is a city."},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_positives_become_the_parallel_passages(german_records, english_passages):
    pairs = load_pairs(german_records, parallel_passages=english_passages)
    assert pairs["anchor"] == ["Wie lang ist der Nil?", "Wo liegt Berlin?"]  # p3 has no parallel passage: dropped
    assert pairs["positive"] == ["Nile The Nile is a river.", "Berlin is a city."]
    assert pairs["query_language"] == ["de", "de"]


def test_without_parallel_passages_the_source_text_stays(german_records):
    assert load_pairs(german_records)["positive"][0] == "Der Nil ist ein Fluss."


def test_missing_id_or_text_columns_are_named(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"passage": "x"}) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="id column"):
        load_parallel_passages(bad)
    with pytest.raises(InputError, match="no such parallel-passages file"):
        load_parallel_passages(tmp_path / "missing.jsonl")


def test_cli_rejects_a_missing_parallel_file_in_one_line(german_records, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "hfswim", "train", str(german_records), "-o", str(tmp_path / "model"),
         "--parallel-passages", str(tmp_path / "nope.jsonl"), "--max-steps", "1"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "nope.jsonl: no such parallel-passages file" in proc.stderr
    assert "Traceback" not in proc.stderr
