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

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hfswim.errors import ConfigError
from hfswim.languages import get_language, parse_languages

SourceFormat = Literal["auto", "hub", "jsonl", "parquet", "csv", "beir", "text"]
TextUnit = Literal["file", "paragraph"]
Allocation = Literal["proportional", "equal"]


class ColumnMapping(BaseModel):
    """Which source column holds each passage field; ``None`` means "detect from common names".

    Detection tries, in order: id ``doc_id, _id, id, docid``; title ``title``;
    text ``text, contents, content, passage, body``; lang ``lang, language``.
    """

    model_config = ConfigDict(extra="forbid")

    id: str | None = None
    title: str | None = None
    text: str | None = None
    lang: str | None = None


class CorpusConfig(BaseModel):
    """What to read, how to cut it into passages, and how to sample them.

    Attributes:
        source: a local file or folder, or a Hub dataset id (streamed; a local folder works the same way);
            ``demo`` is the multilingual corpus shipped with hfswim.
        format: ``auto`` guesses from the path: a folder with ``corpus.jsonl`` is BEIR, then by file suffix;
            a path that does not exist is taken as a Hub dataset id.
        hub_config, split: the dataset config name and split for ``hub`` sources.
        columns: the column mapping (see :class:`ColumnMapping`).
        default_lang: the language of every row when the source has no language column.
        languages: keep only passages in these languages (codes, names, or a SWIM-IR setting such as ``xor``).
        text_unit: for plain-text sources, one document per ``file`` or per blank-line ``paragraph``.
        skip_empty: skip (and count) documents with empty text instead of failing on the first one.
        max_words: the passage length limit; unspaced scripts (zh, ja, th) count characters per word.
        sample_size: about how many passages to keep (SWIM-IR inclusion threshold I = sample_size / total).
        rate: keep each passage with this probability instead (I = rate); exclusive with ``sample_size``.
        allocation: ``proportional`` uses one threshold for the whole corpus; ``equal`` gives each
            language its own threshold, sample_size / total_L, so each language gets about sample_size.
        total: the number of passages, if known; otherwise a first streaming pass counts them.
        cap_per_language: keep at most this many passages per language (the lowest draws: still uniform).
        seed: seeds the per-passage draw; the same seed keeps the same passages.
    """

    model_config = ConfigDict(extra="forbid")

    source: str
    format: SourceFormat = "auto"
    hub_config: str | None = None
    split: str = "train"
    columns: ColumnMapping = Field(default_factory=ColumnMapping)
    default_lang: str | None = None
    languages: list[str] | None = None
    text_unit: TextUnit = "file"
    skip_empty: bool = False
    max_words: int = Field(100, ge=1)
    sample_size: int | None = Field(None, ge=1)
    rate: float | None = Field(None, gt=0.0, le=1.0)
    allocation: Allocation = "proportional"
    total: int | None = Field(None, ge=1)
    cap_per_language: int | None = Field(None, ge=1)
    seed: int = 0

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
    from pydantic import ValidationError

    given = {key: value for key, value in options.items() if value is not None}
    try:
        return CorpusConfig(**given)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'config'}: {e['msg'].removeprefix('Value error, ')}"
            for e in err.errors()
        )
        raise ConfigError(f"Bad corpus option: {problems}") from None
