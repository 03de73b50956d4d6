"""Fixtures for the filter tests: crafted generated records whose right answer is known."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from hfswim.records import CROSS_LINGUAL, GENERATED_SCHEMA, MONOLINGUAL, conform

_COUNTER = itertools.count()

PASSAGES = {
    "p-rhine": "The Rhine rises in the Swiss Alps and flows north through Germany and the Netherlands into the North Sea.",
    "p-nile": "The Nile is the longest river in Africa and flows northward through eleven countries into the Mediterranean.",
    "p-tokyo": "Tokyo is the capital of Japan and the most populous metropolitan area in the world.",
    "p-hamlet": "Hamlet is a tragedy written by William Shakespeare sometime between 1599 and 1601.",
}


def make_row(query: str, lang: str = "de", passage_id: str = "p-rhine", **fields) -> dict:
    """One GENERATED_SCHEMA row; cross-lingual (English passage) unless the language is en."""
    n = next(_COUNTER)
    row = {
        "record_id": fields.pop("record_id", f"r{n:06d}"),
        "passage_id": passage_id,
        "doc_id": passage_id,
        "title": passage_id,
        "text": PASSAGES.get(passage_id, passage_id),
        "passage_language": "en",
        "query_language": lang,
        "setting": MONOLINGUAL if lang == "en" else CROSS_LINGUAL,
        "summary": "A river in Europe.",
        "query": query,
        "parse_status": "ok",
        "template": "sap",
        "model": "test",
        "query_logprob": -0.5,
    }
    row.update(fields)
    return row


@pytest.fixture
def row():
    return make_row


def write_generated(path: Path, rows: list[dict]) -> Path:
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(conform(rows, GENERATED_SCHEMA), path)
    return path
