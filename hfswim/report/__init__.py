"""`hfswim report RUN_DIR`: one self-contained HTML page about a run, and the PNG charts the cards embed.

The page (``RUN_DIR/report/report.html``, images inlined, no network) shows the stages that ran and their
times, a per-language table, the filter funnel, query lengths, sample queries with their passages, and the
held-out retrieval scores of BM25, the base model and the trained model. The charts are also written as PNG
files (``report/*.png``); the same charts are drawn into the repo folders by the stages that write the cards
(``dataset/images/filter_funnel.png`` by build-dataset, ``model/images/evaluation.png`` after evaluate).

    from hfswim.report import write_report
    result = write_report("runs/demo")      # -> result.html, result.charts
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hfswim.report.data import RunData, load_run

REPORT_DIR = "report"
FUNNEL_PNG = "filter_funnel.png"
LENGTHS_PNG = "query_lengths.png"
EVALUATION_PNG = "evaluation.png"

__all__ = ["ReportResult", "RunData", "load_run", "write_report"]


@dataclass
class ReportResult:
    html: Path
    charts: list[Path] = field(default_factory=list)


def write_report(run_dir: str | Path, output: str | Path | None = None) -> ReportResult:
    """Write ``report.html`` and the charts for the run in ``run_dir`` (into ``output``, default run_dir/report)."""
    from hfswim.io import make_dir, write_text_atomic
    from hfswim.report import charts
    from hfswim.report.page import render_page

    data = load_run(run_dir)
    out = make_dir(Path(output) if output else Path(run_dir) / REPORT_DIR)
    written: dict[str, Path] = {}
    if data.funnel:
        written["funnel"] = charts.funnel_chart(data.funnel, data.filters, out / FUNNEL_PNG)
    if data.lengths:
        written["lengths"] = charts.length_chart(data.lengths, out / LENGTHS_PNG)
    if data.scores:
        written["evaluation"] = charts.evaluation_chart(data.scores, data.metric, out / EVALUATION_PNG)
    html = out / "report.html"
    write_text_atomic(html, render_page(data, written))
    return ReportResult(html=html, charts=list(written.values()))
