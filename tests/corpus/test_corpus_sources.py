"""Every source format, column mapping, language handling, and one clear error per bad input."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hfswim.corpus import CorpusConfig, CorpusStats, detect_format, iter_documents, iter_passages
from hfswim.corpus.config import make_config
from hfswim.errors import ConfigError, InputError

ROWS = [
    {"doc_id": "a", "lang": "en", "title": "Rivers", "text": "The Nile is long. It flows north."},
    {"doc_id": "b", "lang": "Swahili", "title": "Mto", "text": "Mto Nile ni mrefu sana."},
    {"doc_id": "c", "lang": "de", "title": None, "text": "Der Rhein fließt in die Nordsee."},
]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def docs(**config) -> list:
    return list(iter_documents(CorpusConfig(**config)))


def test_jsonl_file_maps_columns_and_normalises_language_names(tmp_path):
    got = docs(source=str(write_jsonl(tmp_path / "c.jsonl", ROWS)))
    assert [(d.doc_id, d.lang, d.title) for d in got] == [("a", "en", "Rivers"), ("b", "sw", "Mto"), ("c", "de", None)]
    assert got[0].source.endswith("c.jsonl")


def test_gzipped_jsonl_and_folder_of_files(tmp_path):
    with gzip.open(tmp_path / "part1.jsonl.gz", "wt", encoding="utf-8") as fh:
        fh.write(json.dumps(ROWS[0]) + "\n")
    write_jsonl(tmp_path / "part2.jsonl", ROWS[1:])
    assert detect_format(str(tmp_path)) == "jsonl"
    assert [d.doc_id for d in docs(source=str(tmp_path))] == ["a", "b", "c"]


def test_parquet_file(tmp_path):
    pq.write_table(pa.Table.from_pylist(ROWS), tmp_path / "c.parquet")
    assert [d.lang for d in docs(source=str(tmp_path / "c.parquet"))] == ["en", "sw", "de"]


def test_csv_and_tsv_with_explicit_columns(tmp_path):
    for name, delimiter in (("c.csv", ","), ("c.tsv", "\t")):
        with open(tmp_path / name, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, delimiter=delimiter)
            writer.writerow(["pid", "heading", "body", "language"])
            writer.writerow(["1", "Nile", "The Nile, a river, is long.", "en"])
            writer.writerow(["2", "Nil", "Le Nil est long.", "fr"])
        config = make_config(source=str(tmp_path / name), columns={"id": "pid", "title": "heading", "text": "body"})
        got = list(iter_documents(config))
        assert [(d.doc_id, d.lang, d.title, d.text) for d in got] == [
            ("1", "en", "Nile", "The Nile, a river, is long."),
            ("2", "fr", "Nil", "Le Nil est long."),
        ]


def test_beir_folder_needs_a_default_language(tmp_path):
    beir = tmp_path / "scifact"
    write_jsonl(beir / "corpus.jsonl", [{"_id": "d1", "title": "T", "text": "Some text here."}])
    write_jsonl(beir / "queries.jsonl", [{"_id": "q1", "text": "a query"}])
    assert detect_format(str(beir)) == "beir"
    with pytest.raises(InputError, match=r"no language column.*--default-lang"):
        docs(source=str(beir))
    (doc,) = docs(source=str(beir), default_lang="en")
    assert (doc.doc_id, doc.lang, doc.title, doc.text) == ("d1", "en", "T", "Some text here.")


def test_text_files_one_document_per_file_or_per_paragraph(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.txt").write_text("First paragraph here.\n\nSecond paragraph\nwraps a line.\n", encoding="utf-8")
    (tmp_path / "sub" / "b.txt").write_text("Only one.", encoding="utf-8")
    by_file = docs(source=str(tmp_path), default_lang="en")
    assert [d.doc_id for d in by_file] == ["a", "sub/b"]
    by_paragraph = docs(source=str(tmp_path), default_lang="en", text_unit="paragraph")
    assert [d.doc_id for d in by_paragraph] == ["a:p1", "a:p2", "sub/b:p1"]
    assert by_paragraph[1].text == "Second paragraph\nwraps a line.\n"


def test_hub_source_streams_a_local_dataset_folder_through_datasets(tmp_path):
    data = tmp_path / "my_dataset" / "data"
    data.mkdir(parents=True)
    rows = [{"id": f"w{i}", "title": f"T{i}", "text": f"Passage number {i}.", "language": "yo"} for i in range(5)]
    pq.write_table(pa.Table.from_pylist(rows), data / "train-00000-of-00001.parquet")
    got = docs(source=str(tmp_path / "my_dataset"), format="hub", split="train")
    assert [d.doc_id for d in got] == [f"w{i}" for i in range(5)]
    assert {d.lang for d in got} == {"yo"}
    one_file = docs(source=str(data / "train-00000-of-00001.parquet"), format="hub")
    assert [d.doc_id for d in one_file] == [d.doc_id for d in got]
    with pytest.raises(InputError, match="cannot be loaded as a Hub dataset"):
        docs(source=str(tmp_path / "my_dataset"), format="hub", split="nosuchsplit")


def test_missing_ids_fall_back_to_stable_row_numbers(tmp_path):
    path = write_jsonl(tmp_path / "noid.jsonl", [{"text": "One.", "lang": "en"}, {"text": "Two.", "lang": "en"}])
    assert [d.doc_id for d in docs(source=str(path))] == ["noid.jsonl:1", "noid.jsonl:2"]


def test_language_filter_skips_and_counts(tmp_path):
    stats = CorpusStats()
    config = CorpusConfig(source=str(write_jsonl(tmp_path / "c.jsonl", ROWS)), languages="sw,de")
    assert [d.doc_id for d in iter_documents(config, stats)] == ["b", "c"]
    assert (stats.documents, stats.skipped_language) == (3, 1)


# ---- bad inputs: one clear error each, naming the file and row ----


def test_missing_corpus_path():
    with pytest.raises(InputError, match=r"does/not/exist\.jsonl: no such file or folder"):
        docs(source="does/not/exist.jsonl")
    with pytest.raises(InputError, match="no such file or folder"):
        docs(source="./missing_corpus_dir")


def test_unknown_hub_dataset_offline_is_one_clear_error():
    with pytest.raises(InputError, match="not a local file or folder, and it cannot be loaded as a Hub dataset"):
        docs(source="no-such-org/no-such-corpus", default_lang="en")


def test_malformed_json_line_names_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.jsonl:2: malformed JSON line"):
        docs(source=str(path))


def test_row_missing_the_text_field_is_malformed(tmp_path):
    path = write_jsonl(tmp_path / "m.jsonl", [ROWS[0], {"doc_id": "x", "lang": "en", "txt": "typo"}])
    with pytest.raises(InputError, match=r"m\.jsonl:2: malformed row: no 'text' field"):
        docs(source=str(path))


def test_malformed_csv_row_names_file_and_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("doc_id,lang,text\n1,en,fine\n2,en,too,many,fields\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.csv:3: malformed row: 5 fields where the header has 3"):
        docs(source=str(path))
    path.write_text("doc_id,lang,text\n1,en\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.csv:2: malformed row: 2 fields where the header has 3"):
        docs(source=str(path))


def test_non_string_text_and_missing_text_column(tmp_path):
    with pytest.raises(InputError, match=r"t\.jsonl:1: the 'text' value is a list"):
        docs(source=str(write_jsonl(tmp_path / "t.jsonl", [{"doc_id": "x", "lang": "en", "text": ["a"]}])))
    with pytest.raises(InputError, match=r"no text column.*--text-column"):
        docs(source=str(write_jsonl(tmp_path / "u.jsonl", [{"doc_id": "x", "lang": "en", "abstract": "a"}])))
    with pytest.raises(InputError, match=r"no column 'body_text' \(the text column\)"):
        list(iter_documents(make_config(source=str(tmp_path / "u.jsonl"), columns={"text": "body_text"})))


def test_empty_passage_is_an_error_unless_skipped(tmp_path):
    rows = [ROWS[0], {"doc_id": "e", "lang": "en", "text": "   "}, ROWS[2]]
    path = write_jsonl(tmp_path / "e.jsonl", rows)
    with pytest.raises(InputError, match=r"e\.jsonl:2: document e has an empty text.*--skip-empty"):
        list(iter_passages(CorpusConfig(source=str(path))))
    stats = CorpusStats()
    assert [p.doc_id for p in iter_passages(CorpusConfig(source=str(path), skip_empty=True), stats)] == ["a", "c"]
    assert stats.skipped_empty == 1


def test_unknown_language_in_a_row_and_in_the_config(tmp_path):
    path = write_jsonl(tmp_path / "l.jsonl", [ROWS[0], {"doc_id": "k", "lang": "klingon", "text": "Qapla'."}])
    with pytest.raises(InputError, match=r"l\.jsonl:2: Unknown language 'klingon'"):
        docs(source=str(path))
    with pytest.raises(ConfigError, match="languages: Unknown language 'xx'"):
        make_config(source=str(path), languages="en,xx")
    with pytest.raises(ConfigError, match=r"default_lang: Unknown language 'engl'.*Did you mean"):
        make_config(source=str(path), default_lang="engl")


def test_no_passage_left_after_filtering_is_an_error(tmp_path):
    path = write_jsonl(tmp_path / "c.jsonl", ROWS)
    with pytest.raises(InputError, match=r"no passages to sample \(languages: ja\): 3 documents read, 3 in other"):
        list(iter_passages(CorpusConfig(source=str(path), languages="ja")))


def test_mixed_folder_and_unknown_suffix_ask_for_format(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", ROWS)
    pq.write_table(pa.Table.from_pylist(ROWS), tmp_path / "b.parquet")
    with pytest.raises(InputError, match="mixes jsonl, parquet files; pass --format"):
        detect_format(str(tmp_path))
    assert [d.doc_id for d in docs(source=str(tmp_path), format="parquet")] == ["a", "b", "c"]
    (tmp_path / "x.dat").write_text("?", encoding="utf-8")
    with pytest.raises(InputError, match="cannot tell the format"):
        detect_format(str(tmp_path / "x.dat"))
