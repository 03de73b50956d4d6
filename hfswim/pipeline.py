"""Run the whole pipeline from one :class:`~hfswim.config.PipelineConfig`.

``sample -> generate -> filter -> build-dataset -> train -> evaluate``, each stage
writing into its own folder under ``output_dir`` and reading the one before::

    runs/demo/
      passages.parquet          # hfswim sample
      generate/                 # hfswim generate: store/, generated.parquet, manifest.json
      filter/                   # hfswim filter: kept.parquet, rejected.parquet, quality_report.{json,md}
      dataset/                  # hfswim build-dataset: data/<lang>/train-*.parquet, README.md (card)
      model/                    # hfswim train (when the train section is set)
      eval/                     # hfswim evaluate on the held-out split, base model and trained model
      pipeline.json             # what ran, with each stage's counts

Every stage is resumable on its own (generation keeps a durable record store), so
re-running the same config after an interruption continues where it stopped.

Example::

    from hfswim.config import PipelineConfig
    from hfswim.pipeline import run_pipeline

    summary = run_pipeline(PipelineConfig.from_yaml("pipeline.yaml"))
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from hfswim.config import PipelineConfig, validate_section
from hfswim.errors import ConfigError, InputError
from hfswim.io import make_dir, write_json_atomic


def _log(message: str) -> None:
    import typer

    typer.secho(f"[hfswim] {message}", fg="cyan", err=True)


def run_pipeline(config: PipelineConfig, output_dir: str | Path | None = None) -> dict[str, Any]:
    """Run every configured stage in order; returns (and writes) ``pipeline.json``.

    Every section is validated before the first stage starts: a typo under ``train:`` is reported before
    generation spends its LLM calls.
    """
    out = Path(output_dir or config.output_dir)
    validate_pipeline(config, out)
    make_dir(out)
    summary: dict[str, Any] = {"output_dir": str(out), "stages": {}}
    started = time.time()

    passages = out / "passages.parquet"
    summary["stages"]["sample"] = _sample(config.corpus, passages)

    if config.generate is None:
        return _finish(out, summary, started)
    generated = _generate(config.generate, passages, out / "generate")
    summary["stages"]["generate"] = generated

    records = Path(generated["parquet"])
    quality_report = None
    if config.filter is not None:
        filtered = _filter(config.filter, records, out / "filter", examples=(config.generate or {}).get("examples"))
        summary["stages"]["filter"] = filtered
        records = out / "filter" / "kept.parquet"
        quality_report = out / "filter" / "quality_report.json"
        if filtered["kept"] == 0:
            raise InputError(
                f"{out / 'filter'}: every generated record was rejected; see quality_report.md there. "
                "Nothing left to publish or train on."
            )

    if config.dataset is None:
        return _finish(out, summary, started)
    dataset_dir = out / "dataset"
    summary["stages"]["dataset"] = _build(
        config.dataset, records, dataset_dir, Path(generated["manifest"]), quality_report
    )

    if config.train is not None:
        summary["stages"]["train"] = _train(config.train, dataset_dir, out / "model")
    if config.evaluate is not None:
        models = {"base": summary["stages"].get("train", {}).get("base_model")}
        if "train" in summary["stages"]:
            models["trained"] = str(out / "model")
        summary["stages"]["evaluate"] = _evaluate(
            config.evaluate, dataset_dir, models, out / "eval", rerank=_trains_reranker(config)
        )
    return _finish(out, summary, started)


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
    """A ``train: {reranker: true}`` section: evaluation re-ranks a first stage with the base and trained models."""
    return bool((config.train or {}).get("reranker"))


def _finish(out: Path, summary: dict[str, Any], started: float) -> dict[str, Any]:
    summary["wall_seconds"] = round(time.time() - started, 1)
    write_json_atomic(out / "pipeline.json", summary)
    _log(f"done in {summary['wall_seconds']} s; summary in {out / 'pipeline.json'}")
    return summary


# One builder per stage: the same code validates the section up front and configures the stage when it runs.


def _corpus_config(section: dict[str, Any], where: str = "pipeline config") -> Any:
    from hfswim.corpus import CorpusConfig, demo_corpus_path

    section = dict(section)
    if section.get("source") == "demo":
        section["source"] = str(demo_corpus_path())
    return validate_section(CorpusConfig, section, where=where, section="corpus")


def _generate_config(section: dict[str, Any], passages: Path, out: Path, where: str = "pipeline config") -> Any:
    from hfswim.generation import GenerateConfig

    values = {**section, "passages": str(passages), "output_dir": str(out)}
    return validate_section(GenerateConfig, values, where=where, section="generate")


def _filter_config(section: dict[str, Any], where: str = "pipeline config") -> Any:
    from hfswim.filters import FilterConfig

    section = dict(section)
    if isinstance(section.get("filters"), str):
        names = section.pop("filters")
        try:
            return FilterConfig.from_names(names, **section)
        except ConfigError as err:
            raise ConfigError(f"{where}: filter: {err}") from None
    return validate_section(FilterConfig, section, where=where, section="filter") if section else None


def _build_config(
    section: dict[str, Any], manifest: Path | None, report: Path | None, where: str = "pipeline config"
) -> Any:
    from hfswim.hub import BuildConfig

    values = {**({"manifest": str(manifest)} if manifest else {}), **section}
    if report is not None:
        values.setdefault("quality_report", str(report))
    return validate_section(BuildConfig, values, where=where, section="dataset")


def _train_config(section: dict[str, Any], dataset: Path, out: Path, where: str = "pipeline config") -> Any:
    from hfswim.training import TrainConfig

    values = {**section, "dataset": str(dataset), "output_dir": str(out)}
    return validate_section(TrainConfig, values, where=where, section="train")


def _evaluate_config(
    section: dict[str, Any],
    dataset: Path,
    model: str | None,
    out: Path,
    where: str = "pipeline config",
    rerank: bool = False,
) -> Any:
    """``rerank``: ``model`` is a cross-encoder re-ranking the section's first stage (``model:``, default bm25)."""
    from hfswim.evaluation import EvaluateConfig

    values = {"tasks": f"local:{dataset}", **section, "output": str(out)}
    if rerank:
        values.setdefault("model", "bm25")
        if model:
            values["reranker"] = model
    elif model:
        values.setdefault("model", model)
    return validate_section(EvaluateConfig, values, where=where, section="evaluate")


def _sample(section: dict[str, Any], path: Path) -> dict[str, Any]:
    from hfswim.corpus import write_passages

    config = _corpus_config(section)
    _log(f"sample: {config.source} -> {path}")
    counts = write_passages(config, path)
    return {"passages": str(path), "per_language": counts}


def _generate(section: dict[str, Any], passages: Path, out: Path) -> dict[str, Any]:
    from hfswim.generation import generate

    config = _generate_config(section, passages, out)
    _log(f"generate: {config.strategy} {config.setting} -> {out}")
    result = generate(config)
    return {
        "parquet": str(result.parquet_path),
        "manifest": str(result.manifest_path),
        "accepted": result.accepted,
        "rejected": result.rejected,
        "failed": result.failed,
    }


def _filter(section: dict[str, Any], records: Path, out: Path, examples: str | None = None) -> dict[str, Any]:
    from hfswim.filters import FilterConfig, run_filters

    config = _filter_config(section) or FilterConfig()
    # Promptagator prompts showed the user's examples: exemplar-copy compares its rows with those.
    spec = config.spec("exemplar-copy")
    if examples and spec is not None and getattr(spec, "examples", None) is None:
        spec.examples = str(examples)
    _log(f"filter: {records} -> {out}")
    report = run_filters(records, out, config)
    totals = report.totals() if hasattr(report, "totals") else {}
    return {"kept": _count_rows(out / "kept.parquet"), "rejected": _count_rows(out / "rejected.parquet"), **totals}


def _build(section: dict[str, Any], records: Path, out: Path, manifest: Path, report: Path | None) -> dict[str, Any]:
    from hfswim.hub import build_dataset

    config = _build_config(section, manifest, report)
    _log(f"build-dataset: {records} -> {out}")
    result = build_dataset(records, out, config)
    return {"folder": str(out), "configs": [c.name for c in result.configs]}


def _train(section: dict[str, Any], dataset: Path, out: Path) -> dict[str, Any]:
    from hfswim.training import train

    config = _train_config(section, dataset, out)
    _log(f"train: {dataset} -> {out}")
    result = train(config)
    return {"model": str(out), "base_model": result.base_model, "steps": result.global_step}


def _evaluate(
    section: dict[str, Any], dataset: Path, models: dict[str, str | None], out: Path, rerank: bool = False
) -> dict[str, Any]:
    from hfswim.evaluation import evaluate, summary_markdown

    results: dict[str, Any] = {}
    for name, model in models.items():
        config = _evaluate_config(section, dataset, model, out / name, rerank=rerank)
        what = f"{config.model} + reranker {config.reranker}" if config.reranker else config.model
        _log(f"evaluate ({name}): {what} on {config.tasks}")
        run = evaluate(config)
        results[name] = {"output": str(out / name), "scores": [row.__dict__ for row in run.rows]}
        if run.reranker_name:
            results[name]["reranked_scores"] = [row.__dict__ for row in run.reranked_rows]
            results[name]["rerank_seconds_per_query"] = run.rerank_seconds_per_query
        _log("\n" + (run.comparison or summary_markdown(run.rows)))
    return results


def _count_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows if path.exists() else 0
