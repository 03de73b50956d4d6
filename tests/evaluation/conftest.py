"""Fixtures of the evaluation tests: tiny BEIR folders written on the spot, and the format fixtures in fixtures/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"

# English passages on distinct topics, and one query per passage that a real encoder matches easily.
TOPICS = {
    "eiffel": ("Eiffel Tower", "The Eiffel Tower is a wrought-iron lattice tower in Paris, completed in 1889."),
    "fuji": ("Mount Fuji", "Mount Fuji is the highest mountain in Japan, an active volcano on Honshu."),
    "volga": ("Volga", "The Volga is the longest river in Europe and flows into the Caspian Sea."),
    "penicillin": ("Penicillin", "Alexander Fleming discovered penicillin, the first antibiotic, in 1928."),
    "football": ("FIFA World Cup", "The FIFA World Cup is an international football tournament held every four years."),
    "piano": ("Piano", "The piano is a keyboard instrument whose strings are struck by felt hammers."),
}
QUERIES = {
    "q-eiffel": ("When was the Eiffel Tower in Paris completed?", "eiffel"),
    "q-fuji": ("What is the highest mountain in Japan?", "fuji"),
    "q-volga": ("Which river is the longest in Europe?", "volga"),
    "q-penicillin": ("Who discovered penicillin?", "penicillin"),
    "q-football": ("How often is the football World Cup held?", "football"),
    "q-piano": ("How does a piano make sound?", "piano"),
}


def write_beir(folder: Path, qrels_rows: list[tuple[str, str, int]] | None = None, with_qrels: bool = True) -> Path:
    """A BEIR folder with the topics above (qrels: each query -> its topic passage)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "corpus.jsonl", "w", encoding="utf-8") as fh:
        for doc_id, (title, text) in TOPICS.items():
            fh.write(json.dumps({"_id": doc_id, "title": title, "text": text}) + "\n")
    with open(folder / "queries.jsonl", "w", encoding="utf-8") as fh:
        for qid, (text, _) in QUERIES.items():
            fh.write(json.dumps({"_id": qid, "text": text}) + "\n")
    if with_qrels:
        (folder / "qrels").mkdir(exist_ok=True)
        rows = qrels_rows if qrels_rows is not None else [(qid, doc, 1) for qid, (_, doc) in QUERIES.items()]
        lines = ["query-id\tcorpus-id\tscore"] + [f"{q}\t{d}\t{s}" for q, d, s in rows]
        (folder / "qrels" / "test.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture
def beir_folder(tmp_path) -> Path:
    return write_beir(tmp_path / "en")


@pytest.fixture
def beir_multi(tmp_path) -> Path:
    """A folder of BEIR folders: one monolingual subset and one cross-lingual pair."""
    write_beir(tmp_path / "multi" / "en")
    write_beir(tmp_path / "multi" / "de-en")
    return tmp_path / "multi"


@pytest.fixture
def xor_fixture() -> Path:
    return FIXTURES / "xor_retrieve"


@pytest.fixture
def xtreme_up_fixture() -> Path:
    return FIXTURES / "xtreme_up"


@pytest.fixture
def make_beir():
    """The :func:`write_beir` factory, for tests that need a variant (no qrels, bad qrels)."""
    return write_beir
