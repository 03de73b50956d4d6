"""Files written before the column rename (``query_lang``, ``passage_lang``, ``langid_lang``, a passages file's
``lang``) are still read, by every stage that reads hfswim's own files, through ``hfswim.records.LEGACY_COLUMNS``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hfswim.records import (
    FILTERED_SCHEMA,
    GENERATED_SCHEMA,
    PASSAGE_SCHEMA,
    GeneratedRecord,
    Passage,
    file_column_names,
    upgrade_columns,
    upgrade_names,
    upgrade_row,
)
from tests.generation.conftest import loopback, make_passages, write_passages  # noqa: F401 - fixtures

HFSWIM = [sys.executable, "-m", "hfswim"]
OLD_NAMES = {"query_language": "query_lang", "passage_language": "passage_lang", "langid_language": "langid_lang"}


def _old_table(table: pa.Table, passages: bool = False) -> pa.Table:
    """``table`` under the column names of the previous version."""
    names = ["lang" if passages and n == "passage_language" else OLD_NAMES.get(n, n) for n in table.column_names]
    return table.rename_columns(names)


def _old_generated(tmp_path: Path, n: int = 4) -> Path:
    rows = [
        {"record_id": f"r{i}", "passage_id": f"nile{i}#0", "doc_id": f"nile{i}", "title": "Nile",
         "text": "The Nile is the longest river in Africa.", "passage_language": "en",
         "query_language": "sw" if i % 2 else "de", "setting": "cross-lingual",
         "query": "Mto mrefu zaidi barani Afrika ni upi?" if i % 2 else "Welcher Fluss ist der längste in Afrika?",
         "parse_status": "ok", "template": "sap", "model": "m"}
        for i in range(n)
    ]  # fmt: skip
    path = tmp_path / "old_generated.parquet"
    pq.write_table(_old_table(pa.Table.from_pylist(rows, schema=GENERATED_SCHEMA)), path)
    return path


def test_upgrade_helpers_rename_old_columns_once():
    assert upgrade_row({"query_lang": "sw", "passage_lang": "en"}) == {"query_language": "sw", "passage_language": "en"}
    row = {"query_language": "sw"}
    assert upgrade_row(row) is row  # nothing old: no copy
    # A file holding both spellings: the new column is the truth, the old one is dropped.
    assert upgrade_row({"query_lang": "xx", "query_language": "sw"}) == {"query_language": "sw"}
    table = upgrade_columns(pa.table({"passage_id": ["a"], "lang": ["en"], "langid_lang": ["sw"]}))
    assert table.column_names == ["passage_id", "passage_language", "langid_language"]
    batch = upgrade_columns(pa.table({"query_lang": ["sw"]}).to_batches()[0])
    assert isinstance(batch, pa.RecordBatch) and batch.schema.names == ["query_language"]
    assert upgrade_names(["query_lang", "query"]) == ["query_language", "query"]
    assert file_column_names(["query_lang", "query"], ["query_language", "query", "title"]) == ["query_lang", "query"]
    assert Passage.from_dict({"passage_id": "d#0", "lang": "sw"}).passage_language == "sw"
    assert GeneratedRecord.from_dict({"record_id": "r", "passage_id": "p", "query_lang": "sw"}).query_language == "sw"


def test_schemas_use_one_name_per_language_idea():
    names = set(PASSAGE_SCHEMA.names) | set(FILTERED_SCHEMA.names)
    assert {"query_language", "passage_language", "langid_language"} <= names
    assert not names & {"lang", "code", "query_lang", "passage_lang", "langid_lang"}
    assert PASSAGE_SCHEMA.names[:3] == ["passage_id", "doc_id", "passage_language"]
    assert set(PASSAGE_SCHEMA.names) - {"source"} <= set(GENERATED_SCHEMA.names)  # passage ⊂ generated


def test_resume_of_a_store_written_before_the_rename_requests_nothing(tmp_path, write_passages, loopback):  # noqa: F811
    """An old run folder (store lines and passages with the old names) resumes: every record is already done."""
    passages = write_passages(make_passages(5))
    out = tmp_path / "gen"
    command = [*HFSWIM, "generate", str(passages), "-o", str(out), "-e", loopback.url, "-l", "sw,de", "-q"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stdout + first.stderr
    requests = sum(loopback.state.prompts.values())
    # Turn the folder into one the previous version would have written.
    for path in (out / "store").glob("records-*.jsonl"):
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        old = [{OLD_NAMES.get(k, k): v for k, v in row.items()} for row in rows]
        assert all("query_lang" in row for row in old)
        path.write_text("".join(json.dumps(row) + "\n" for row in old), encoding="utf-8")
    (out / "generated.parquet").unlink()
    pq.write_table(_old_table(pq.read_table(passages), passages=True), passages)
    assert "lang" in pq.read_schema(passages).names

    resumed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert sum(loopback.state.prompts.values()) == requests  # not one request more
    table = pq.read_table(out / "generated.parquet")
    assert table.schema == GENERATED_SCHEMA and table.num_rows == 10
    assert sorted(set(table.column("query_language").to_pylist())) == ["de", "sw"]
    assert set(table.column("passage_language").to_pylist()) == {"en"}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["records"]["already_done"] == 10


def test_filter_then_build_dataset_read_an_old_generated_file(tmp_path):
    old = _old_generated(tmp_path)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    filtered = subprocess.run(
        [*HFSWIM, "filter", str(old), "-o", str(tmp_path / "f"), "--filters", "parse,heuristics"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert filtered.returncode == 0, filtered.stdout + filtered.stderr
    kept = pq.read_table(tmp_path / "f" / "kept.parquet")
    assert kept.schema == FILTERED_SCHEMA and kept.num_rows == 4
    assert sorted(kept.column("query_language").to_pylist()) == ["de", "de", "sw", "sw"]
    report = json.loads((tmp_path / "f" / "quality_report.json").read_text())
    assert set(report["per_language"]) == {"de", "sw"}

    # build-dataset straight from the old generated file, too.
    built = subprocess.run([*HFSWIM, "build-dataset", str(old), "-o", str(tmp_path / "ds")], env=env,
                           capture_output=True, text=True, timeout=120)  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    row = pq.read_table(next((tmp_path / "ds" / "data" / "sw").glob("*.parquet"))).to_pylist()[0]
    assert (row["lang"], row["code"], row["query_language"], row["passage_language"]) == ("Swahili", "sw", "sw", "en")


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl"])
def test_old_passages_files_are_read(tmp_path, suffix):
    from hfswim.corpus import read_passages

    rows = [{"passage_id": "d#0", "doc_id": "d", "lang": "sw", "title": "Mto", "text": "Mto Nile ni mrefu."}]
    path = tmp_path / f"passages{suffix}"
    if suffix == ".jsonl":
        path.write_text(json.dumps(rows[0]) + "\n", encoding="utf-8")
    else:
        pq.write_table(pa.Table.from_pylist(rows), path)
    assert next(iter(read_passages(path))).passage_language == "sw"


def test_old_index_folder_and_run_folder_are_read(tmp_path):
    import numpy as np

    from hfswim.evaluation.index import SavedIndex
    from hfswim.report.data import load_run

    passages = [{"passage_id": "p0", "title": "", "text": "zero", "passage_language": "en"},
                {"passage_id": "p1", "title": "", "text": "one", "passage_language": "sw"}]  # fmt: skip
    folder = SavedIndex.from_embeddings(np.eye(2, dtype="float32"), passages, model="demo").save(tmp_path / "index")
    pq.write_table(_old_table(pq.read_table(folder / "passages.parquet"), passages=True), folder / "passages.parquet")
    hit = SavedIndex.load(folder).search_vectors(np.array([[0.0, 1.0]], dtype="float32"), k=1)[0][0]
    assert (hit.passage_id, hit.passage_language) == ("p1", "sw")

    # The Space app (which imports nothing from hfswim) reads an index folder of a Space built before the rename.
    from hfswim.space.app import SpaceIndex

    class Fixed:
        def get_embedding_dimension(self) -> int:
            return 2

        def encode(self, texts, **kwargs):
            return np.array([[0.0, 1.0]], dtype="float32")

    space = SpaceIndex.load(folder, encoder=Fixed())
    assert space.language_counts() == {"en": 1, "sw": 1}
    assert space.search("one", k=1).hits[0].passage_language == "sw"

    run = tmp_path / "run"
    run.mkdir()
    pq.write_table(pa.table({"passage_id": ["p1", "p2"], "lang": ["en", "en"], "text": ["a", "b"]}),
                   run / "passages.parquet")  # fmt: skip
    (run / "filter").mkdir()
    old = _old_generated(tmp_path)
    pq.write_table(pq.read_table(old), run / "filter" / "kept.parquet")
    data = load_run(run)
    assert data.passages == {"en": 2} and sorted(data.lengths) == ["de", "sw"]
