"""`hfswim report RUN_DIR` as a user runs it: one self-contained HTML page and the PNG charts."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.report.conftest import make_run


def _hfswim(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hfswim", *args], capture_output=True, text=True, env=os.environ)


def test_report_writes_a_self_contained_page_and_charts(run_dir):
    done = _hfswim("report", str(run_dir))
    assert done.returncode == 0, done.stderr
    page = run_dir / "report" / "report.html"
    assert str(page) in done.stdout
    html = page.read_text(encoding="utf-8")
    for png in ("filter_funnel.png", "query_lengths.png", "evaluation.png"):
        path = run_dir / "report" / png
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
        assert oct(path.stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    assert html.count("data:image/png;base64,") == 3  # charts inlined: the page needs no other file
    assert "http://" not in html and "https://" not in html and "<script" not in html  # nothing fetched or run
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # queries are escaped
    for text in ("Swahili", "German", "Bhojpuri", "nDCG@10", "0.770", "reused", "Sample queries"):
        assert text in html, text
    assert "41.2 s, in an earlier run (2026-11-30 22:10 UTC)" in html and "0.0 s" not in html


def test_report_of_a_folder_without_a_run_is_one_error_line(tmp_path):
    done = _hfswim("report", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "no hfswim run here" in done.stderr
    assert _hfswim("report", str(tmp_path / "missing")).returncode == 2


def test_charts_stay_readable_at_33_languages(tmp_path):
    from hfswim.languages import parse_languages
    from hfswim.report import write_report

    codes = [lang.code for lang in parse_languages("all")]
    result = write_report(make_run(tmp_path / "run", codes))
    from PIL import Image

    funnel = Image.open(tmp_path / "run" / "report" / "filter_funnel.png")
    assert funnel.height >= 33 * 0.3 * 110  # the figure grows with the languages: >= ~0.3 inch per row
    assert len(result.charts) == 3


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_query_languages_do_not_count_evaluation_subsets(tmp_path):
    from hfswim.report.data import RunData

    data = RunData(folder=tmp_path, funnel={"de": {}, "es": {}}, scores={"base": {"de-en": 0.8, "es-en": 0.9}})
    assert data.query_languages == ["de", "es"]  # the demo's headline said "4 query languages"
    assert data.languages == ["de", "es"]  # a query language's one evaluated subset shares its table row
    assert data.score("base", "de") == 0.8 and data.score("base", "fr") is None
    data.scores["base"]["zh-en"] = 0.5  # a subset with no generated queries keeps a row of its own
    assert data.languages == ["de", "es", "zh-en"]
