"""Run the whole pipeline from one :class:`~hfswim.config.PipelineConfig`.

``sample -> generate -> filter -> build-dataset -> train -> evaluate -> report``, each stage
writing into its own folder under ``output_dir`` and reading the one before::

    runs/demo/
      passages.parquet          # hfswim sample
      generate/                 # hfswim generate: store/, generated.parquet, manifest.json
      filter/                   # hfswim filter: kept.parquet, rejected.parquet, quality_report.{json,md}
      dataset/                  # hfswim build-dataset: data/<lang>/train-*.parquet, README.md (card)
      model/                    # hfswim train (when the train section is set)
      eval/                     # hfswim evaluate on the held-out split: base, trained (and bm25) models
      report/                   # hfswim report: report.html and its charts
      pipeline.json             # what ran: each stage's fingerprint, seconds and headline counts/metrics

**Resume by stage.** Each stage's fingerprint (its resolved settings and the files it reads, see
:mod:`hfswim.run_state`) is recorded in ``pipeline.json``; a re-run reuses every stage whose fingerprint is
unchanged and whose outputs are still there, so re-running an unchanged config trains and evaluates nothing,
and changing ``train:`` re-runs train and evaluate only. ``force=["train"]`` re-runs a stage on purpose.
Within a stage, generation keeps a durable record store: an interrupted run continues where it stopped.

Example::

    from hfswim.config import PipelineConfig
    from hfswim.pipeline import run_pipeline

    summary = run_pipeline(PipelineConfig.from_yaml("pipeline.yaml"))
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hfswim.config import PipelineConfig, section_values, validate_section
from hfswim.errors import ConfigError, InputError
from hfswim.io import make_dir, write_json_atomic
from hfswim.run_state import fingerprint, load_previous, strict_json

STAGE_NAMES = ("sample", "generate", "filter", "dataset", "train", "evaluate", "report")
STAGE_ALIASES = {"build-dataset": "dataset", "corpus": "sample", "eval": "evaluate"}
# Keys of a stage's resolved settings that change how it shows progress, never what it writes.
_COSMETIC = ("progress", "show_progress_bar", "quiet", "verbose")


def _log(message: str, **style: Any) -> None:
    import typer

    typer.secho(message, err=True, **({"fg": "cyan"} | style))


def stage_name(name: str) -> str:
    """The canonical name of a stage (``build-dataset`` is ``dataset``); ConfigError for an unknown one."""
    canonical = STAGE_ALIASES.get(name, name)
    if canonical not in STAGE_NAMES:
        raise ConfigError(f"--force {name}: unknown stage; choose one of {', '.join(STAGE_NAMES)}.")
    return canonical


@dataclass
class _Stage:
    """One step of the run: what it reads, what it must leave behind, and how to run it."""

    name: str
    settings: Any  # the resolved section (defaults filled), part of the fingerprint
    inputs: list[Path]
    outputs: list[Path]  # all must exist for a recorded run to be reused
    run: Callable[[], dict[str, Any]]
    describe: str = ""
    always: bool = False  # cheap steps that read everything (the report): never reused


class _Runner:
    """Runs stages in order, reusing unchanged ones, printing ``[3/7] filter ... 12.4 s`` and saving pipeline.json."""

    def __init__(self, out: Path, total: int, force: set[str]):
        self.out = out
        self.total = total
        self.force = force
        self.previous = load_previous(out / "pipeline.json")
        self.summary: dict[str, Any] = {"output_dir": str(out), "stages": {}}
        self.started = time.time()
        self.index = 0

    def run(self, stage: _Stage) -> dict[str, Any]:
        self.index += 1
        step = f"[{self.index}/{self.total}] {stage.name}"
        settings = _without_cosmetic(stage.settings)
        digest = fingerprint(stage.name, settings, stage.inputs)
        before = self.previous.get(stage.name) or {}
        reusable = (
            not stage.always
            and stage.name not in self.force
            and before.get("fingerprint") == digest
            and all(p.exists() for p in stage.outputs)
        )
        if reusable:
            record = _reused_record(before)
            _log(
                f"{step} reused{_headline(stage.name, record)}: unchanged since the last run{_when_done(record)}",
                fg="cyan",
            )
        else:
            _log(f"{step}: {stage.describe}" if stage.describe else step, fg="cyan", bold=True)
            started = time.time()
            result = stage.run()
            seconds = round(time.time() - started, 1)
            finished = datetime.now(timezone.utc).strftime(_TIME_FORMAT)
            record = {"status": "ran", "fingerprint": digest, "seconds": seconds, "finished_at": finished, **result}
            _log(f"{step} done in {seconds} s{_headline(stage.name, record)}", fg="green")
        self.summary["stages"][stage.name] = record
        self._save()
        return record

    def finish(self) -> dict[str, Any]:
        self.summary["wall_seconds"] = round(time.time() - self.started, 1)
        self._save()
        ran = [n for n, r in self.summary["stages"].items() if r.get("status") == "ran"]
        reused = len(self.summary["stages"]) - len(ran)
        _log(
            f"done in {self.summary['wall_seconds']} s ({len(ran)} of {len(self.summary['stages'])} stages ran"
            f"{f', {reused} reused' if reused else ''}); "
            f"summary in {self.out / 'pipeline.json'}",
            fg="green",
            bold=True,
        )
        return self.summary

    def _save(self) -> None:
        # Saved after every stage: an interrupted run keeps the fingerprints of the stages it finished.
        write_json_atomic(self.out / "pipeline.json", strict_json(self.summary))


_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def _reused_record(before: dict[str, Any]) -> dict[str, Any]:
    """A reused stage's record: it took no time in this run (``seconds`` is null, not a 0 s timing); ``ran_seconds``
    and ``ran_at`` say when the run that made its outputs did it (carried over a chain of reuses)."""
    if before.get("status") == "reused":
        ran_seconds, ran_at = before.get("ran_seconds"), before.get("ran_at")
    else:
        ran_seconds, ran_at = before.get("seconds"), before.get("finished_at")
    record = {k: v for k, v in before.items() if k not in ("seconds", "finished_at")}
    return {**record, "status": "reused", "seconds": None, "ran_seconds": ran_seconds, "ran_at": ran_at}


def _when_done(record: dict[str, Any]) -> str:
    """``", done in 41.2 s on 2026-11-30 22:10 UTC"`` for a reused stage, as far as pipeline.json knows."""
    seconds, at = record.get("ran_seconds"), record.get("ran_at")
    if not isinstance(seconds, int | float):
        return ""
    try:
        day = datetime.strptime(str(at), _TIME_FORMAT).strftime(" on %Y-%m-%d %H:%M UTC")
    except ValueError:  # a pipeline.json from before ran_at was recorded
        day = ""
    return f", done in {seconds} s{day}"


def _without_cosmetic(settings: Any) -> Any:
    if isinstance(settings, dict):
        return {k: _without_cosmetic(v) for k, v in settings.items() if k not in _COSMETIC}
    return settings


def _headline(name: str, record: dict[str, Any]) -> str:
    """A few words of what a stage produced, for its console line."""
    if name == "sample" and isinstance(record.get("per_language"), dict):
        return f" ({sum(record['per_language'].values())} passages)"
    if name == "generate":
        done = f"; {record['already_done']} already in the store" if record.get("already_done") else ""
        if record.get("server_started") is False:
            done += ", embedded server not started"
        return (
            f" ({record.get('accepted', 0)} accepted, {record.get('rejected', 0)} rejected, "
            f"{record.get('failed', 0)} failed{done})"
        )
    if name == "filter":
        return (
            f" (kept {record.get('kept', 0)} of {record.get('in', record.get('kept', 0) + record.get('rejected', 0))})"
        )
    if name == "dataset":
        return f" ({', '.join(record.get('configs', []))})"
    if name == "train":
        return f" ({record.get('steps')} steps)"
    if name == "evaluate":
        scores = [
            f"{model} {entry['mean']:.3f}"
            for model, entry in record.items()
            if isinstance(entry, dict) and isinstance(entry.get("mean"), float)
        ]
        metric = next((e.get("metric") for e in record.values() if isinstance(e, dict) and e.get("metric")), "")
        return f" (mean {metric}: {', '.join(scores)})" if scores else ""
    if name == "report":
        return f" ({record.get('html')})"
    return ""


def run_pipeline(
    config: PipelineConfig, output_dir: str | Path | None = None, force: list[str] | tuple[str, ...] = ()
) -> dict[str, Any]:
    """Run every configured stage in order, reusing unchanged ones; returns (and writes) ``pipeline.json``.

    Every section is validated before the first stage starts: a typo under ``train:`` is reported before
    generation spends its LLM calls. ``force``: stage names to re-run even when unchanged.
    """
    out = Path(output_dir or config.output_dir)
    forced = {stage_name(name) for name in force}
    validate_pipeline(config, out)
    make_dir(out)
    runner = _Runner(out, _count_stages(config), forced)

    passages = out / "passages.parquet"
    corpus = _corpus_config(config.corpus)
    runner.run(
        _Stage(
            "sample",
            corpus.model_dump(mode="json"),
            [Path(corpus.source)] if Path(str(corpus.source)).exists() else [],
            [passages],
            lambda: _sample(corpus, passages),
            f"{section_values(config.corpus).get('source', corpus.source)} -> {passages}",
        )
    )
    if config.generate is None:
        return runner.finish()

    gen_out = out / "generate"
    gen_config = _generate_config(config.generate, passages, gen_out)
    generated = runner.run(
        _Stage(
            "generate",
            gen_config.model_dump(mode="json"),
            [passages],
            [gen_out / "generated.parquet", gen_out / "manifest.json"],
            lambda: _generate(gen_config),
            f"{gen_config.strategy} {gen_config.setting} -> {gen_out}",
        )
    )

    records = Path(generated["parquet"])
    quality_report = None
    if config.filter is not None:
        filter_out = out / "filter"
        examples = config.generate.examples
        filter_config = _filter_settings(config.filter, examples)
        filtered = runner.run(
            _Stage(
                "filter",
                filter_config.model_dump(mode="json"),
                [records, *([Path(examples)] if examples else [])],
                [filter_out / "kept.parquet", filter_out / "quality_report.json"],
                lambda: _filter(filter_config, records, filter_out),
                f"{records} -> {filter_out}",
            )
        )
        records = filter_out / "kept.parquet"
        quality_report = filter_out / "quality_report.json"
        if filtered["kept"] == 0:
            raise InputError(
                f"{filter_out}: every generated record was rejected; see quality_report.md there. "
                "Nothing left to publish or train on."
            )

    if config.dataset is not None:
        dataset_dir = out / "dataset"
        manifest = Path(generated["manifest"])
        build_config = _build_config(
            config.dataset, manifest, quality_report, source=source_dataset_name(config.corpus)
        )
        runner.run(
            _Stage(
                "dataset",
                build_config.model_dump(mode="json"),
                [records, manifest, *([quality_report] if quality_report else [])],
                [dataset_dir / "hfswim.json"],
                lambda: _build(build_config, records, dataset_dir),
                f"{records} -> {dataset_dir}",
            )
        )
        models: dict[str, str | None] = {}
        if config.train is not None:
            train_config = _train_config(config.train, dataset_dir, out / "model")
            trained = runner.run(
                _Stage(
                    "train",
                    train_config.model_dump(mode="json"),
                    [dataset_dir / "data"],
                    [out / "model" / "modules.json"],
                    lambda: _train(train_config),
                    f"{Path(train_config.resolved_base_model).name} on {dataset_dir} -> {out / 'model'}",
                )
            )
            models["base"] = trained.get("base_model")
            models["trained"] = str(out / "model")
        if config.evaluate is not None:
            models.setdefault("base", None)
            configs = _evaluate_configs(config, dataset_dir, models, out)
            runner.run(
                _Stage(
                    "evaluate",
                    {name: c.model_dump(mode="json") for name, c in configs.items()},
                    [dataset_dir / "data", *([out / "model"] if "trained" in models else [])],
                    [out / "eval" / name for name in configs],
                    lambda: _evaluate(configs, out, dataset_dir),
                    f"{', '.join(configs)} on the held-out split of {dataset_dir}",
                )
            )

    runner.run(_Stage("report", {}, [], [], lambda: _report(out), "charts and report.html", always=True))
    return runner.finish()


def _count_stages(config: PipelineConfig) -> int:
    if config.generate is None:
        return 1
    optional = (config.filter, config.dataset)
    later = (config.train, config.evaluate) if config.dataset is not None else ()
    return 2 + sum(s is not None for s in optional) + sum(s is not None for s in later) + 1


def _evaluate_configs(
    config: PipelineConfig, dataset: Path, models: dict[str, str | None], out: Path
) -> dict[str, Any]:
    """One evaluate config per model: ``models`` (base, trained) plus the baselines, each into ``eval/<name>``.
    When the run trains a reranker, base and trained re-rank the first stage (``evaluate.model``, default bm25)."""
    models = {**models, **({name: name for name in config.evaluate.baselines} or _baselines())}
    rerank = _trains_reranker(config)
    return {
        name: _evaluate_config(
            config.evaluate, dataset, model, out / "eval" / name, rerank=rerank and name in ("base", "trained")
        )
        for name, model in models.items()
    }


def _baselines() -> dict[str, str]:
    """With no ``evaluate.baselines`` given: BM25 next to the encoders when its extra is installed (bm25s +
    PyStemmer)."""
    import importlib.util

    if importlib.util.find_spec("bm25s") and importlib.util.find_spec("Stemmer"):
        return {"bm25": "bm25"}
    return {}


def validate_pipeline(config: PipelineConfig, out: Path) -> None:
    """Validate every section with its stage's own config model, as the stage will build it, before any runs.

    The paths that connect the stages are the ones the run will use (the files need not exist yet);
    the side files that only a finished stage writes (the generation manifest, the quality report) are left
    out here and checked when that stage has written them.

    Raises:
        ConfigError: naming the config file, the section and the key, e.g.
            ``pipeline.yaml: train.max_step: unknown option (did you mean max_steps?).``
    """
    where = config.source
    _corpus_config(config.corpus, where)
    if config.generate is None:
        return
    _generate_config(config.generate, out / "passages.parquet", out / "generate", where)
    if config.filter is not None:
        _filter_config(config.filter, where)
    if config.dataset is None:
        return
    _build_config(config.dataset, None, None, where)
    base_model = None
    if config.train is not None:
        base_model = _train_config(config.train, out / "dataset", out / "model", where).resolved_base_model
    if config.evaluate is not None:
        for model in (base_model, str(out / "model") if config.train is not None else None):
            _evaluate_config(config.evaluate, out / "dataset", model, out / "eval", where, _trains_reranker(config))


def _trains_reranker(config: PipelineConfig) -> bool:
    """Whether evaluation re-ranks a first stage with the base and trained models: a ``train: {reranker: true}``
    section (a CrossEncoder), or a trained bi-encoder when ``evaluate: {model: ...}`` names the first stage (the
    InPars recipe with the multilingual bi-encoder as the re-ranker, ``hfswim run inpars``)."""
    if config.train is None:
        return False
    return bool(config.train.reranker or section_values(config.evaluate).get("model"))


def resolved_config(config: PipelineConfig, output_dir: str | Path | None = None) -> dict[str, Any]:
    """The config that will run: every section as its stage's config model builds it (defaults filled, the
    paths between stages set), for ``hfswim run --print-config``."""
    out = Path(output_dir or config.output_dir)
    validate_pipeline(config, out)
    resolved: dict[str, Any] = {"output_dir": str(out), "corpus": _corpus_config(config.corpus).model_dump(mode="json")}
    if config.generate is None:
        return resolved
    resolved["generate"] = _generate_config(config.generate, out / "passages.parquet", out / "generate").model_dump(
        mode="json"
    )
    records, report = out / "generate" / "generated.parquet", None
    if config.filter is not None:
        resolved["filter"] = _filter_settings(config.filter, config.generate.examples).model_dump(mode="json")
        records, report = out / "filter" / "kept.parquet", out / "filter" / "quality_report.json"
    if config.dataset is None:
        return resolved
    dataset = out / "dataset"
    resolved["dataset"] = {
        "records": str(records),
        **_build_config(config.dataset, None, None, source=source_dataset_name(config.corpus)).model_dump(mode="json"),
        # Files the earlier stages write (the config model checks that they exist, so they are named here).
        "manifest": str(out / "generate" / "manifest.json"),
        "quality_report": str(report) if report else None,
    }
    models: dict[str, str | None] = {"base": None}
    if config.train is not None:
        train = _train_config(config.train, dataset, out / "model")
        resolved["train"] = train.model_dump(mode="json")
        models = {"base": train.resolved_base_model, "trained": str(out / "model")}
    if config.evaluate is not None:
        configs = _evaluate_configs(config, dataset, models, out)
        resolved["evaluate"] = {name: c.model_dump(mode="json") for name, c in configs.items()}
    return resolved


# One builder per stage: the same code validates the section up front and configures the stage when it runs.
# The sections were validated as typed models when the config was read; these add the paths that connect the
# stages and validate the stage's own model once more with them.
Section = Any  # a PipelineConfig section: the stage's config model (or a plain mapping of its fields)


def _corpus_config(section: Section, where: str = "pipeline config") -> Any:
    from hfswim.corpus import CorpusConfig

    return validate_section(CorpusConfig, section_values(section), where=where, section="corpus")


def _generate_config(section: Section, passages: Path, out: Path, where: str = "pipeline config") -> Any:
    from hfswim.generation import GenerateConfig

    values = {**section_values(section), "passages": str(passages), "output_dir": str(out)}
    return validate_section(GenerateConfig, values, where=where, section="generate")


def _filter_config(section: Section, where: str = "pipeline config") -> Any:
    from hfswim.filters import FilterConfig

    return validate_section(FilterConfig, section_values(section), where=where, section="filter")


def _build_config(
    section: Section,
    manifest: Path | None,
    report: Path | None,
    where: str = "pipeline config",
    source: str | None = None,
) -> Any:
    """``source``: the corpus the passages came from, for the card's ``source_datasets``."""
    from hfswim.hub import BuildConfig

    values = {**({"manifest": str(manifest)} if manifest else {}), **section_values(section)}
    if source and not values.get("source_datasets"):
        values["source_datasets"] = [source]
    if report is not None:
        values.setdefault("quality_report", str(report))
    return validate_section(BuildConfig, values, where=where, section="dataset")


def _train_config(section: Section, dataset: Path, out: Path, where: str = "pipeline config") -> Any:
    from hfswim.training import TrainConfig

    values = {**section_values(section), "dataset": str(dataset), "output_dir": str(out)}
    return validate_section(TrainConfig, values, where=where, section="train")


def _evaluate_config(
    section: Section,
    dataset: Path,
    model: str | None,
    out: Path,
    where: str = "pipeline config",
    rerank: bool = False,
) -> Any:
    """``rerank``: ``model`` is a cross-encoder re-ranking the section's first stage (``model:``, default bm25)."""
    from hfswim.evaluation import EvaluateConfig

    values = {"tasks": f"local:{dataset}", **section_values(section), "output": str(out)}
    if rerank:
        values.setdefault("model", "bm25")
        if model:
            values["reranker"] = model
    elif model:
        values.setdefault("model", model)
    return validate_section(EvaluateConfig, values, where=where, section="evaluate")


def source_dataset_name(section: Section) -> str:
    """How the dataset card names the corpus: a Hub id (with its config), the demo corpus, or a file's name.

    >>> source_dataset_name({"source": "wikimedia/wikipedia", "hub_config": "20231101.sw"})
    'wikimedia/wikipedia (20231101.sw)'
    """
    from hfswim.corpus import demo_corpus_path

    corpus = section_values(section)
    source = str(corpus.get("source", ""))
    if source == "demo" or source == str(demo_corpus_path()):
        return "hfswim demo corpus (Wikipedia-style passages packaged with hfswim)"
    if Path(source).exists():
        return Path(source.rstrip("/")).name
    return f"{source} ({corpus['hub_config']})" if corpus.get("hub_config") else source


def _filter_settings(section: Section, examples: str | None) -> Any:
    config = _filter_config(section)
    # Promptagator prompts showed the user's examples: exemplar-copy compares its rows with those.
    spec = config.spec("exemplar-copy")
    if examples and spec is not None and getattr(spec, "examples", None) is None:
        spec.examples = str(examples)
    return config


def _sample(config: Any, path: Path) -> dict[str, Any]:
    from hfswim.corpus import write_passages

    counts = write_passages(config, path)
    return {"passages": str(path), "per_language": counts}


def _generate(config: Any) -> dict[str, Any]:
    from hfswim.generation import generate

    result = generate(config)
    return {
        "parquet": str(result.parquet_path),
        "manifest": str(result.manifest_path),
        "accepted": result.accepted,
        "rejected": result.rejected,
        "failed": result.failed,
        "already_done": result.manifest["records"]["already_done"],
        # false: every record was in the store, so the embedded server was not started (absent: endpoints given)
        **({"server_started": embedded["started"]} if (embedded := result.manifest.get("embedded_server")) else {}),
    }


def _filter(config: Any, records: Path, out: Path) -> dict[str, Any]:
    from hfswim.filters import run_filters

    report = run_filters(records, out, config)
    totals = report.totals() if hasattr(report, "totals") else {}
    return {"kept": _count_rows(out / "kept.parquet"), "rejected": _count_rows(out / "rejected.parquet"), **totals}


def _build(config: Any, records: Path, out: Path) -> dict[str, Any]:
    from hfswim.hub import build_dataset

    result = build_dataset(records, out, config)
    return {"folder": str(out), "configs": [c.name for c in result.configs]}


def _train(config: Any) -> dict[str, Any]:
    from hfswim.training import train

    result = train(config)
    return {"model": str(config.output_dir), "base_model": result.base_model, "steps": result.global_step}


def _check_heldout_split(configs: dict[str, Any], dataset: Path) -> None:
    """The run evaluates on its own dataset's held-out split: say why when the dataset stage wrote none (too few
    passages for ``dataset.heldout_fraction``), instead of evaluate's "found neither corpus.jsonl ..."."""
    from hfswim.hub.build import load_state

    if all(c.tasks != f"local:{dataset}" for c in configs.values()):
        return  # evaluate.tasks names another benchmark
    built = (load_state(dataset) or {}).get("configs") or {}  # no state: evaluate reports the folder itself
    if built and not any(c.get("heldout") for c in built.values()):
        rows = ", ".join(f"{name} {c.get('rows', '?')}" for name, c in built.items())
        raise ConfigError(
            f"{dataset}: the dataset stage wrote no held-out split to evaluate on (records per language: {rows}; "
            "no passage fell into the held-out draw). Raise dataset.heldout_fraction, give the run more passages "
            "(corpus.sample_size), or point evaluate.tasks at a benchmark folder."
        )


def _evaluate(configs: dict[str, Any], out: Path, dataset: Path) -> dict[str, Any]:
    """Evaluate every model; pipeline.json keeps the headline (main score per language and its mean), the full
    mteb output stays in ``eval/<model>/``."""
    from hfswim.evaluation import evaluate
    from hfswim.progress import progress_bar

    _check_heldout_split(configs, dataset)
    results: dict[str, Any] = {}
    # One bar over the models (mteb's per-encode "Batches" bars would print a dozen lines per model).
    with progress_bar("evaluate", total=len(configs), unit="model", delay=0) as bar:
        for name, config in configs.items():
            bar.set_postfix_str(name)
            run = evaluate(config)
            # A re-ranking evaluation's headline is the re-ranked run; the first stage's rows stay in its files.
            rows = run.reranked_rows if config.reranker else run.rows
            results[name] = headline_scores(rows, config.reranker or config.model, out / "eval" / name)
            bar.update()
    _log(score_table(results), fg="white")
    if len(results) > 1:
        # Side by side, with trained - base: the before/after the run is for, readable without the report.
        (out / "eval" / "comparison.md").write_text(comparison_markdown(results), encoding="utf-8")
    model_dir = out / "model"
    if "trained" in results and (model_dir / "README.md").is_file():
        _card_evaluation(model_dir, results, dataset)
    return results


def _card_evaluation(model_dir: Path, results: dict[str, Any], dataset: Path) -> None:
    """The model card's Evaluation section and chart: the scores this run measured."""
    from hfswim.report.charts import evaluation_chart
    from hfswim.training.model_card import add_pipeline_evaluation

    scores = {name: entry["per_language"] for name, entry in results.items()}
    metric = next((e["metric"] for e in results.values() if e.get("metric")), "ndcg_at_10")
    image = "images/evaluation.png"
    evaluation_chart(scores, metric, model_dir / image)
    add_pipeline_evaluation(model_dir, results, str(dataset), image)


def score_table(results: dict[str, dict[str, Any]]) -> str:
    """One small table for the console: a row per model, a column per language and the mean, on a 0-1 scale.

    >>> print(score_table({"base": {"metric": "ndcg_at_10", "mean": 0.5, "per_language": {"de": 0.4, "es": 0.6}}}))
      ndcg_at_10     de     es   mean
      base        0.400  0.600  0.500
    """
    languages = sorted({c for entry in results.values() for c in entry.get("per_language", {})})
    metric = next((e.get("metric") for e in results.values() if e.get("metric")), "score")
    width = max([len(metric), *(len(name) for name in results)]) + 1

    def cell(value: Any) -> str:
        return f"{value:6.3f}" if isinstance(value, int | float) else f"{'–':>6}"

    lines = [f"  {metric:<{width}}" + " ".join(f"{c:>6}" for c in [*languages, "mean"])]
    for name, entry in results.items():
        values = [entry.get("per_language", {}).get(c) for c in languages] + [entry.get("mean")]
        lines.append(f"  {name:<{width}}" + " ".join(cell(v) for v in values))
    return "\n".join(lines)


def comparison_markdown(results: dict[str, dict[str, Any]]) -> str:
    """One Markdown table: a row per language, a column per model (x 100), and trained - base when both ran.

    >>> scores = lambda v: {"metric": "ndcg_at_10", "mean": v, "per_language": {"de-en": v}}
    >>> print(comparison_markdown({"base": scores(0.5), "trained": scores(0.6)}).splitlines()[2])
    | de-en | 50.0 | 60.0 | +10.0 |
    """
    names = list(results)
    languages = sorted({c for entry in results.values() for c in entry.get("per_language", {})})
    metric = next((e.get("metric") for e in results.values() if e.get("metric")), "score")
    delta = "base" in names and "trained" in names
    lines = [
        f"| {metric} x 100 | " + " | ".join(names) + (" | trained - base |" if delta else " |"),
        "|---|" + "---:|" * (len(names) + delta),
    ]

    def number(value: Any) -> str:
        return f"{100 * value:.1f}" if isinstance(value, int | float) else "–"

    for key in [*languages, "mean"]:
        values = [
            results[n].get("per_language", {}).get(key) if key != "mean" else results[n].get("mean") for n in names
        ]
        row = " | ".join(number(v) for v in values)
        base, trained = (values[names.index("base")], values[names.index("trained")]) if delta else (None, None)
        if delta and isinstance(base, int | float) and isinstance(trained, int | float):
            row += f" | {100 * (trained - base):+.1f}"
        elif delta:
            row += " | –"
        lines.append(f"| {key} | {row} |")
    return "\n".join(lines) + "\n"


def headline_scores(rows: list[Any], model: str, output: Path) -> dict[str, Any]:
    """``{"model", "output", "metric", "mean", "per_language": {subset: score}}`` of an evaluation's rows."""
    per_language = {row.subset: row.main_score for row in rows}
    finite = [s for s in per_language.values() if isinstance(s, float) and s == s]
    return {
        "model": str(model),
        "output": str(output),
        "metric": rows[0].main_metric if rows else None,
        "mean": sum(finite) / len(finite) if finite else None,
        "per_language": dict(sorted(per_language.items())),
    }


def _report(out: Path) -> dict[str, Any]:
    from hfswim.report import write_report

    result = write_report(out)
    return {"html": str(result.html), "charts": [str(p) for p in result.charts]}


def _count_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows if path.exists() else 0
