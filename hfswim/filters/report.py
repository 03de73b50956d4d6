"""The quality report: what each filter dropped, per language, with sample rejects.

``hfswim filter`` writes it as ``quality_report.json`` (read by the dataset card) and
``quality_report.md`` (for people). JSON structure (all counts are rows)::

    {
      "hfswim_version": "0.1.0",
      "input": "runs/gen/generated.parquet",
      "filters": ["parse", "langid", "dedup", "heuristics", "safety"],   # as configured
      "execution_order": ["parse", "langid", "heuristics", "safety", "dedup"],  # row phase, then select phase
      "config": {...},                          # the FilterConfig, as validated
      "totals": {"in": 1000, "kept": 812, "rejected": 188, "kept_fraction": 0.812},
      "per_filter": {                           # in execution order
        "langid": {"phase": "row", "in": 990, "rejected": 41, "out": 949,
                   "reasons": {"wrong_language": 30, "english_query": 11}},
        ...
      },
      "per_language": {
        "sw": {"in": 100, "kept": 80, "rejected": 20, "kept_fraction": 0.8,
               "by_filter": {"langid": {"in": 99, "rejected": 12, "out": 87}, ...}},
        ...
      },
      "samples": {                              # a few rejects per filter (smallest record_id first)
        "langid": [{"record_id": "...", "query_language": "sw", "query": "...", "reason": "wrong_language: ..."}],
        ...
      },
      "seconds": 12.3
    }

``in`` of a filter counts the rows it judged (those no earlier filter rejected), ``rejected`` the rows
it dropped, ``out = in - rejected``. Select filters (dedup, top-k) judge twice — a per-row rule (e.g. a
missing log-prob) and the selection among all survivors — and their counts cover both.
"""

from __future__ import annotations

import bisect
import heapq
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hfswim.filters.base import Rejection, Row
from hfswim.records import QUERY_LANGUAGE


@dataclass
class _Counts:
    n_in: int = 0
    rejected: int = 0
    reasons: Counter = field(default_factory=Counter)


@dataclass
class QualityReport:
    """Counts in and out per filter and per language, and sample rejects."""

    input: str = ""
    filters: list[str] = field(default_factory=list)
    execution_order: list[str] = field(default_factory=list)
    phases: dict[str, str] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    samples_per_filter: int = 5
    seconds: float = 0.0
    total_in: int = 0
    per_filter: dict[str, _Counts] = field(default_factory=dict)
    per_language_in: Counter = field(default_factory=Counter)
    per_language_rejected: Counter = field(default_factory=Counter)
    per_language_filter: dict[str, dict[str, _Counts]] = field(default_factory=lambda: defaultdict(dict))
    samples: dict[str, list[tuple[str, dict[str, Any]]]] = field(default_factory=lambda: defaultdict(list))

    # ----- accumulation (used by hfswim.filters.judging.FilterRun)

    def count_input(self, rows: list[Row]) -> None:
        self.total_in += len(rows)
        self.per_language_in.update(row.get(QUERY_LANGUAGE) or "" for row in rows)

    def count_filter(self, name: str, reached: list[Row] | Counter, rejected: list[tuple[Row, Rejection]]) -> None:
        stats = self.per_filter.setdefault(name, _Counts())
        langs_in = reached if isinstance(reached, Counter) else Counter(r.get(QUERY_LANGUAGE) or "" for r in reached)
        stats.n_in += sum(langs_in.values())
        for lang, n in langs_in.items():
            self.per_language_filter[lang].setdefault(name, _Counts()).n_in += n
        if not rejected:
            return
        # Count per (language, code) in one C-level pass, then add each group at once: a batch has ~1k
        # rejects and a handful of groups. (First appearances keep their order, as one add per row did.)
        groups = Counter([(row.get(QUERY_LANGUAGE) or "", rejection.code) for row, rejection in rejected])
        for (lang, code), n in groups.items():
            stats.rejected += n
            stats.reasons[code] += n
            lang_stats = self.per_language_filter[lang].setdefault(name, _Counts())
            lang_stats.rejected += n
            lang_stats.reasons[code] += n
            self.per_language_rejected[lang] += n
        # Only the rows with the smallest record_ids can become samples: offer those (in their order).
        if len(rejected) > self.samples_per_filter:
            rids = [row.get("record_id") or "" for row, _ in rejected]
            smallest = heapq.nsmallest(self.samples_per_filter, range(len(rids)), key=rids.__getitem__)
            rejected = [rejected[i] for i in sorted(smallest)]
        for row, rejection in rejected:
            self._sample(name, row, rejection)

    def _sample(self, name: str, row: Row, rejection: Rejection) -> None:
        # Keep the n smallest record_ids: a deterministic sample, whatever the input order.
        bucket = self.samples[name]
        rid = row.get("record_id") or ""
        if len(bucket) >= self.samples_per_filter and (not bucket or rid >= bucket[-1][0]):
            return
        item = {
            "record_id": rid,
            QUERY_LANGUAGE: row.get(QUERY_LANGUAGE),
            "query": row.get("query"),
            "passage_id": row.get("passage_id"),
            "reason": rejection.reason,
        }
        bisect.insort(bucket, (rid, item), key=lambda t: t[0])
        del bucket[self.samples_per_filter :]

    # ----- results

    @property
    def rejected(self) -> int:
        return sum(self.per_language_rejected.values())

    @property
    def kept(self) -> int:
        return self.total_in - self.rejected

    def totals(self) -> dict[str, Any]:
        """``{"in", "kept", "rejected", "kept_fraction"}`` over all languages."""
        return {
            "in": self.total_in,
            "kept": self.kept,
            "rejected": self.rejected,
            "kept_fraction": round(self.kept / self.total_in, 4) if self.total_in else 0.0,
        }

    def to_dict(self) -> dict[str, Any]:
        from hfswim import __version__

        def counts(c: _Counts, phase: str | None = None) -> dict[str, Any]:
            d: dict[str, Any] = {"phase": phase} if phase else {}
            d.update({"in": c.n_in, "rejected": c.rejected, "out": c.n_in - c.rejected})
            if c.reasons:
                d["reasons"] = dict(sorted(c.reasons.items(), key=lambda kv: (-kv[1], kv[0])))
            return d

        per_language = {}
        for lang in sorted(self.per_language_in):
            n_in, rej = self.per_language_in[lang], self.per_language_rejected[lang]
            per_language[lang] = {
                "in": n_in,
                "kept": n_in - rej,
                "rejected": rej,
                "kept_fraction": round((n_in - rej) / n_in, 4) if n_in else 0.0,
                "by_filter": {
                    name: counts(self.per_language_filter[lang][name])
                    for name in self.execution_order
                    if name in self.per_language_filter[lang]
                },
            }
        return {
            "hfswim_version": __version__,
            "input": self.input,
            "filters": self.filters,
            "execution_order": self.execution_order,
            "config": self.config,
            "totals": self.totals(),
            "per_filter": {
                name: counts(self.per_filter.get(name, _Counts()), self.phases.get(name))
                for name in self.execution_order
            },
            "per_language": per_language,
            "samples": {
                name: [item for _, item in self.samples[name]]
                for name in self.execution_order
                if self.samples.get(name)
            },
            "seconds": round(self.seconds, 3),
        }

    def to_markdown(self) -> str:
        d = self.to_dict()
        t = d["totals"]
        lines = [
            "# Quality report",
            "",
            f"Input: `{d['input']}`. Filters (execution order): {', '.join(d['execution_order']) or 'none'}.",
            "",
            f"**{t['kept']:,} of {t['in']:,} records kept ({100 * t['kept_fraction']:.1f}%)**, {t['rejected']:,} rejected.",
            "",
            "## Per filter",
            "",
            "| filter | phase | in | rejected | out | reasons |",
            "|---|---|---:|---:|---:|---|",
        ]
        for name, c in d["per_filter"].items():
            reasons = ", ".join(f"{k} {v}" for k, v in c.get("reasons", {}).items())
            lines.append(
                f"| {name} | {c.get('phase', '')} | {c['in']:,} | {c['rejected']:,} | {c['out']:,} | {reasons} |"
            )
        names = d["execution_order"]
        lines += [
            "",
            "## Per language",
            "",
            "Rejected rows per filter; kept = in - all rejected.",
            "",
            "| lang | in | kept | kept % | " + " | ".join(names) + " |",
            "|---|---:|---:|---:|" + "---:|" * len(names),
        ]
        for lang, c in d["per_language"].items():
            cells = [str(c["by_filter"].get(n, {}).get("rejected", 0)) for n in names]
            lines.append(
                f"| {lang} | {c['in']:,} | {c['kept']:,} | {100 * c['kept_fraction']:.1f} | " + " | ".join(cells) + " |"
            )
        lines += _relevance_lines(d)
        if d["samples"]:
            lines += ["", "## Sample rejects", ""]
            for name, items in d["samples"].items():
                lines.append(f"### {name}")
                lines.append("")
                for item in items:
                    query = (item["query"] or "").replace("\n", " ").replace("|", "\\|")
                    lines.append(f"- `{item[QUERY_LANGUAGE]}` {query!r} — {item['reason']}")
                lines.append("")
        return "\n".join(lines).rstrip() + "\n"

    def write(self, folder: str | Path) -> tuple[Path, Path]:
        from hfswim.io import write_json_atomic

        folder = Path(folder)
        json_path, md_path = folder / "quality_report.json", folder / "quality_report.md"
        write_json_atomic(json_path, self.to_dict())
        md_path.write_text(self.to_markdown(), encoding="utf-8")
        return json_path, md_path

    @staticmethod
    def load(path: str | Path) -> dict[str, Any]:
        """Read a written ``quality_report.json`` (as the dataset card does)."""
        return json.loads(Path(path).read_text(encoding="utf-8"))


# SWIM-IR's human evaluation of its synthetic queries (Thakur et al., NAACL 2024): share in the right language and
# share judged adequate (the passage answers the query), over the languages it evaluated.
SWIM_IR_HUMAN = "SWIM-IR human evaluation: right language 99-100%, adequate 63-85%"
RELEVANCE_FILTERS = {
    "langid": "right language",
    "roundtrip": "round-trip accuracy (source passage in the retriever's top k)",
    "upr": "LLM query-likelihood: source passage wins",
}


def _relevance_lines(d: dict[str, Any]) -> list[str]:
    """Per language, the share of the rows reaching each relevance filter that it passed: an automatic estimate
    of language and adequacy next to SWIM-IR's human figures."""
    names = [n for n in RELEVANCE_FILTERS if n in d["execution_order"]]
    if not names or not any(n in ("roundtrip", "upr") for n in names):
        return []
    lines = [
        "",
        "## Relevance per language",
        "",
        "Share of the rows reaching each filter that it passed ("
        + "; ".join(RELEVANCE_FILTERS[n] for n in names)
        + f"). For comparison, {SWIM_IR_HUMAN}.",
        "",
        "| lang | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for lang, c in d["per_language"].items():
        cells = []
        for n in names:
            f = c["by_filter"].get(n)
            cells.append(f"{100 * f['out'] / f['in']:.0f}% of {f['in']}" if f and f["in"] else "–")
        lines.append(f"| {lang} | " + " | ".join(cells) + " |")
    return lines
