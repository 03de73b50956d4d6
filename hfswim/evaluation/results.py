"""Evaluation results: flat score rows, a Markdown table per task, and model-index metadata for the model card.

mteb's ``TaskResult.scores`` maps a split to one dict per subset (language); :func:`score_rows`
flattens them so the other helpers need not know mteb's shape.

Example::

    >>> rows = [ScoreRow("XORRetrieve", "dev", "ja", ["jpn-Jpan"], "recall_at_5kt", 0.5, {"recall_at_5kt": 0.5})]
    >>> print(summary_markdown(rows).splitlines()[2])
    | XORRetrieve | dev | ja | recall_at_5kt | 50.00 |
    >>> to_model_index(rows, "me/my-model")[0]["results"][0]["metrics"][0]["type"]
    'recall_at_5kt'
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Metrics shown next to the main score when a task reports them.
EXTRA_METRICS = (
    "ndcg_at_10",
    "mrr_at_10",
    "recall_at_100",
    "recall_at_5kt",
    "recall_at_2kt",
    "recall_at_5kt_lenient",
    "recall_at_2kt_lenient",
)


@dataclass
class ScoreRow:
    """The scores of one task on one split and subset (language)."""

    task: str
    split: str
    subset: str
    languages: list[str]
    main_metric: str
    main_score: float
    scores: dict[str, Any] = field(default_factory=dict)
    dataset: str = ""
    dataset_revision: str | None = None


def score_rows(task_results: Iterable[Any]) -> list[ScoreRow]:
    """Flatten mteb ``TaskResult`` objects (or their JSON dicts) into :class:`ScoreRow` objects."""
    rows = []
    for result in task_results:
        data = result if isinstance(result, dict) else result.to_dict()
        name = data["task_name"]
        main_metric = _main_metric(name)
        for split, subsets in data["scores"].items():
            for entry in subsets:
                rows.append(
                    ScoreRow(
                        task=name,
                        split=split,
                        subset=entry.get("hf_subset", "default"),
                        languages=list(entry.get("languages", [])),
                        main_metric=main_metric,
                        main_score=float(entry["main_score"]),
                        scores={k: v for k, v in entry.items() if isinstance(v, (int, float))},
                        dataset=data.get("dataset_path", name) or name,
                        dataset_revision=data.get("dataset_revision"),
                    )
                )
    return rows


def _main_metric(task_name: str) -> str:
    from hfswim.evaluation.tasks import task_main_metric

    return task_main_metric(task_name)


def summary_markdown(rows: Sequence[ScoreRow]) -> str:
    """A Markdown table: one line per task, split and language, scores in percent, then the means.

    Each mean row says which languages it averages: a benchmark's published set when every one of its
    languages was evaluated (``mean (XTREME-UP official: 21 under-represented langs)``), and the plain mean of
    what was evaluated otherwise, naming the published set it falls short of.
    """
    extras = [m for m in EXTRA_METRICS if any(m in r.scores and m != r.main_metric for r in rows)]
    header = ["Task", "Split", "Language", "Main metric", "Main score", *extras]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for r in rows:
        cells = [r.task, r.split, r.subset, r.main_metric, f"{100 * r.main_score:.2f}"]
        cells += [f"{100 * r.scores[m]:.2f}" if m in r.scores else "" for m in extras]
        lines.append("| " + " | ".join(cells) + " |")
    for mean in mean_rows(rows):
        cells = [mean.task, mean.split, f"**{mean.label}**", mean.main_metric, f"**{100 * mean.main_score:.2f}**"]
        cells += [f"{100 * mean.scores[m]:.2f}" if m in mean.scores else "" for m in extras]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


@dataclass
class MeanRow:
    """The mean of a task's per-language scores over a named set of languages."""

    task: str
    split: str
    label: str
    languages: list[str]
    main_metric: str
    main_score: float
    scores: dict[str, float] = field(default_factory=dict)


def _mean_of(task: str, split: str, label: str, rows: Sequence[ScoreRow]) -> MeanRow:
    metrics = set.intersection(*(set(r.scores) for r in rows))
    return MeanRow(
        task=task,
        split=split,
        label=label,
        languages=[r.subset for r in rows],
        main_metric=rows[0].main_metric,
        main_score=sum(r.main_score for r in rows) / len(rows),
        scores={m: sum(float(r.scores[m]) for r in rows) / len(rows) for m in sorted(metrics)},
    )


def mean_rows(rows: Sequence[ScoreRow]) -> list[MeanRow]:
    """Per task and split: the mean over each published language set that is complete, then over all rows.

    Example::

        >>> rows = [ScoreRow("XORRetrieve", "dev", lang, [], "recall_at_5kt", 0.5) for lang in ("ja", "ru")]
        >>> mean_rows(rows)[0].label
        'mean of 2 langs (ja, ru); XOR-Retrieve official: 7 langs lacks ar, bn, fi, ko, te'
    """
    from hfswim.evaluation.language_sets import headline_sets

    groups: dict[tuple[str, str], list[ScoreRow]] = {}
    for r in rows:
        groups.setdefault((r.task, r.split), []).append(r)
    means = []
    for (task, split), group in groups.items():
        by_subset = {r.subset: r for r in group}
        complete, incomplete = [], []
        for language_set in headline_sets(task):
            missing = [lang for lang in language_set.languages if lang not in by_subset]
            if missing:
                total = len(language_set.languages)
                lacking = ", ".join(missing) if len(missing) <= 5 else f"{len(missing)} of its {total}"
                incomplete.append(f"{language_set.label} lacks {lacking}")
                continue
            members = [by_subset[lang] for lang in language_set.languages]
            complete.append(set(language_set.languages))
            means.append(_mean_of(task, split, f"mean ({language_set.label})", members))
        if len(group) < 2 or set(by_subset) in complete:
            continue
        names = ", ".join(by_subset) if len(by_subset) <= 8 else ""
        label = f"mean of {'all ' if complete else ''}{len(group)} langs" + (f" ({names})" if names else "")
        if incomplete and not complete:
            label += "; " + "; ".join(incomplete)
        means.append(_mean_of(task, split, label, group))
    return means


def as_rows(results: Any) -> list[ScoreRow]:
    """Score rows from any of: :class:`ScoreRow` list, mteb ``ModelResult`` / ``TaskResult`` list, or an
    ``hfswim evaluate`` output folder (its ``scores.json``)."""
    if isinstance(results, (str, Path)):
        path = Path(results)
        path = path / "scores.json" if path.is_dir() else path
        return [ScoreRow(**row) for row in json.loads(path.read_text(encoding="utf-8"))]
    if hasattr(results, "task_results"):
        results = results.task_results
    results = list(results)
    if all(isinstance(r, ScoreRow) for r in results):
        return results
    return score_rows(results)


def to_eval_results(results: Any) -> list[Any]:
    """``huggingface_hub.EvalResult`` objects (main score per task/split/language) for ``ModelCardData``.

    ``results``: anything :func:`as_rows` takes.
    """
    from huggingface_hub import EvalResult

    rows = as_rows(results)
    return [
        EvalResult(
            task_type="retrieval",
            task_name="Retrieval",
            dataset_type=r.dataset or r.task,
            dataset_name=r.task,
            dataset_config=r.subset,
            dataset_split=r.split,
            dataset_revision=r.dataset_revision,
            metric_type=r.main_metric,
            metric_name=r.main_metric,
            metric_value=round(100 * r.main_score, 4),
        )
        for r in rows
    ]


def to_model_index(results: Any, model_name: str) -> list[dict[str, Any]]:
    """The card's ``model-index`` (a list with one model entry), as ``huggingface_hub`` writes it.

    ``results``: anything :func:`as_rows` takes (score rows, mteb results, or an ``hfswim evaluate`` folder).
    """
    from huggingface_hub.repocard_data import eval_results_to_model_index

    return eval_results_to_model_index(model_name, to_eval_results(results))
