"""What the run report shows, read from a run folder (the layout :mod:`hfswim.pipeline` writes).

Every part is optional: a folder with only ``generate/`` gives a report with the generation counts and query
lengths; the filter funnel needs ``filter/quality_report.json``, the evaluation bars ``pipeline.json``'s
evaluate stage. Records are read column by column (only the four columns shown), so a large run's report
needs memory for the query lengths only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hfswim.records import PASSAGE_LANGUAGE, QUERY_LANGUAGE, file_column_names, upgrade_columns

SAMPLES_PER_LANGUAGE = 3


@dataclass
class RunData:
    """Everything a report page and its charts need, per query language (codes)."""

    folder: Path
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)
    passages: dict[str, int] = field(default_factory=dict)  # sampled passages per passage language
    funnel: dict[str, dict[str, Any]] = field(default_factory=dict)  # code -> {"in", "kept", "rejected": {f: n}}
    filters: list[str] = field(default_factory=list)  # in execution order
    lengths: dict[str, list[int]] = field(default_factory=dict)  # code -> query lengths in characters
    samples: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    heldout: dict[str, int] = field(default_factory=dict)  # code -> held-out queries
    scores: dict[str, dict[str, float | None]] = field(default_factory=dict)  # model -> code -> main score
    metric: str = "ndcg_at_10"
    models: dict[str, str] = field(default_factory=dict)  # bm25/base/trained -> model name or path

    @property
    def languages(self) -> list[str]:
        """The table's rows: each query language, then evaluated subsets no query language row shows."""
        codes = set(self.query_languages)
        subsets = {c for s in self.scores.values() for c in s}
        return sorted(codes | {c for c in subsets if self._row_of(c) not in codes})

    def score(self, model: str, code: str) -> float | None:
        """``model``'s score on ``code``: its own, or its one cross-lingual subset's (``de`` -> ``de-en``)."""
        scores = self.scores.get(model, {})
        if code in scores:
            return scores[code]
        subsets = [c for c in scores if self._row_of(c) == code]
        return scores[subsets[0]] if len(subsets) == 1 else None

    @staticmethod
    def _row_of(subset: str) -> str:
        return subset.split("-", 1)[0]

    @property
    def query_languages(self) -> list[str]:
        """The languages queries were generated in (evaluation subsets such as ``de-en`` are not counted)."""
        return sorted(set(self.funnel) | set(self.lengths))


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def load_run(folder: str | Path) -> RunData:
    """Collect the report's data from a run folder; InputError if it holds nothing hfswim wrote."""
    from hfswim.errors import InputError

    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such run folder.")
    data = RunData(folder=folder, stages=_json(folder / "pipeline.json").get("stages") or {})
    _read_passages(folder / "passages.parquet", data)
    _read_quality_report(folder / "filter" / "quality_report.json", data)
    records = folder / "filter" / "kept.parquet"
    if not records.is_file():
        records = folder / "generate" / "generated.parquet"
    _read_records(records, data)
    _read_dataset(folder / "dataset" / "hfswim.json", data)
    _read_scores(data)
    if not (data.passages or data.funnel or data.lengths):
        raise InputError(
            f"{folder}: no hfswim run here (expected passages.parquet, generate/, filter/ or pipeline.json)."
        )
    return data


def _read_passages(path: Path, data: RunData) -> None:
    if not path.is_file():
        return
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    names = file_column_names(pq.read_schema(path).names, [PASSAGE_LANGUAGE])  # `lang` in older runs
    if not names:
        return
    counts = pc.value_counts(pq.read_table(path, columns=names).column(0)).to_pylist()
    data.passages = {row["values"]: row["counts"] for row in sorted(counts, key=lambda r: str(r["values"]))}


def _read_quality_report(path: Path, data: RunData) -> None:
    report = _json(path)
    if not report:
        return
    data.filters = [str(f) for f in report.get("execution_order") or report.get("per_filter") or []]
    for code, entry in sorted((report.get("per_language") or {}).items()):
        by_filter = entry.get("by_filter") or {}
        data.funnel[code] = {
            "in": entry.get("in", 0),
            "kept": entry.get("kept", 0),
            "rejected": {name: c.get("rejected", 0) for name, c in by_filter.items() if c.get("rejected")},
        }


def _read_records(path: Path, data: RunData) -> None:
    if not path.is_file():
        return
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    wanted = [QUERY_LANGUAGE, "query", "title", "text", "passage_id", "reject_filter", "parse_status"]
    columns = file_column_names(pq.read_schema(path).names, wanted)  # older runs: query_lang
    table = upgrade_columns(pq.read_table(path, columns=columns))
    if "reject_filter" in table.column_names:
        table = table.filter(pc.is_null(table.column("reject_filter")))
    if "parse_status" in table.column_names and "filter" not in str(path):
        table = table.filter(pc.equal(table.column("parse_status"), "ok"))
    if table.num_rows == 0 or "query" not in table.column_names:
        return
    lengths = pc.utf8_length(pc.utf8_trim_whitespace(table.column("query").fill_null(""))).to_pylist()
    for code, length in zip(table.column(QUERY_LANGUAGE).to_pylist(), lengths, strict=True):
        data.lengths.setdefault(code, []).append(length)
    for code in sorted(data.lengths):
        rows = table.filter(pc.equal(table.column(QUERY_LANGUAGE), code)).slice(0, SAMPLES_PER_LANGUAGE).to_pylist()
        data.samples[code] = [
            {k: str(row.get(k) or "") for k in ("query", "title", "text", "passage_id")} for row in rows
        ]
    if not data.funnel:  # no filter report: every record counts as kept
        data.funnel = {code: {"in": len(v), "kept": len(v), "rejected": {}} for code, v in data.lengths.items()}


def _read_dataset(path: Path, data: RunData) -> None:
    state = _json(path)
    for info in (state.get("configs") or {}).values():
        heldout = info.get("heldout") or {}
        if heldout.get("queries"):
            data.heldout[info["code"]] = data.heldout.get(info["code"], 0) + int(heldout["queries"])


def _read_scores(data: RunData) -> None:
    evaluate = data.stages.get("evaluate") or {}
    for model, entry in evaluate.items():
        if isinstance(entry, dict) and isinstance(entry.get("per_language"), dict):
            data.scores[model] = dict(entry["per_language"])
            data.metric = entry.get("metric") or data.metric
            data.models[model] = str(entry.get("model", model))
