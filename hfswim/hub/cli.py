"""`hfswim build-dataset` and `hfswim push-dataset`: publish records as a Hub dataset."""

from __future__ import annotations

import os
from pathlib import Path

import typer

_SETTING_HELP = (
    "Which data the repo holds and how configs are named: 'both' (default for a new folder: cross-lingual "
    "configs 'sw', monolingual 'sw-mono'), or 'cross-lingual' / 'monolingual' for one setting per repo "
    "(configs are bare codes; build the other setting into a second folder)."
)


def _side_file(records: Path, given: Path | None, name: str) -> Path | None:
    """An explicit side input, else ``name`` next to the records (hfswim filter/generate write them there)."""
    if given is not None:
        return given
    folder = records if records.is_dir() else records.parent
    candidate = folder / name
    return candidate if candidate.is_file() else None


def _build_config(
    records: Path,
    manifest: Path | None,
    quality_report: Path | None,
    setting: str | None,
    languages: str | None,
    heldout_fraction: float,
    seed: int,
    license: str,
    pretty_name: str,
    source_dataset: list[str] | None,
    shard_rows: int,
    card_template: Path | None,
):
    from hfswim.hub.config import BuildConfig

    return BuildConfig.create(
        layout=setting,
        languages=languages.split(",") if languages else None,
        heldout_fraction=heldout_fraction,
        seed=seed,
        license=license,
        pretty_name=pretty_name,
        source_datasets=source_dataset or [],
        shard_rows=shard_rows,
        manifest=_side_file(records, manifest, "manifest.json"),
        quality_report=_side_file(records, quality_report, "quality_report.json"),
        card_template=card_template,
    )


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


_OPTS = {
    "manifest": typer.Option(
        None, "--manifest", help="Generation manifest.json for the card (default: next to RECORDS if present)."
    ),
    "quality_report": typer.Option(
        None, "--quality-report", help="Filter quality_report.json for the card (default: next to RECORDS if present)."
    ),
    "setting": typer.Option(None, "--setting", help=_SETTING_HELP),
    "languages": typer.Option(
        None, "--languages", "-l", help="Publish only these query languages (e.g. 'sw,yo'); each must have records."
    ),
    "heldout_fraction": typer.Option(
        0.0,
        "--heldout-fraction",
        min=0.0,
        max=0.99,
        help="Share of passages held out as an MTEB-layout test split (<config>-corpus/-queries/-qrels); 0 = none.",
    ),
    "seed": typer.Option(0, "--seed", help="Seed of the held-out draw (same seed + fraction = same split)."),
    "license": typer.Option(
        "cc-by-sa-4.0", "--license", help="Hub license id, inherited from the corpus (Wikipedia: cc-by-sa-4.0)."
    ),
    "pretty_name": typer.Option("SWIM-IR (hfswim)", "--pretty-name", help="The dataset's display name."),
    "source_dataset": typer.Option(
        None, "--source-dataset", help="Corpus dataset the passages came from (repeatable), e.g. wikimedia/wikipedia."
    ),
    "shard_rows": typer.Option(100_000, "--shard-rows", min=1, help="Rows per Parquet shard at most."),
    "card_template": typer.Option(
        None,
        "--card-template",
        help="Your own Jinja card template (default: the packaged dataset_cards/swim_ir_dataset_card.md.jinja).",
    ),
}


def build_dataset(
    records: Path = typer.Argument(
        ..., help="Filtered records (hfswim filter's kept.parquet) or generated records: a Parquet file or folder."
    ),
    output: Path = typer.Option(..., "--output", "-o", help="The local dataset repo folder to create or update."),
    manifest: Path | None = _OPTS["manifest"],
    quality_report: Path | None = _OPTS["quality_report"],
    setting: str | None = _OPTS["setting"],
    languages: str | None = _OPTS["languages"],
    heldout_fraction: float = _OPTS["heldout_fraction"],
    seed: int = _OPTS["seed"],
    license: str = _OPTS["license"],
    pretty_name: str = _OPTS["pretty_name"],
    source_dataset: list[str] | None = _OPTS["source_dataset"],
    shard_rows: int = _OPTS["shard_rows"],
    card_template: Path | None = _OPTS["card_template"],
) -> None:
    """Build a local Hugging Face dataset repo from records: one Parquet config per language + a dataset card.

    Writes OUTPUT/data/<config>/train-NNNNN-of-NNNNN.parquet (SWIM-IR columns _id, lang, code, query, title, text + summary, ids, languages, template, model and filter scores), OUTPUT/README.md (the card, with YAML configs) and OUTPUT/hfswim.json (build state).

    Building into an existing folder replaces the languages in RECORDS and keeps the others. Cross-lingual configs: the query is in the config's language, the passage in English.

    Examples:

      hfswim build-dataset runs/filter/kept.parquet -o runs/swim-ir

      hfswim build-dataset kept.parquet -o runs/swim-ir --heldout-fraction 0.05 --languages sw,yo

    Then: datasets.load_dataset("runs/swim-ir", "sw"), or `hfswim push-dataset ORG/NAME --folder runs/swim-ir`.
    """
    from hfswim.hub.build import build_dataset as build

    config = _build_config(
        records, manifest, quality_report, setting, languages, heldout_fraction, seed, license, pretty_name,
        source_dataset, shard_rows, card_template,
    )  # fmt: skip
    for label, path in (("manifest", config.manifest), ("quality report", config.quality_report)):
        typer.echo(f"Using {label}: {path}" if path else f"No {label} given: the card will say so.")
    _report_build(build(records, output, config))


def default_folder(repo_id: str) -> Path:
    """Where ``push-dataset --records`` builds when no --folder is given: one persistent folder per repo id,
    so that pushing another language later adds to the same build."""
    root = Path(os.environ.get("HFSWIM_CACHE", Path.home() / ".cache" / "hfswim"))
    return root / "datasets" / repo_id.replace("/", "--")


def push_dataset(
    repo_id: str = typer.Argument(..., help="The Hub dataset repo, e.g. my-org/swim-ir (created if missing)."),
    folder: Path | None = typer.Option(
        None, "--folder", "-f", help="The dataset repo folder built by `hfswim build-dataset`."
    ),
    records: Path | None = typer.Option(
        None,
        "--records",
        help="Build from these records first (into --folder, or a persistent cache folder for REPO_ID).",
    ),
    private: bool = typer.Option(
        False, "--private", help="Create the repo private (an existing repo keeps its visibility)."
    ),
    revision: str | None = typer.Option(None, "--revision", help="Branch to push to (created from main if missing)."),
    commit_message: str | None = typer.Option(None, "--commit-message", "-m", help="Commit title."),
    manifest: Path | None = _OPTS["manifest"],
    quality_report: Path | None = _OPTS["quality_report"],
    setting: str | None = _OPTS["setting"],
    languages: str | None = _OPTS["languages"],
    heldout_fraction: float = _OPTS["heldout_fraction"],
    seed: int = _OPTS["seed"],
    license: str = _OPTS["license"],
    pretty_name: str = _OPTS["pretty_name"],
    source_dataset: list[str] | None = _OPTS["source_dataset"],
    shard_rows: int = _OPTS["shard_rows"],
) -> None:
    """Push a dataset repo folder to the Hugging Face Hub, uploading only changed files.

    One resumable huggingface_hub call (HfApi.upload_folder): re-run after an interruption to resume. Pushing the same folder again uploads nothing; a new language uploads its shards and the card only. Shards under data/ that the folder no longer has are deleted on the Hub in the same commit.

    The token comes from HF_TOKEN or `hf auth login`; it is never printed or written anywhere.

    Examples:

      hfswim push-dataset my-org/swim-ir --folder runs/swim-ir

      hfswim push-dataset my-org/swim-ir --records runs/filter/kept.parquet --private --revision v1

    Build options (--setting, --heldout-fraction, ...) apply with --records; see `hfswim build-dataset --help`.
    """
    from hfswim.errors import ConfigError
    from hfswim.hub.push import push_dataset as push
    from hfswim.hub.upload import check_hub_reachable, resolve_token, validate_repo_id

    validate_repo_id(repo_id)
    token = resolve_token()  # fail before a long build, not after
    check_hub_reachable()
    if folder is None and records is None:
        raise ConfigError("push-dataset: give --folder (a built dataset repo) or --records (to build one first).")
    if records is not None:
        from hfswim.hub.build import build_dataset as build

        folder = folder or default_folder(repo_id)
        config = _build_config(
            records, manifest, quality_report, setting, languages, heldout_fraction, seed, license, pretty_name,
            source_dataset, shard_rows, None,
        )  # fmt: skip
        _report_build(build(records, folder, config))
    assert folder is not None
    result = push(folder, repo_id, private=private, revision=revision, commit_message=commit_message, token=token)
    typer.echo(result.summary())
