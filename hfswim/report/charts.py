"""The run report's charts (matplotlib, headless): one function per chart, each writing one PNG.

Every chart is a horizontal bar chart with one row per language, so it stays readable at 33 languages (the
figure grows with the number of rows). PNGs carry no timestamp: the same data writes the same bytes.

    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "funnel.png"
    >>> funnel_chart({"sw": {"kept": 8, "rejected": {"langid": 2}}}, ["langid"], out).is_file()
    True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

KEPT_COLOR = "#2a9d8f"
MODEL_COLORS = {"bm25": "#b0b0b0", "base": "#e9c46a", "trained": "#264653"}
FILTER_COLORS = ("#e76f51", "#f4a261", "#e9c46a", "#8ab17d", "#a05195", "#d45087", "#665191", "#2f4b7c", "#ff7c43")
DPI = 110


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # no display: charts are files
    import matplotlib.pyplot as plt

    return plt


def _figure(rows: int, width: float = 7.5) -> tuple[Any, Any]:
    plt = _pyplot()
    height = 1.3 + 0.32 * max(rows, 2)
    fig, ax = plt.subplots(figsize=(width, height), dpi=DPI)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="x", color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)
    return fig, ax


def _save(fig: Any, path: Path, legend_inches: float = 0.0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout(rect=(0, legend_inches / fig.get_figheight(), 1, 1))
    fig.savefig(path, format="png", metadata={"Software": None})  # no version string: stable bytes
    _pyplot().close(fig)
    return path


def _label(code: str) -> str:
    from hfswim.languages import get_language

    try:
        return f"{get_language(code).english_name} ({code})"
    except Exception:
        return code


def funnel_chart(per_language: Mapping[str, Mapping[str, Any]], filters: Sequence[str], path: Path) -> Path:
    """Where each language's generated queries went: kept, or rejected by which filter (stacked bars).

    ``per_language``: ``{code: {"kept": n, "rejected": {filter: n}}}``; ``filters`` in execution order.
    """
    codes = sorted(per_language, key=lambda c: (-_total(per_language[c]), c))[::-1]
    fig, ax = _figure(len(codes))
    y = range(len(codes))
    left = [float(per_language[c].get("kept", 0)) for c in codes]
    ax.barh(y, left, color=KEPT_COLOR, label="kept")
    used = [f for f in filters if any(per_language[c].get("rejected", {}).get(f) for c in codes)]
    for i, name in enumerate(used):
        widths = [float(per_language[c].get("rejected", {}).get(name, 0)) for c in codes]
        ax.barh(y, widths, left=left, color=FILTER_COLORS[i % len(FILTER_COLORS)], label=f"rejected: {name}")
        left = [a + b for a, b in zip(left, widths, strict=True)]
    for row, (code, total) in enumerate(zip(codes, left, strict=True)):
        kept = per_language[code].get("kept", 0)
        ax.text(total, row, f" {kept:,}/{int(total):,}", va="center", fontsize=8, color="#333333")
    ax.set_yticks(list(y), [_label(c) for c in codes], fontsize=9)
    ax.set_xlabel("generated queries")
    ax.set_title("Generated queries per language: kept, or rejected by a filter", fontsize=11, loc="left")
    ax.set_xlim(0, max(left or [1]) * 1.18 or 1)
    return _save(fig, path, _legend_below(ax, len(used) + 1))


def _legend_below(ax: Any, entries: int) -> float:
    """The legend in a strip under the axis label: never over a bar or a label. Returns the strip's height
    (inches), which :func:`_save` keeps free."""
    handles, labels = ax.get_legend_handles_labels()
    ax.figure.legend(handles, labels, fontsize=8, frameon=False, loc="lower center", ncol=min(entries, 4))
    return 0.22 * -(-entries // 4) + 0.05


def metric_label(metric: str) -> str:
    """``ndcg_at_10`` -> ``nDCG@10``, as papers write it."""
    names = {"ndcg": "nDCG", "mrr": "MRR", "recall": "Recall", "map": "MAP", "precision": "P"}
    head, _, k = metric.partition("_at_")
    return f"{names.get(head, head)}@{k}" if k else names.get(head, metric)


def _total(entry: Mapping[str, Any]) -> float:
    return float(entry.get("kept", 0)) + sum(float(v) for v in (entry.get("rejected") or {}).values())


def length_chart(lengths: Mapping[str, Sequence[int]], path: Path) -> Path:
    """Query length (characters) per language, as box plots (median, quartiles, 5th-95th percentile)."""
    codes = sorted(lengths, reverse=True)
    fig, ax = _figure(len(codes))
    data = [list(lengths[c]) or [0] for c in codes]
    ax.boxplot(
        data,
        orientation="horizontal",
        whis=(5, 95),
        widths=0.6,
        showfliers=False,
        patch_artist=True,
        boxprops={"facecolor": "#cfe8e4", "edgecolor": KEPT_COLOR},
        medianprops={"color": "#264653", "linewidth": 1.6},
    )
    ax.set_yticks(range(1, len(codes) + 1), [_label(c) for c in codes], fontsize=9)
    ax.set_xlabel("query length (characters)")
    ax.set_title("Query length per language (kept queries)", fontsize=11, loc="left")
    return _save(fig, path)


def evaluation_chart(scores: Mapping[str, Mapping[str, float | None]], metric: str, path: Path) -> Path:
    """Grouped bars per language, one bar per model (``{"bm25": {code: score}, "base": ..., "trained": ...}``)."""
    models = [m for m in ("bm25", "base", "trained") if m in scores] + [
        m for m in scores if m not in ("bm25", "base", "trained")
    ]
    codes = sorted({c for m in models for c in scores[m]}, reverse=True)
    fig, ax = _figure(len(codes) * max(1, len(models)) // 2 + 1)
    height = 0.8 / max(1, len(models))
    for i, model in enumerate(models):
        offsets = [row + 0.4 - height * (i + 0.5) for row in range(len(codes))]  # first model on top
        values = [scores[model].get(c) for c in codes]
        bars = ax.barh(
            offsets,
            [v or 0.0 for v in values],
            height=height,
            color=MODEL_COLORS.get(model, FILTER_COLORS[i % len(FILTER_COLORS)]),
            label=model,
        )
        for bar, value in zip(bars, values, strict=True):
            if value is not None:
                ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {value:.3f}", va="center", fontsize=7)
    ax.set_yticks(range(len(codes)), [_label(c) for c in codes], fontsize=9)
    ax.set_xlim(0, 1.12)
    shown = metric_label(metric)
    ax.set_xlabel(shown)
    ax.set_title(f"Held-out retrieval per language, {shown} (0-1, higher is better)", fontsize=11, loc="left")
    return _save(fig, path, _legend_below(ax, len(models)))
