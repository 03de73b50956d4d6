"""``hfswim evaluate``: run mteb on official and hfswim tasks, write results, a summary and model-index metadata.

Writes into ``--output``::

    results/<model>/<revision>/<Task>.json   # mteb's standard result files (mteb.ResultCache layout)
    summary.md                               # one Markdown table, a row per task/split/language
    model-index.json                         # huggingface_hub model-index for the model card
    scores.json                              # the flat rows behind summary.md

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

    @property
    def summary(self) -> str:
        return summary_markdown(self.rows)

    @property
    def model_index(self) -> list[dict[str, Any]]:
        return to_model_index(self.rows, self.model_name)


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
    result = mteb.evaluate(
        model,
        tasks,
        encode_kwargs={"batch_size": config.batch_size, "show_progress_bar": show_progress_bar},
        cache=mteb.ResultCache(cache_path=output),
        overwrite_strategy="always",
        show_progress_bar=show_progress_bar,
        co2_tracker=False,
    )
    rows = score_rows(result.task_results)
    run = EvaluationRun(model_name=model_name, rows=rows, output=output, task_results=list(result.task_results))
    (output / "summary.md").write_text(f"# {model_name}\n\n{run.summary}\n", encoding="utf-8")
    write_json_atomic(output / "model-index.json", run.model_index)
    write_json_atomic(output / "scores.json", [asdict(r) for r in rows])
    return run
