"""`CorpusConfig`: every option of the corpus stage, shared by ``hfswim sample`` and whole-pipeline runs.

Example::

    >>> from hfswim.corpus.config import CorpusConfig
    >>> config = CorpusConfig(source="corpus.jsonl", sample_size=1000, cap_per_language=200, seed=1)
    >>> config.format, config.max_words, config.columns.text
    ('auto', 100, None)
    >>> CorpusConfig(source="x.jsonl", languages="sw,yo").languages
    ['sw', 'yo']
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hfswim.errors import ConfigError
from hfswim.languages import get_language, parse_languages
from hfswim.options import Cli, validate_section

SourceFormat = Literal["auto", "hub", "jsonl", "parquet", "csv", "beir", "text"]
TextUnit = Literal["file", "paragraph"]
Allocation = Literal["proportional", "equal"]


class ColumnMapping(BaseModel):
    """Which source column holds each passage field; ``None`` means "detect from common names"."""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[str | None, Cli("--id-column")] = Field(
        None, description="Document id column (default: doc_id, _id, id, docid)."
    )
    title: Annotated[str | None, Cli("--title-column")] = Field(None, description="Title column (default: title).")
    text: Annotated[str | None, Cli("--text-column")] = Field(
        None, description="Text column (default: text, contents, content, passage, body)."
    )
    lang: Annotated[str | None, Cli("--lang-column")] = Field(
        None, description="Language column (default: lang, language)."
    )


class CorpusConfig(BaseModel):
    """What to read, how to cut it into passages, and how to sample them (each field an ``hfswim sample`` option).

    ``rate`` keeps each passage with that probability (SWIM-IR's inclusion threshold I = rate); ``sample_size``
    sets I = sample_size / total instead, where ``total`` is counted by a first streaming pass unless given.
    ``allocation='equal'`` gives each language its own threshold, sample_size / total_L, so each language gets
    about sample_size. The same seed keeps the same passages, in any order.
    """

    model_config = ConfigDict(extra="forbid")

    source: str = Field(
        description="A corpus: JSONL/Parquet/CSV/TSV file or folder, a BEIR folder (corpus.jsonl), .txt files, or "
        "a Hub dataset id (streamed; a local dataset folder works too). 'demo' is the packaged corpus."
    )
    format: SourceFormat = Field(
        "auto",
        description="auto guesses from the path: a folder with corpus.jsonl is BEIR, then by file suffix; a path "
        "that does not exist is a Hub dataset id.",
    )
    hub_config: str | None = Field(None, description="Hub dataset config name, e.g. 20231101.sw.")
    split: str = Field("train", description="Hub dataset split.")
    columns: ColumnMapping = Field(default_factory=ColumnMapping, description="Which column holds which field.")
    default_lang: Annotated[str | None, Cli(aliases=("--lang",))] = Field(
        None, description="Language of every row when the source has no language column."
    )
    languages: list[str] | None = Field(
        None, description="Keep only these languages: codes or names, comma-separated, or xor/miracl/indic."
    )
    text_unit: TextUnit = Field("file", description="Plain text: one document per file or per blank-line paragraph.")
    skip_empty: bool = Field(False, description="Skip and count empty documents instead of failing on the first.")
    max_words: int = Field(
        100, ge=1, description="Passage length limit in words (unspaced scripts: characters count as fractions)."
    )
    sample_size: int | None = Field(
        None, ge=1, description="About how many passages to keep: SWIM-IR threshold I = N / total."
    )
    rate: float | None = Field(
        None, gt=0.0, le=1.0, description="Keep each passage with this probability (instead of --sample-size)."
    )
    allocation: Allocation = Field(
        "proportional",
        description="With --sample-size: proportional (one threshold) or equal (about N per language).",
    )
    total: int | None = Field(None, ge=1, description="Number of passages, if known: skips the counting pass.")
    cap_per_language: int | None = Field(
        None, ge=1, description="Keep at most this many per language (the lowest draws: still uniform)."
    )
    seed: int = Field(0, description="Seed of the per-passage draws.")

    @field_validator("source")
    @classmethod
    def _demo_source(cls, value: str) -> str:
        from hfswim.corpus import PACKAGED_SOURCES, demo_corpus_path

        # Packaged corpora by name: "demo" (40 passages, 15 languages), "xquad-demo" (make demo's XQuAD slice)
        return str(demo_corpus_path().parent / PACKAGED_SOURCES[value]) if value in PACKAGED_SOURCES else value

    @field_validator("default_lang")
    @classmethod
    def _known_default_lang(cls, value: str | None) -> str | None:
        return None if value is None else get_language(value).code

    @field_validator("languages", mode="before")
    @classmethod
    def _parse_languages(cls, value: str | list[str] | None) -> list[str] | None:
        if value is None or value == [] or value == "":
            return None
        return [lang.code for lang in parse_languages(value)]

    @model_validator(mode="after")
    def _one_sampling_rule(self) -> CorpusConfig:
        if self.sample_size is not None and self.rate is not None:
            raise ConfigError("Give either sample_size or rate, not both.")
        if self.total is not None and self.sample_size is None:
            raise ConfigError("total only matters with sample_size (it replaces the counting pass).")
        if self.allocation == "equal" and self.sample_size is None:
            raise ConfigError("allocation='equal' divides sample_size among languages: set sample_size.")
        if self.allocation == "equal" and self.total is not None:
            raise ConfigError("allocation='equal' needs per-language totals: leave total unset so they are counted.")
        return self

    @property
    def samples(self) -> bool:
        """True when any sampling rule is set; otherwise every passage is kept."""
        return self.sample_size is not None or self.rate is not None or self.cap_per_language is not None


def make_config(**options: object) -> CorpusConfig:
    """Build a :class:`CorpusConfig`, turning pydantic's validation report into one :class:`ConfigError` line.

    Options left as ``None`` take their defaults, so a CLI can pass every option through.

    >>> make_config(source="x.jsonl", max_words=None).max_words
    100
    """
    given = {key: value for key, value in options.items() if value is not None}
    return validate_section(CorpusConfig, given, where="corpus config")
