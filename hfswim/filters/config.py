"""``FilterConfig``: which filters run, with what settings — validated up front, loadable from YAML.

Example ``filters.yaml``::

    filters:
      - name: parse
      - name: langid
        threshold: 0.5
        thresholds: {sw: 0.3}
      - name: dedup
        threshold: 0.8
      - name: heuristics
        min_words: 3
      - name: exemplar-copy
        min_run: 3
      - name: repetition
        min_repeats: 3
      - name: cross-encoder
        model: ./models/mmarco-mMiniLMv2
        top_fraction: 0.5
    batch_size: 4096

    >>> cfg = FilterConfig.from_names("parse,langid,dedup")
    >>> [spec.name for spec in cfg.filters]
    ['parse', 'langid', 'dedup']
    >>> FilterConfig.from_names("langid,dedupe")
    Traceback (most recent call last):
    ...
    hfswim.errors.ConfigError: filters: unknown filter 'dedupe'. Known filters: parse, langid, dedup, heuristics, exemplar-copy, repetition, logprob, cross-encoder, roundtrip, upr, best-of, safety. Did you mean 'dedup'?

Every problem — an unknown filter, a threshold out of range, a model path that does not exist —
raises one :class:`~hfswim.errors.ConfigError` naming the config key (``filters[2].threshold``).
"""

from __future__ import annotations

import difflib
import multiprocessing
from pathlib import Path
from typing import Annotated, Any, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from hfswim.errors import ConfigError
from hfswim.filters.registry import FILTER_CLASSES, settings_model
from hfswim.options import Cli, load_yaml, validate_section


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


# One settings model per filter, derived from its constructor (hfswim.filters.registry): a filter's
# settings are declared once, as the parameters of its class.
SPEC_TYPES: dict[str, type[BaseModel]] = {name: settings_model(cls) for name, cls in FILTER_CLASSES.items()}
FILTER_NAMES: tuple[str, ...] = tuple(SPEC_TYPES)
FilterSpec = Annotated[Union[tuple(SPEC_TYPES.values())], Field(discriminator="name")]  # noqa: UP007
# The derived models under their familiar names, for callers that build a spec in Python.
ParseSpec, LangIdSpec, DedupSpec, HeuristicsSpec, ExemplarCopySpec = (
    SPEC_TYPES[n] for n in ("parse", "langid", "dedup", "heuristics", "exemplar-copy")
)
RepetitionSpec, LogprobSpec, CrossEncoderSpec, RoundTripSpec, SafetySpec = (
    SPEC_TYPES[n] for n in ("repetition", "logprob", "cross-encoder", "roundtrip", "safety")
)
UprSpec, BestOfSpec = SPEC_TYPES["upr"], SPEC_TYPES["best-of"]
DEFAULT_FILTERS: tuple[str, ...] = ("parse", "langid", "dedup", "heuristics", "exemplar-copy", "repetition", "safety")


def _known_filter(spec: Any) -> Any:
    """An unknown filter name, reported with the names there are and the closest one."""
    name = spec.get("name") if isinstance(spec, dict) else getattr(spec, "name", spec)
    if name not in SPEC_TYPES:
        raise ValueError(_unknown(name).rstrip("."))
    return spec


class FilterConfig(_Spec):
    """The filters to run, in order (the order only decides which filter a multiply-rejected row is
    attributed to; the kept set is the same in any order), plus run settings."""

    filters: Annotated[list[Annotated[FilterSpec, BeforeValidator(_known_filter)]], Cli(metavar="NAMES")] = Field(
        default_factory=lambda: [SPEC_TYPES[n]() for n in DEFAULT_FILTERS],
        description="Filters to run, comma-separated names (in a --config file: a list of names or of filter "
        f"specs with their settings). Known: {', '.join(SPEC_TYPES)}.",
    )
    batch_size: Annotated[int, Field(ge=1)] = Field(4096, description="Rows per streamed batch.")
    samples_per_filter: Annotated[int, Field(ge=0)] = Field(
        5, description="Sample rejects per filter in the quality report."
    )
    # The model filters (cross-encoder, roundtrip, a safety classifier) already use all cores through torch.
    workers: Annotated[int, Field(ge=1, le=64)] = Field(
        1,
        description="Processes for the cheap filters and the dedup selection (1 = in this process; e.g. 2 on 2 cores).",
    )

    @field_validator("filters", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        """'parse,langid' or ['parse', {'name': 'langid', 'threshold': 0.6}]: names become default specs."""
        if isinstance(value, str):
            value = [n.strip() for n in value.split(",") if n.strip()]
        if not isinstance(value, list):
            return value
        return [{"name": spec} if isinstance(spec, str) else spec for spec in value]

    @model_validator(mode="after")
    def _unique(self) -> FilterConfig:
        names = [f.name for f in self.filters]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"filter(s) listed twice: {', '.join(dupes)}")
        heavy = [
            f.name
            for f in self.filters
            if f.name in ("cross-encoder", "roundtrip", "upr") or getattr(f, "classifier", None)
        ]
        if self.workers > 1 and "fork" not in multiprocessing.get_all_start_methods():
            raise ValueError("workers > 1 forks worker processes, which this platform cannot: set workers: 1")
        if self.workers > 1 and heavy:
            raise ValueError(
                f"workers > 1 is for the cheap filters; {', '.join(heavy)} run(s) a torch model, which already "
                "uses every core: set workers: 1"
            )
        return self

    @classmethod
    def parse(cls, data: dict[str, Any], source: str = "config") -> FilterConfig:
        """Validate a dict; any problem becomes one ConfigError naming the key and ``source``."""
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: expected a mapping with a 'filters' list, got {type(data).__name__}.")
        return validate_section(cls, data, where=source)

    @classmethod
    def from_yaml(cls, path: str | Path) -> FilterConfig:
        data = load_yaml(path, "filter config") or {}
        return cls.parse(data, source=str(path))

    @classmethod
    def from_names(cls, names: str | list[str], **overrides: Any) -> FilterConfig:
        """Config for comma-separated filter names with default settings.

        Keyword arguments named after a filter set its fields (``**{"cross-encoder": {"model": ...}}``,
        ``langid={"threshold": 0.6}``); the others are run settings (``batch_size``, ``workers``, ...).

        >>> FilterConfig.from_names("parse,langid", langid={"threshold": 0.6}, workers=2).workers
        2
        """
        if isinstance(names, str):
            names = [n.strip() for n in names.split(",") if n.strip()]
        for name in names:
            if name not in SPEC_TYPES:
                raise ConfigError(f"filters: {_unknown(name)}")  # the doctest's message: "filters: unknown ..."
        per_filter = {k: v for k, v in overrides.items() if k in SPEC_TYPES}
        settings = {k: v for k, v in overrides.items() if k not in SPEC_TYPES}
        data = {"filters": [{"name": n, **(per_filter.get(n) or {})} for n in names], **settings}
        return cls.parse(data, source="filters")

    def spec(self, name: str) -> BaseModel | None:
        return next((f for f in self.filters if f.name == name), None)


def _unknown(name: Any) -> str:
    close = difflib.get_close_matches(str(name), FILTER_NAMES, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return f"unknown filter {name!r}. Known filters: {', '.join(FILTER_NAMES)}.{hint}"


def build_filters(config: FilterConfig) -> list:
    """Instantiate the configured filters (models load lazily on first use)."""
    return [FILTER_CLASSES[spec.name](**spec.model_dump(exclude={"name"})) for spec in config.filters]
