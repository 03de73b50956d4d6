"""``GenerateConfig``: every knob of ``hfswim generate``, validated by pydantic.

The same object configures the CLI, the Python API (:func:`hfswim.generation.generate`) and whole-pipeline
runs (``hfswim run`` reads it from a YAML/JSON section).

Example::

    >>> cfg = GenerateConfig(passages="passages.parquet", output_dir="out", languages="sw,yo")
    >>> cfg.language_codes()
    ['sw', 'yo']
    >>> cfg.generation_params()["max_new_tokens"]
    96
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hfswim.errors import ConfigError
from hfswim.records import CROSS_LINGUAL, MONOLINGUAL

STRATEGIES = ("sap", "sap-naive", "inpars-vanilla", "inpars-gbq", "promptagator")
DEFAULT_CONCURRENCY = 16


class GenerateConfig(BaseModel):
    """Configuration of one generation run (one client job)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    passages: str = Field(description="Passages: a Parquet/JSONL file or folder in the PASSAGE_SCHEMA.")
    output_dir: str = Field(description="Run folder: store/, generated.parquet, failures.jsonl, manifest.json.")

    # Endpoints
    endpoints: list[str] = Field(
        default_factory=list, description="Endpoint URLs or Inference Endpoint names; none = embedded model."
    )
    endpoint_kind: Literal["auto", "tgi", "openai"] = Field(
        default="auto", description="auto (probe /info, then /v1/models), tgi or openai."
    )
    provider: str | None = Field(
        default=None,
        description="Hugging Face Inference Providers: a provider name (together, novita, groq, ...) or auto "
        "(the router picks by your preferences); needs --model ORG/MODEL and an HF token; no --endpoint.",
    )
    provider_router_url: str | None = Field(
        default=None,
        description="Inference Providers router (default: huggingface_hub's, https://router.huggingface.co); "
        "must be a Hugging Face host.",
    )
    api_key_env: str | None = Field(
        default=None,
        description="Name of the environment variable holding the API key of a hosted OpenAI-compatible API; the "
        "key is sent to the --endpoint URLs only and never written anywhere.",
    )
    structured_output: Literal["auto", "json", "text"] = Field(
        default="auto",
        description="Ask for JSON answers parsed by a JSON parser: auto (TGI >= 1.4.3, via its grammar), json "
        "(every endpoint: TGI grammar, OpenAI response_format json_schema; a server that rejects it falls back to "
        "text) or text (the few-shot text parser only).",
    )
    namespace: str | None = Field(default=None, description="Namespace of Inference Endpoints given by name.")
    token: str | None = Field(default=None, repr=False, exclude=True, description="HF token (default: HF_TOKEN).")
    model: str | None = Field(
        default=None,
        description="Embedded mode: local model folder or Hub id to serve (default: packaged Gemma 3 270M). "
        "With endpoints: the model name sent to OpenAI-compatible servers.",
    )
    embedded_server: Literal["hfswim", "transformers"] = Field(
        default="hfswim",
        description="Embedded mode: hfswim's batched server with a prefix KV cache, or `transformers serve`.",
    )
    embedded_max_batch: int | None = Field(
        default=None, ge=1, description="Embedded hfswim server: rows decoded together (default 16)."
    )
    embedded_device: str = "cpu"
    embedded_continuous_batching: bool = False

    # Prompts
    strategy: str = "sap"
    setting: Literal["cross-lingual", "monolingual"] = CROSS_LINGUAL
    languages: list[str] | str | None = Field(
        default=None,
        description="Codes ('sw,yo') or a setting (xor, miracl, indic); default: xor (cross-lingual), miracl "
        "(monolingual).",
    )
    template_dir: str | None = None
    num_exemplars: int = Field(default=3, ge=0)
    examples: str | None = Field(default=None, description="JSONL of user examples for Promptagator few-shot.")

    # Generation parameters (they are part of every record's key)
    max_new_tokens: int = Field(default=96, ge=1)
    summary_max_new_tokens: int | None = Field(default=None, ge=1, description="Default: max_new_tokens.")
    temperature: float = Field(default=0.0, ge=0.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    seed: int | None = 0

    # Backpressure
    concurrency: int | None = Field(
        default=None, ge=1, description="Per endpoint; default: TGI /info, the embedded server's batch, or 16."
    )
    max_retries: int = Field(default=8, ge=0)
    request_timeout: float = Field(
        default=300.0,
        gt=0,
        description="Seconds for a whole request (connect, wait, read the full answer); embedded hfswim server: "
        "derived from its measured speed unless set.",
    )
    backoff_base: float = Field(default=0.5, ge=0)
    backoff_max: float = Field(default=30.0, ge=0)
    overload_threshold: int = Field(default=8, ge=1, description="Consecutive 429/503 before pausing an endpoint.")
    overload_pause: float = Field(default=2.0, ge=0)
    empty_retries: int = Field(
        default=2, ge=0, description="Times an empty or garbled answer (HTTP 200) is asked again before it is stored."
    )
    unreachable_threshold: int = Field(
        default=3, ge=1, description="Consecutive connection errors that take an endpoint out of the pool."
    )
    probe_interval: float = Field(default=1.0, gt=0, description="First wait before probing an endpoint that is down.")
    unreachable_timeout: float = Field(
        default=120.0, gt=0, description="Seconds with every endpoint down before the run stops (resume later)."
    )

    # Cost
    price_in: float | None = Field(
        default=None, ge=0, description="Price per million prompt tokens (USD), for the cost estimate and manifest."
    )
    price_out: float | None = Field(
        default=None, ge=0, description="Price per million completion tokens (USD), for the cost estimate and manifest."
    )

    # Sharded client jobs and durability
    num_shards: int = Field(default=1, ge=1)
    shard_index: int = Field(default=0, ge=0)
    max_passages: int | None = Field(default=None, ge=1, description="Stop after this many passages (of this shard).")
    store_files: int = Field(default=16, ge=1, le=4096)
    fsync_interval: float = Field(default=2.0, gt=0, description="Seconds between batched fsyncs.")
    manifest_interval: float = Field(default=15.0, gt=0)
    progress: bool = True

    @field_validator("strategy")
    @classmethod
    def _known_strategy(cls, value: str) -> str:
        if value not in STRATEGIES:
            raise ValueError(f"unknown strategy {value!r}; expected one of {', '.join(STRATEGIES)}")
        return value

    @field_validator("embedded_device")
    @classmethod
    def _known_device(cls, value: str) -> str:
        if not re.fullmatch(r"cpu|auto|mps|cuda(:\d+)?", value):
            raise ValueError(f"device {value!r}: expected cpu, cuda, cuda:N, mps or auto")
        return value

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, value: list[str] | str | None) -> list[str] | str | None:
        from hfswim.languages import parse_languages

        if value is not None:
            parse_languages(value)  # raises ConfigError naming close matches
        return value

    @model_validator(mode="after")
    def _check(self) -> GenerateConfig:
        if self.shard_index >= self.num_shards:
            raise ValueError(f"shard_index {self.shard_index} must be < num_shards {self.num_shards}")
        if self.provider is not None:
            if self.endpoints:
                raise ValueError("provider: Inference Providers replace --endpoint; pass one or the other")
            if not self.model:
                raise ValueError(f"provider {self.provider!r} needs model: a Hub model id (ORG/MODEL)")
        if self.api_key_env is not None and not self.endpoints:
            raise ValueError("api_key_env: a key is for a hosted API; pass its base URL with --endpoint")
        if self.strategy == "promptagator" and not self.examples:
            raise ValueError("strategy 'promptagator' needs examples: a JSONL file of (passage, query) pairs")
        return self

    def language_codes(self) -> list[str]:
        from hfswim.languages import parse_languages

        spec = self.languages if self.languages is not None else ("miracl" if self.is_monolingual else "xor")
        return [lang.code for lang in parse_languages(spec)]

    def generation_params(self) -> dict[str, Any]:
        """The parameters that shape an output; they go into every record's key and ``params`` column."""
        params: dict[str, Any] = {
            "strategy": self.strategy,
            "setting": self.setting,
            "max_new_tokens": self.max_new_tokens,
            "temperature": self.temperature,
            "seed": self.seed,
        }
        if self.top_p is not None:
            params["top_p"] = self.top_p
        if self.summary_max_new_tokens is not None:
            params["summary_max_new_tokens"] = self.summary_max_new_tokens
        return params

    @property
    def is_monolingual(self) -> bool:
        return self.setting == MONOLINGUAL


def load_config(**values: Any) -> GenerateConfig:
    """Build a config, turning pydantic's validation errors into one clear ConfigError line."""
    from pydantic import ValidationError

    try:
        return GenerateConfig(**values)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "config"
        msg = first["msg"].removeprefix("Value error, ")
        raise ConfigError(f"generate config: {where}: {msg}") from None
