"""The report's HTML: one file, no script, no external resource (charts inlined as data: URIs).

Every text from the run (queries, passages, titles, model paths) is HTML-escaped.
"""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path

from hfswim.report.charts import metric_label
from hfswim.report.data import RunData

CSS = """
:root { --ink:#1d2b36; --muted:#5b6b78; --line:#dfe5ea; --accent:#2a9d8f; --bg:#f7f9fa; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--ink);
       background:var(--bg); }
main { max-width:1080px; margin:0 auto; padding:24px 20px 48px; }
h1 { font-size:1.6rem; margin:0 0 4px; } h2 { font-size:1.2rem; margin:32px 0 8px; }
.sub { color:var(--muted); margin:0 0 16px; overflow-wrap:anywhere; }
.cards { display:grid; grid-template-columns:repeat(auto-fit,minmax(150px,1fr)); gap:12px; margin:16px 0; }
.card { background:#fff; border:1px solid var(--line); border-radius:8px; padding:12px 14px; }
.card b { display:block; font-size:1.5rem; } .card span { color:var(--muted); font-size:.85rem; }
figure { margin:8px 0 0; background:#fff; border:1px solid var(--line); border-radius:8px; padding:8px; }
figure img { display:block; width:100%; height:auto; }
figcaption { color:var(--muted); font-size:.85rem; padding:4px 6px 0; }
.scroll { overflow-x:auto; background:#fff; border:1px solid var(--line); border-radius:8px; }
table { border-collapse:collapse; width:100%; font-size:.9rem; }
th,td { padding:6px 10px; border-bottom:1px solid var(--line); text-align:right; white-space:nowrap; }
th:first-child,td:first-child { text-align:left; } th { background:#eef2f4; font-weight:600; }
td.best { font-weight:700; color:var(--accent); }
details { background:#fff; border:1px solid var(--line); border-radius:8px; margin:6px 0; padding:6px 12px; }
summary { cursor:pointer; font-weight:600; }
.sample { border-top:1px solid var(--line); padding:8px 0; }
.q { font-weight:600; } .p { color:var(--muted); font-size:.9rem; overflow-wrap:anywhere; }
.status-reused { color:var(--muted); } .status-ran { color:var(--accent); }
"""


def _image(path: Path, alt: str, caption: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{escape(alt)}">'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


def _language(code: str) -> str:
    from hfswim.languages import get_language

    try:
        return f"{get_language(code).english_name} <small>({escape(code)})</small>"
    except Exception:
        return escape(code)


def _num(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return f"{value:,}" if isinstance(value, int) else ("–" if value is None else escape(str(value)))


def _stages_table(data: RunData) -> str:
    if not data.stages:
        return ""
    rows = []
    for index, (name, record) in enumerate(data.stages.items(), 1):
        status = str(record.get("status", "ran"))
        rows.append(
            f"<tr><td>{index}. {escape(name)}</td><td class='status-{escape(status)}'>{escape(status)}</td>"
            f"<td>{escape(_stage_time(record))}</td></tr>"
        )
    return (
        "<h2>Stages</h2><div class='scroll'><table><tr><th>stage</th><th>this run</th><th>time</th></tr>"
        + "".join(rows)
        + "</table></div>"
    )


def _stage_time(record: dict) -> str:
    """The time a stage took in this run; for a reused one, when and how long the run that made its outputs took
    (a reused stage's 0 s is no timing)."""
    if record.get("status") == "reused":
        seconds, at = record.get("ran_seconds"), record.get("ran_at")
        if not isinstance(seconds, int | float):
            return "–"
        return f"{seconds:.1f} s, in an earlier run" + (f" ({str(at)[:16].replace('T', ' ')} UTC)" if at else "")
    seconds = record.get("seconds")
    return f"{seconds:.1f} s" if isinstance(seconds, int | float) else "–"


def _language_table(data: RunData) -> str:
    models = [m for m in ("bm25", "base", "trained") if m in data.scores] + [
        m for m in data.scores if m not in ("bm25", "base", "trained")
    ]
    head = "<tr><th>language</th><th>generated</th><th>kept</th><th>kept %</th><th>held-out</th><th>median length</th>"
    head += "".join(f"<th>{escape(m)}</th>" for m in models) + "</tr>"
    rows = []
    for code in data.languages:
        funnel = data.funnel.get(code, {})
        generated, kept = funnel.get("in"), funnel.get("kept")
        share = f"{100 * kept / generated:.0f}%" if generated else "–"
        lengths = sorted(data.lengths.get(code, []))
        median = lengths[len(lengths) // 2] if lengths else None
        scores = [data.score(m, code) for m in models]
        best = max((s for s in scores if isinstance(s, float)), default=None)
        cells = "".join(
            f"<td class='{'best' if s is not None and s == best and len(models) > 1 else ''}'>{_num(s)}</td>"
            for s in scores
        )
        rows.append(
            f"<tr><td>{_language(code)}</td><td>{_num(generated)}</td><td>{_num(kept)}</td><td>{share}</td>"
            f"<td>{_num(data.heldout.get(code))}</td><td>{_num(median)}</td>{cells}</tr>"
        )
    note = f"<p class='sub'>Scores: {escape(metric_label(data.metric))} on the held-out queries.</p>" if models else ""
    return f"<h2>Per language</h2>{note}<div class='scroll'><table>{head}{''.join(rows)}</table></div>"


def _samples(data: RunData) -> str:
    blocks = []
    for code in sorted(data.samples):
        items = "".join(
            f"<div class='sample'><div class='q'>{escape(s['query'])}</div>"
            f"<div class='p'><b>{escape(s['title'])}</b> {escape(s['text'][:400])}"
            f"{'…' if len(s['text']) > 400 else ''}</div></div>"
            for s in data.samples[code]
        )
        # A few languages: open (nothing to click); many: closed, so the list stays scannable.
        attr = " open" if len(data.samples) <= 4 else ""
        blocks.append(f"<details{attr}><summary>{_language(code)}</summary>{items}</details>")
    return "<h2>Sample queries and their passages</h2>" + "".join(blocks) if blocks else ""


def render_page(data: RunData, charts: dict[str, Path]) -> str:
    """The whole report page."""
    total_in = sum(f.get("in", 0) for f in data.funnel.values())
    total_kept = sum(f.get("kept", 0) for f in data.funnel.values())
    facts = [
        (_num(sum(data.passages.values())) if data.passages else "–", "passages sampled"),
        (_num(total_in), "queries generated"),
        (_num(total_kept), "queries kept"),
        (_num(len(data.query_languages or data.languages)), "query languages"),
    ]
    if "trained" in data.scores:
        values = [v for v in data.scores["trained"].values() if isinstance(v, float)]
        if values:
            facts.append((f"{sum(values) / len(values):.3f}", f"trained {metric_label(data.metric)} (mean)"))
    cards = "".join(f"<div class='card'><b>{value}</b><span>{escape(label)}</span></div>" for value, label in facts)
    figures = []
    if "funnel" in charts:
        figures.append(
            _image(charts["funnel"], "Filter funnel per language", "Each bar is one language's generated queries.")
        )
    if "lengths" in charts:
        figures.append(
            _image(charts["lengths"], "Query length per language", "Box: quartiles and median; whiskers 5th-95th.")
        )
    if "evaluation" in charts:
        names = ", ".join(f"{m}: {n}" for m, n in data.models.items())
        figures.append(_image(charts["evaluation"], "Held-out retrieval per language", names))
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>hfswim report: {escape(data.folder.name)}</title><style>{CSS}</style></head><body><main>"
        f"<h1>hfswim run report</h1><p class='sub'>{escape(str(data.folder))}</p>"
        f"<div class='cards'>{cards}</div>"
        + _stages_table(data)
        + "<h2>Charts</h2>"
        + "".join(figures)
        + _language_table(data)
        + _samples(data)
        + "</main></body></html>\n"
    )
