"""Validated options of ``hfswim build-dataset`` / ``push-dataset`` (pydantic).

Example::

    >>> BuildConfig(heldout_fraction=0.1, languages=["sw", "yoruba"]).languages
    ['sw', 'yo']
    >>> BuildConfig(license="CC-BY-SA-4.0").license
    'cc-by-sa-4.0'
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hfswim.languages import parse_languages
from hfswim.options import Cli, validate_section

# License ids the Hub accepts in card metadata (https://huggingface.co/docs/hub/repositories-licenses).
HUB_LICENSES = frozenset(
    """apache-2.0 mit openrail bigscience-openrail-m creativeml-openrail-m bigscience-bloom-rail-1.0
    bigcode-openrail-m afl-3.0 artistic-2.0 bsl-1.0 bsd bsd-2-clause bsd-3-clause bsd-3-clause-clear c-uda cc
    cc0-1.0 cc-by-2.0 cc-by-2.5 cc-by-3.0 cc-by-4.0 cc-by-sa-3.0 cc-by-sa-4.0 cc-by-nc-2.0 cc-by-nc-3.0
    cc-by-nc-4.0 cc-by-nd-4.0 cc-by-nc-nd-3.0 cc-by-nc-nd-4.0 cc-by-nc-sa-2.0 cc-by-nc-sa-3.0 cc-by-nc-sa-4.0
    cdla-sharing-1.0 cdla-permissive-1.0 cdla-permissive-2.0 wtfpl ecl-2.0 epl-1.0 epl-2.0 etalab-2.0 eupl-1.1
    eupl-1.2 agpl-3.0 gfdl gpl gpl-2.0 gpl-3.0 lgpl lgpl-2.1 lgpl-3.0 isc h-research intel-research lppl-1.3c
    ms-pl apple-ascl apple-amlr mpl-2.0 odc-by odbl openmdw-1.0 openrail++ osl-3.0 postgresql ofl-1.1 ncsa
    unlicense zlib pddl lgpl-lr deepfloyd-if-license fair-noncommercial-research-license llama2 llama3 llama3.1
    llama3.2 llama3.3 llama4 gemma unknown other""".split()
)
# Which settings a dataset repo holds: both (cross-lingual "sw" + monolingual "sw-mono"), or one setting per repo.
Layout = Literal["both", "cross-lingual", "monolingual"]
DEFAULT_SHARD_ROWS = 100_000
DEFAULT_SHARD_BYTES = 512 * 1024 * 1024  # uncompressed Arrow bytes; ~100-200 MB on disk for text
DEFAULT_ROW_GROUP_ROWS = 10_000
DEFAULT_BUFFER_BYTES = 32 * 1024 * 1024
DEFAULT_LICENSE = "cc-by-sa-4.0"  # Wikipedia's text licence, inherited by data generated from it


class BuildConfig(BaseModel):
    """How to build a local dataset repo from records.

    Attributes:
        layout: ``"both"`` (cross-lingual ``sw`` and monolingual ``sw-mono`` configs in one repo), or
            ``"cross-lingual"`` / ``"monolingual"`` (one setting per repo; configs are bare codes).
            ``None``: the existing repo's layout, else ``"both"``.
        languages: publish only these query languages (codes or names); each must have rows.
        heldout_fraction: share of passages held out as an MTEB-layout test split (0 = none).
        seed: the held-out draw's seed.
        license: a Hub license id; default CC-BY-SA-4.0, Wikipedia's.
        pretty_name: the card's title.
        source_datasets: the corpus datasets the passages came from (card metadata).
    """

    model_config = ConfigDict(extra="forbid")

    layout: Annotated[Layout | None, Cli(aliases=("--setting",))] = Field(
        None,
        description="Which data the repo holds and how configs are named: both (default for a new folder: "
        "cross-lingual configs 'sw', monolingual 'sw-mono'), or cross-lingual / monolingual for one setting per "
        "repo (configs are bare codes). Default: the existing repo's layout.",
    )
    languages: list[str] | None = Field(
        None, description="Publish only these query languages (e.g. 'sw,yo'); each must have records."
    )
    heldout_fraction: float = Field(
        0.0,
        ge=0.0,
        lt=1.0,
        description="Share of passages held out as an MTEB-layout test split (<config>-corpus/-queries/-qrels); "
        "0 = none.",
    )
    seed: int = Field(0, description="Seed of the held-out draw (same seed + fraction = same split).")
    license: str = Field(
        DEFAULT_LICENSE, description="Hub license id, inherited from the corpus (Wikipedia: cc-by-sa-4.0)."
    )
    pretty_name: str = Field("SWIM-IR (hfswim)", description="The dataset's display name (the card's title).")
    source_datasets: Annotated[list[str], Cli("--source-dataset", repeat=True)] = Field(
        default_factory=list,
        description="Corpus dataset the passages came from (repeatable), e.g. wikimedia/wikipedia.",
    )
    shard_rows: int = Field(DEFAULT_SHARD_ROWS, ge=1, description="Rows per Parquet shard at most.")
    shard_bytes: int = Field(DEFAULT_SHARD_BYTES, ge=1, description="Bytes per Parquet shard at most (about).")
    row_group_rows: int = Field(DEFAULT_ROW_GROUP_ROWS, ge=1, description="Rows per Parquet row group.")
    buffer_bytes: int = Field(DEFAULT_BUFFER_BYTES, ge=1, description="Rows buffered per config before a write.")
    batch_size: int = Field(8192, ge=1, description="Records read per batch.")
    manifest: Path | None = Field(
        None, description="Generation manifest.json for the card (default: next to RECORDS if present)."
    )
    quality_report: Path | None = Field(
        None, description="Filter quality_report.json for the card (default: next to RECORDS if present)."
    )
    card_template: Path | None = Field(
        None,
        description="Your own Jinja card template (default: the packaged dataset_cards/swim_ir_dataset_card.md.jinja).",
    )

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else [lang.code for lang in parse_languages(",".join(value))]

    @field_validator("license")
    @classmethod
    def _license(cls, value: str) -> str:
        lowered = value.strip().lower()
        if lowered not in HUB_LICENSES:
            raise ValueError(f"unknown license id {value!r}: use a Hub license id such as cc-by-sa-4.0, or 'other'")
        return lowered

    @field_validator("manifest", "quality_report", "card_template")
    @classmethod
    def _exists(cls, value: Path | None) -> Path | None:
        if value is not None and not Path(value).is_file():
            raise ValueError(f"{value}: no such file")
        return value

    @classmethod
    def create(cls, **values) -> BuildConfig:
        """Validate, turning pydantic's error into one :class:`ConfigError` line naming the key."""
        return _validated(cls, values)


class PushConfig(BaseModel):
    """Where and how to push a folder: the ``hf upload`` conventions (``REPO_ID FOLDER``, ``--token``,
    ``--private``, ``--revision``, ``--commit-message``), shared by every push command."""

    model_config = ConfigDict(extra="forbid")

    repo_id: str = Field(description="The Hub repo, namespace/name (or name, in the token's namespace).")
    folder: Annotated[Path | None, Cli(aliases=("--folder",))] = Field(None, description="The folder to push.")
    private: bool = Field(False, description="Create the repo private (an existing repo keeps its visibility).")
    revision: str | None = Field(None, description="Branch to push to (created from main if missing).")
    commit_message: str | None = Field(None, description="Commit title.")
    token: str | None = Field(
        None, repr=False, exclude=True, description="Hub token (default: HF_TOKEN or `hf auth login`)."
    )

    @field_validator("repo_id")
    @classmethod
    def _repo_id(cls, value: str) -> str:
        from hfswim.hub.upload import validate_repo_id

        validate_repo_id(value)
        return value

    @classmethod
    def create(cls, **values: Any) -> PushConfig:
        return validate_section(cls, values, where="push options")


class DatasetPushConfig(PushConfig):
    """``hfswim push-dataset``: push a built folder, or build one from records first (with the build options)."""

    records: Path | None = Field(
        None, description="Build from these records first (into FOLDER, or a persistent cache folder for REPO_ID)."
    )
    build: Annotated[BuildConfig, Cli(prefix="")] = Field(
        default_factory=BuildConfig, description="Build options, used with --records."
    )


class ModelPushConfig(PushConfig):
    """``hfswim push-model``: the push options, and the evaluation results for the card's model-index."""

    folder: Annotated[Path | None, Cli(aliases=("--folder",))] = Field(
        None, description="Model folder written by `hfswim train` (required)."
    )
    eval_results: Path | None = Field(
        None,
        description="`hfswim evaluate` results for the card's model-index: its output folder or scores.json there "
        "(or a JSON list of {task, dataset, lang, <metric>: value} records).",
    )


def _validated(model: type[BaseModel], values: dict[str, Any]) -> Any:
    return validate_section(model, values, where=model.__name__)
