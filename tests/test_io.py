import pytest

from hfswim.errors import InputError
from hfswim.io import AtomicParquetWriter, iter_jsonl, iter_rows, write_json_atomic
from hfswim.records import PASSAGE_SCHEMA


def test_parquet_round_trip_and_missing_columns_become_null(tmp_path):
    out = tmp_path / "p.parquet"
    with AtomicParquetWriter(out, PASSAGE_SCHEMA, row_group_size=2) as writer:
        writer.write_rows({"passage_id": f"d#{i}", "text": f"t{i}"} for i in range(5))
    rows = list(iter_rows(out, batch_size=2))
    assert [r["passage_id"] for r in rows] == [f"d#{i}" for i in range(5)]
    assert rows[0]["title"] is None and writer.rows_written == 5


def test_crash_inside_writer_leaves_nothing(tmp_path):
    out = tmp_path / "p.parquet"
    with pytest.raises(RuntimeError), AtomicParquetWriter(out, PASSAGE_SCHEMA) as writer:
        writer.write_rows([{"passage_id": "a"}])
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_malformed_jsonl_names_file_and_line(tmp_path):
    f = tmp_path / "x.jsonl"
    f.write_text('{"a": 1}\n{"a": \n', encoding="utf-8")
    with pytest.raises(InputError, match=r"x.jsonl:2: malformed JSON"):
        list(iter_jsonl(f))


def test_missing_path_and_empty_folder(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        list(iter_rows(tmp_path / "nope"))
    with pytest.raises(InputError, match="holds no"):
        list(iter_rows(tmp_path))
    write_json_atomic(tmp_path / "m.json", {"a": 1})
    assert (tmp_path / "m.json").read_text().strip().startswith("{")
