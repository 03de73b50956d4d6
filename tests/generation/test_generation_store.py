"""The durable store: exactly-once appends, reopen, torn-tail repair, summaries, Parquet export."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from hfswim.errors import InputError
from hfswim.generation.store import RecordStore, shard_of
from hfswim.records import GENERATED_SCHEMA, GeneratedRecord, record_key


def _record(i: int, lang: str = "sw") -> GeneratedRecord:
    rid = record_key(f"p{i}", lang, "th", "model", {"t": 0})
    return GeneratedRecord(rid, f"p{i}", query_language=lang, query=f"swali {i}?", parse_status="ok")


def test_records_are_written_once_and_known_after_reopen(tmp_path):
    with RecordStore(tmp_path, num_files=4) as store:
        assert store.add(_record(1)) and store.add(_record(2))
        assert not store.add(_record(1))
        assert store.num_done == 2
    files = sorted(p.name for p in tmp_path.glob("records-*.jsonl"))
    assert files and all(name.startswith("records-all-") for name in files)
    reopened = RecordStore(tmp_path, num_files=4)
    assert reopened.is_done(_record(1).record_id) and reopened.num_done == 2
    assert not reopened.add(_record(2))
    lines = sum(len(p.read_text().splitlines()) for p in tmp_path.glob("records-*.jsonl"))
    assert lines == 2
    reopened.close()


def test_torn_last_line_is_cut_and_the_record_redone(tmp_path):
    store = RecordStore(tmp_path, num_files=1)
    store.add(_record(1))
    store.add(_record(2))
    store.close()
    path = next(tmp_path.glob("records-*.jsonl"))
    whole = path.read_bytes()
    path.write_bytes(whole + b'{"record_id": "00ff00ff00ff00ff00ff00ff00ff00ff", "que')  # a write cut mid-line
    store = RecordStore(tmp_path, num_files=1)
    assert store.num_done == 2 and store.repaired and "torn" in store.repaired[0]
    assert path.read_bytes() == whole
    assert store.add(_record(3))
    store.close()
    assert len(path.read_text().splitlines()) == 3


def test_corrupt_middle_line_is_a_clear_error(tmp_path):
    (tmp_path / "records-all-000.jsonl").write_text('{"record_id": "ab"}\nnot json\n')
    with pytest.raises(InputError, match=r"records-all-000.jsonl:1: corrupt store line|records-all-000.jsonl:2"):
        RecordStore(tmp_path, num_files=1)


def test_summaries_are_durable_and_reused(tmp_path):
    sid = record_key("p1", "_summary", "th", "model", {})
    with RecordStore(tmp_path) as store:
        store.add_summary({"summary_id": sid, "passage_id": "p1", "summary": "A summary.", "parse_status": "ok"})
    assert RecordStore(tmp_path).get_summary(sid)["summary"] == "A summary."


def test_export_parquet_deduplicates_merged_job_folders(tmp_path):
    a = RecordStore(tmp_path, num_files=2, job="s0of2")
    b = RecordStore(tmp_path, num_files=2, job="s1of2")
    for i in range(5):
        a.add(_record(i))
    b.add(_record(4))  # the same record written by another job (e.g. folders merged by hand)
    b.add(_record(9))
    a.close()
    b.close()
    n = RecordStore(tmp_path, num_files=2).export_parquet(tmp_path / "generated.parquet")
    table = pq.read_table(tmp_path / "generated.parquet")
    assert n == 6 and table.num_rows == 6 and table.schema.equals(GENERATED_SCHEMA)
    assert len(set(table.column("record_id").to_pylist())) == 6


def test_shard_of_is_stable():
    assert shard_of("ffff" + "0" * 28, 16) == 0xFFFF % 16


def test_a_store_in_use_by_another_process_is_refused(tmp_path):
    """Two writers on one store could duplicate records: the second one gets one clear error."""
    import subprocess
    import sys
    import textwrap

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys, time
                from hfswim.generation.store import RecordStore
                store = RecordStore({str(tmp_path)!r})
                print("locked", flush=True)
                time.sleep(60)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(InputError, match="another hfswim generate"):
            RecordStore(tmp_path)
        RecordStore(tmp_path, job="s1of2").close()  # another client job has its own files
    finally:
        holder.kill()
        holder.wait()
    RecordStore(tmp_path).close()  # the lock died with its process


def test_generated_record_json_line_is_the_schema_row():
    """orjson writes a GeneratedRecord's fields in order: the same line as its GENERATED_SCHEMA dict, and as
    the standard library's fallback."""
    import json

    from hfswim.generation.store import _dump_line

    record = GeneratedRecord(_record(1).record_id, "p1", query="swali ü?", query_logprob=-0.25, created_at=1.5)
    line = _dump_line(record)
    assert line == _dump_line(record.to_dict())
    assert line == (json.dumps(record.to_dict(), ensure_ascii=False, separators=(",", ":")) + "\n").encode()
    assert list(json.loads(line)) == GENERATED_SCHEMA.names
    assert GeneratedRecord.from_dict(json.loads(line)) == record


def test_stored_lines_read_back_as_the_standard_library_reads_them():
    """iter_records reads lines with orjson, and hands what orjson refuses (NaN, a lone surrogate escape, an int beyond
    64 bits: what the json.dumps fallback may write) to json, so every row comes back as json.loads gives it."""
    import json

    from hfswim.generation.store import _load_line

    lines = [
        (json.dumps({"record_id": "ab", "query_logprob": v, "query": q}, ensure_ascii=ascii) + "\n").encode()
        for v, q, ascii in [(-0.25, "swali ü?", False), (float("nan"), "x", False), (2**70, "y", False),
                            (1.5, "\ud800", True)]
    ]  # fmt: skip
    for line in lines:
        got, want = _load_line(line), json.loads(line)
        assert json.dumps(got) == json.dumps(want)
    with pytest.raises(ValueError):
        _load_line(b'{"record_id": "ab", \n')
