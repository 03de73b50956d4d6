"""run_filters / `hfswim filter` end to end: outputs, report, order independence, config errors, memory."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import textwrap

import pyarrow.parquet as pq
import pytest

from hfswim.cli import main as cli_main
from hfswim.errors import ConfigError, InputError
from hfswim.filters import FilterConfig, build_filters, filter_rows, run_filters
from hfswim.records import FILTERED_SCHEMA
from tests.filters.conftest import make_row, write_generated

DE = "Wo entspringt der Rhein und durch welche Länder fließt er?"
SW = "Mto Rhine unaanzia wapi na unapita katika nchi gani?"
EN = "Where does the Rhine rise and which countries does it flow through?"


def _crafted() -> list[dict]:
    return [
        make_row(DE, "de", record_id="de-best", query_logprob=-0.2),
        make_row(DE + " ", "de", record_id="de-dup", query_logprob=-0.9),  # exact duplicate, worse
        make_row(DE, "sw", record_id="sw-german"),  # German labelled Swahili
        make_row(SW, "sw", record_id="sw-ok"),
        make_row(EN, "sw", record_id="sw-english"),  # untranslated: English in a cross-lingual setting
        make_row(EN, "en", record_id="en-ok"),
        make_row("Warum überhaupt?", "de", record_id="de-short"),
        make_row("Wer hat diese Scheiße über den Rhein geschrieben?", "de", record_id="de-unsafe"),
        make_row(None, "de", record_id="unparsed", parse_status="no_query"),
        make_row("莱茵河发源于哪里，流经哪些国家？", "zh", record_id="zh-ok"),
        make_row("The Rhine rises in the Swiss Alps and flows north through Germany", "en", record_id="en-copy"),
    ]


EXPECTED_KEPT = ["de-best", "en-ok", "sw-ok", "zh-ok"]


def test_filters_run_writes_kept_rejected_and_report(tmp_path):
    src = write_generated(tmp_path / "gen" / "generated.parquet", _crafted())
    report = run_filters(src.parent, tmp_path / "out", FilterConfig(batch_size=4))  # several batches
    kept = pq.read_table(tmp_path / "out" / "kept.parquet")
    rejected = pq.read_table(tmp_path / "out" / "rejected.parquet")
    assert kept.schema.equals(FILTERED_SCHEMA) and rejected.schema.equals(FILTERED_SCHEMA)
    assert sorted(kept.column("record_id").to_pylist()) == EXPECTED_KEPT
    assert kept.column("reject_filter").null_count == kept.num_rows
    why = {r["record_id"]: (r["reject_filter"], r["reject_reason"].split(":")[0]) for r in rejected.to_pylist()}
    assert why == {
        "de-dup": ("dedup", "exact_duplicate"),
        "sw-german": ("langid", "wrong_language"),
        "sw-english": ("langid", "english_query"),
        "de-short": ("heuristics", "too_short"),
        "de-unsafe": ("safety", "blocked_word"),
        "unparsed": ("parse", "no_query"),
        "en-copy": ("heuristics", "copied_from_passage"),
    }
    assert {r["record_id"]: r["langid_language"] for r in kept.to_pylist()} == {k: k[:2] for k in EXPECTED_KEPT}
    assert not list((tmp_path / "out").glob(".*"))  # no spill or temp file left behind

    data = json.loads((tmp_path / "out" / "quality_report.json").read_text())
    assert data["totals"] == {"in": 11, "kept": 4, "rejected": 7, "kept_fraction": round(4 / 11, 4)}
    assert data["execution_order"] == [
        "parse",
        "langid",
        "heuristics",
        "exemplar-copy",
        "repetition",
        "safety",
        "dedup",
    ]
    assert data["per_filter"]["parse"] == {
        "phase": "row",
        "in": 11,
        "rejected": 1,
        "out": 10,
        "reasons": {"no_query": 1},
    }
    assert data["per_filter"]["langid"]["in"] == 10 and data["per_filter"]["langid"]["rejected"] == 2
    assert data["per_filter"]["dedup"]["in"] == 5 and data["per_filter"]["dedup"]["rejected"] == 1
    sw = data["per_language"]["sw"]
    assert (sw["in"], sw["kept"], sw["by_filter"]["langid"]["rejected"]) == (3, 1, 2)
    assert [s["record_id"] for s in data["samples"]["langid"]] == ["sw-english", "sw-german"]
    assert report.kept == 4 and report.to_dict()["totals"] == data["totals"]
    md = (tmp_path / "out" / "quality_report.md").read_text()
    assert "| langid | row | 10 | 2 | 8 |" in md and "## Sample rejects" in md


def test_filters_any_order_gives_the_same_kept_set():
    rows = _crafted()
    names = ["langid", "dedup", "heuristics", "safety"]
    results = set()
    for perm in itertools.permutations(names):
        kept, rejected, _ = filter_rows(rows, build_filters(FilterConfig.from_names(["parse", *perm])))
        results.add(tuple(sorted(r["record_id"] for r in kept)))
        assert len(kept) + len(rejected) == len(rows)
    assert results == {tuple(EXPECTED_KEPT)}


def test_filters_cli_runs_and_prints_counts(tmp_path, capsys):
    src = write_generated(tmp_path / "generated.parquet", _crafted())
    code = cli_main(["filter", str(src), "-o", str(tmp_path / "out"), "--filters", "parse,langid"])
    assert code == 0
    out = capsys.readouterr().out
    assert "kept 8 of 11 records" in out and "langid" in out
    assert json.loads((tmp_path / "out" / "quality_report.json").read_text())["filters"] == ["parse", "langid"]


def test_filters_yaml_config_and_bad_configs(tmp_path, capsys):
    good = tmp_path / "filters.yaml"
    good.write_text("filters:\n  - name: parse\n  - name: langid\n    thresholds: {sw: 0.4}\nbatch_size: 128\n")
    cfg = FilterConfig.from_yaml(good)
    assert cfg.batch_size == 128 and cfg.spec("langid").thresholds == {"sw": 0.4}

    cases = {
        "filters: [parse, dedupe]": "filters[1]: unknown filter 'dedupe'",
        "filters:\n  - name: langid\n    threshold: 1.5": "filters[0].threshold",
        "filters:\n  - name: cross-encoder\n    model: /no/such/model": "filters[0].model: cross-encoder model '/no/such/model' does not exist",
        "filters:\n  - name: roundtrip\n    model: /no/such/retriever": "retriever model '/no/such/retriever' does not exist",
        "filters:\n  - name: dedup\n    threshold: 0": "filters[0].threshold",
        "filters: [langid, langid]": "listed twice",
        "filters: [parse\n  - x": "invalid YAML",
    }
    for text, expected in cases.items():
        path = tmp_path / "bad.yaml"
        path.write_text(text)
        with pytest.raises(ConfigError, match=None) as err:
            FilterConfig.from_yaml(path)
        assert expected in str(err.value) and str(path) in str(err.value), str(err.value)
        assert "\n" not in str(err.value)

    # The CLI prints one error line and exits 2.
    src = write_generated(tmp_path / "generated.parquet", _crafted())
    assert cli_main(["filter", str(src), "-o", str(tmp_path / "o"), "--filters", "parse,langidd"]) == 2
    assert "unknown filter 'langidd'" in capsys.readouterr().err
    assert cli_main(["filter", str(src), "-o", str(tmp_path / "o"), "--filters", "cross-encoder"]) == 2
    assert "--cross-encoder PATH" in capsys.readouterr().err


def test_filters_bad_input_is_one_clear_error(tmp_path):
    import pyarrow as pa

    with pytest.raises(InputError, match="no such file"):
        run_filters(tmp_path / "missing.parquet", tmp_path / "out")
    pq.write_table(pa.table({"query": ["x"]}), tmp_path / "wrong.parquet")
    with pytest.raises(InputError, match="missing column"):
        run_filters(tmp_path / "wrong.parquet", tmp_path / "out")


@pytest.mark.slow
def test_filters_streaming_memory_is_bounded(tmp_path):
    """Row filters stream: 200k rows need no more memory than 20k (records are never all in memory)."""
    script = textwrap.dedent(
        """
        import resource, sys
        import pyarrow as pa, pyarrow.parquet as pq
        from hfswim.filters import FilterConfig, run_filters
        from hfswim.records import GENERATED_SCHEMA
        n, out = int(sys.argv[1]), sys.argv[2]
        words = "wo ist der die das fluss stadt berg see wald haus brücke jahr name land".split()
        writer = pq.ParquetWriter(out + "/gen.parquet", GENERATED_SCHEMA)
        for start in range(0, n, 20000):
            ids = range(start, min(start + 20000, n))
            q = [" ".join(words[(i * k) % len(words)] for k in (1, 3, 5, 7, 11)) + f" {i}?" for i in ids]
            cols = {f.name: [None] * len(q) for f in GENERATED_SCHEMA}
            cols.update(record_id=[f"r{i:08d}" for i in ids], passage_id=[f"p{i % 50}" for i in ids],
                        query_language=["de"] * len(q), passage_language=["de"] * len(q), setting=["monolingual"] * len(q),
                        query=q, parse_status=["ok"] * len(q), text=["Ein Text über einen Fluss. " * 12] * len(q),
                        raw_output=["x" * 1000] * len(q))
            writer.write_table(pa.Table.from_pydict(cols, schema=GENERATED_SCHEMA))
        writer.close()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        report = run_filters(out + "/gen.parquet", out + "/f", FilterConfig.from_names("parse,heuristics,safety"))
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        assert report.total_in == n and report.kept == n, (report.total_in, report.kept)
        print((after - before) / 1024)
        """
    )
    growth = {}
    for n in (20_000, 200_000):
        folder = tmp_path / str(n)
        folder.mkdir()
        done = subprocess.run([sys.executable, "-c", script, str(n), str(folder)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
        growth[n] = float(done.stdout.strip().splitlines()[-1])
    # Holding 180k more records (~1.5 KB each in Parquet, several KB as Python dicts) would add > 250 MB.
    assert growth[200_000] - growth[20_000] < 40, growth


def test_filters_dedup_state_is_compact(row):
    """Select filters keep ids, scores and signatures only: well under a kilobyte a row."""
    import tracemalloc

    from hfswim.filters.dedup import DedupFilter

    rows = [
        row(f"Wo liegt die Brücke Nummer {i} über den Rhein?", text="x" * 2000, raw_output="y" * 2000)
        for i in range(5000)
    ]
    f = DedupFilter()
    tracemalloc.start()
    for i in range(0, len(rows), 1000):
        f.observe([dict(r) for r in rows[i : i + 1000]])
        if i == 0:  # the growth from here on is per-row state (not the MinHash work array, sized once)
            first, _ = tracemalloc.get_traced_memory()
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    per_row = (current - first) / (len(rows) - 1000)
    assert per_row < 700, per_row


@pytest.mark.parametrize(
    ("row_group_size", "batch_size"),
    [(4, 3), (None, 2)],
    ids=["workers-read-row-groups", "main-reads-one-big-row-group"],
)
def test_filters_parallel_workers_give_the_same_result(tmp_path, row_group_size, batch_size):
    src = write_generated(tmp_path / "generated.parquet", _crafted() * 1)
    if row_group_size:  # several row groups: whole ones go to the workers, the last ones batch by batch
        pq.write_table(pq.read_table(src), src, row_group_size=row_group_size)
    outputs = {}
    for workers in (1, 2):
        config = FilterConfig.parse(
            {
                "filters": ["parse", "langid", "dedup", "heuristics", "safety"],
                "batch_size": batch_size,
                "workers": workers,
            }
        )
        report = run_filters(src, tmp_path / str(workers), config)
        outputs[workers] = (
            pq.read_table(tmp_path / str(workers) / "kept.parquet"),
            pq.read_table(tmp_path / str(workers) / "rejected.parquet").sort_by("record_id"),
            {k: v for k, v in report.to_dict().items() if k not in ("seconds", "config", "input")},
        )
    kept, _, summary = outputs[2]
    assert sorted(kept.column("record_id").to_pylist()) == EXPECTED_KEPT
    assert summary["per_filter"]["dedup"]["rejected"] == 1 and summary["totals"]["in"] == 11
    # Same rows in the same (input) order, same reasons, same report as one process. lingua's confidences
    # differ in the last bits between processes (it sums over a hash map), so langid_score is compared
    # approximately.
    for got, expected in zip(outputs[2][:2], outputs[1][:2], strict=True):
        scores = got.column("langid_score").fill_null(-1.0).to_pylist()
        assert scores == pytest.approx(expected.column("langid_score").fill_null(-1.0).to_pylist(), rel=1e-9)
        assert got.drop_columns(["langid_score"]).equals(expected.drop_columns(["langid_score"]))
    assert summary == outputs[1][2]


def test_filters_parallel_workers_refuse_model_filters(tmp_path):
    with pytest.raises(ConfigError, match="workers > 1 is for the cheap filters"):
        FilterConfig.parse({"filters": [{"name": "roundtrip", "model": str(tmp_path)}], "workers": 2})


def test_filters_table_sink_writes_in_order_on_its_thread_and_raises_a_failed_write():
    """_TableSink writes row groups on a thread of its own: every table arrives, in order, before the sink is left;
    a write that fails raises in the caller (at the next write or on leaving), never silently."""
    import pyarrow as pa

    from hfswim.filters.pipeline import _TableSink

    class Writer:
        def __init__(self, fail_at=None):
            self.tables, self.fail_at = [], fail_at

        def write_table(self, table):
            if len(self.tables) == self.fail_at:
                raise OSError("disk full")
            self.tables.append(table)

    parts = [pa.table({"n": list(range(i, i + 3))}) for i in range(0, 30, 3)]
    writer = Writer()
    with _TableSink(writer, rows=5) as sink:
        for part in parts:
            sink.add(part)
    assert pa.concat_tables(writer.tables).column("n").to_pylist() == list(range(30))
    assert all(t.num_rows >= 5 for t in writer.tables[:-1])
    with pytest.raises(OSError, match="disk full"), _TableSink(Writer(fail_at=1), rows=5) as sink:
        for part in parts:
            sink.add(part)
