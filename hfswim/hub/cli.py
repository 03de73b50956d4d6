"""`hfswim build-dataset` and `hfswim push-dataset`: publish records as a Hub dataset."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from hfswim.hub.config import BuildConfig, DatasetPushConfig
from hfswim.options import short_flag, stage_command


def _side_file(records: Path, given: Path | None, name: str) -> Path | None:
    """An explicit side input, else ``name`` next to the records (hfswim filter/generate write them there)."""
    if given is not None:
        return given
    folder = records if records.is_dir() else records.parent
    candidate = folder / name
    return candidate if candidate.is_file() else None


def _with_side_files(config: BuildConfig, records: Path) -> BuildConfig:
    config.manifest = _side_file(records, config.manifest, "manifest.json")
    config.quality_report = _side_file(records, config.quality_report, "quality_report.json")
    return config


def _report_build(result) -> None:
    for info in result.configs:
        name = info.name
        mark = "built" if name in result.built else "kept "
        heldout = f", held out {info.heldout['queries']} queries" if info.heldout else ""
        typer.echo(
            f"  {mark} {name:<10} {info.setting:<13} {info.train_rows:>10,} train rows, {info.train_shards} shard(s){heldout}"
        )
    dropped = ", ".join(f"{k}: {v:,}" for k, v in result.stats.dropped.items())
    typer.echo(
        f"Read {result.stats.rows_read:,} records, published {result.stats.rows_kept:,}"
        + (f" (skipped {dropped})" if dropped else "")
        + "."
    )
    typer.echo(f"Dataset repo: {result.folder}  (card: {result.card_path.name})")


_RECORDS = typer.Argument(
    ..., help="Filtered records (hfswim filter's kept.parquet) or generated records: a Parquet file or folder."
)


def _build_dataset(
    config: BuildConfig,
    records: Path = _RECORDS,
    output: Path = typer.Option(
        ..., *short_flag("--output"), help="The local dataset repo folder to create or update."
    ),
) -> None:
    """Build a local Hugging Face dataset repo from records: one Parquet config per language + a dataset card.

    Writes OUTPUT/data/<config>/train-NNNNN-of-NNNNN.parquet (SWIM-IR columns _id, lang, code, query, title, text + summary, ids, languages, template, model and filter scores), OUTPUT/README.md (the card, with YAML configs) and OUTPUT/hfswim.json (build state).

    Building into an existing folder replaces the languages in RECORDS and keeps the others. Cross-lingual configs: the query is in the config's language, the passage in English.

    Examples:

      hfswim build-dataset runs/filter/kept.parquet -o runs/swim-ir

      hfswim build-dataset kept.parquet -o runs/swim-ir --heldout-fraction 0.05 --languages sw,yo

    Then: datasets.load_dataset("runs/swim-ir", "sw"), or `hfswim push-dataset ORG/NAME runs/swim-ir`.
    """
    from hfswim.hub.build import build_dataset as build

    config = _with_side_files(config, records)
    for label, path in (("manifest", config.manifest), ("quality report", config.quality_report)):
        typer.echo(f"Using {label}: {path}" if path else f"No {label} given: the card will say so.")
    _report_build(build(records, output, config))


build_dataset = stage_command(BuildConfig, _build_dataset, section="dataset")


def default_folder(repo_id: str) -> Path:
    """Where ``push-dataset --records`` builds when no FOLDER is given: one persistent folder per repo id,
    so that pushing another language later adds to the same build."""
    root = Path(os.environ.get("HFSWIM_CACHE", Path.home() / ".cache" / "hfswim"))
    return root / "datasets" / repo_id.replace("/", "--")


def _push_dataset(config: DatasetPushConfig) -> None:
    """Push a dataset repo folder to the Hugging Face Hub, uploading only changed files.

    One resumable huggingface_hub call (HfApi.upload_folder): re-run after an interruption to resume. Pushing the same folder again uploads nothing; a new language uploads its shards and the card only. Shards under data/ that the folder no longer has are deleted on the Hub in the same commit.

    The token comes from --token, HF_TOKEN or `hf auth login`; it is never printed or written anywhere.

    Examples:

      hfswim push-dataset my-org/swim-ir runs/swim-ir

      hfswim push-dataset my-org/swim-ir --records runs/filter/kept.parquet --private --revision v1

    Build options (--layout, --heldout-fraction, ...) apply with --records; see `hfswim build-dataset --help`.
    """
    from hfswim.errors import ConfigError
    from hfswim.hub.push import push_dataset as push
    from hfswim.hub.upload import check_hub_reachable, resolve_token

    token = resolve_token(config.token)  # fail before a long build, not after
    check_hub_reachable()
    folder = config.folder
    if folder is None and config.records is None:
        raise ConfigError("push-dataset: give FOLDER (a built dataset repo) or --records (to build one first).")
    if config.records is not None:
        from hfswim.hub.build import build_dataset as build

        folder = folder or default_folder(config.repo_id)
        _report_build(build(config.records, folder, _with_side_files(config.build, config.records)))
    assert folder is not None
    result = push(
        folder,
        config.repo_id,
        private=config.private,
        revision=config.revision,
        commit_message=config.commit_message,
        token=token,
    )
    typer.echo(result.summary())


push_dataset = stage_command(DatasetPushConfig, _push_dataset, arguments=("repo_id", "folder"))
