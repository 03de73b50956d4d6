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
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from hfswim.options import Cli, validate_section
from hfswim.prompts.config import PromptOptions

DEFAULT_CONCURRENCY = 16


class GenerateConfig(PromptOptions):
    """Configuration of one generation run (one client job). Each field is a ``hfswim generate`` option; the
    prompt options (strategy, setting, languages, templates, exemplars) come first, from
    :class:`~hfswim.prompts.config.PromptOptions`, shared with ``hfswim prompts show``."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    passages: str = Field(description="Passages: a Parquet/JSONL file or folder in the PASSAGE_SCHEMA.")
    output_dir: Annotated[str, Cli("--output")] = Field(
        description="Run folder: store/, generated.parquet, failures.jsonl, manifest.json (rerun to resume)."
    )

    # Endpoints
    endpoints: Annotated[list[str], Cli("--endpoint", repeat=True, metavar="URL|NAME")] = Field(
        default_factory=list,
        description="Endpoint URL or Inference Endpoint name; repeat to drive several at once. None: the embedded "
        "model.",
    )
    endpoint_kind: Literal["auto", "tgi", "openai"] = Field(
        "auto", description="API of the endpoints: auto probes /info (TGI), then /v1/models (OpenAI-compatible)."
    )
    provider: str | None = Field(
        default=None,
        description="Hugging Face Inference Providers: a provider name (together, novita, groq, ...) or auto "
        "(the router picks by your preferences); needs --model ORG/MODEL and an HF token; no --endpoint.",
    )
    provider_router_url: Annotated[str | None, Cli(hidden=True)] = Field(
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
        description="No endpoint: a local model folder or Hub id to serve instead of the packaged Gemma 3 270M. "
        "With endpoints: the model name sent to OpenAI-compatible servers.",
    )
    embedded_server: Literal["hfswim", "transformers"] = Field(
        default="hfswim",
        description="No endpoint: hfswim's batched server with a prefix KV cache, or `transformers serve`.",
    )
    embedded_max_batch: int | None = Field(
        default=None, ge=1, description="Embedded hfswim server: rows decoded together (default 16)."
    )
    embedded_device: Annotated[str, Cli("--device")] = Field(
        "auto", description="Embedded `transformers serve`: torch device, cpu, cuda, cuda:N, mps or auto."
    )
    embedded_continuous_batching: bool = Field(False, description="Embedded `transformers serve`: continuous batching.")

    # Generation parameters (they are part of every record's key)
    max_new_tokens: int = Field(default=96, ge=1, description="Token limit of each completion.")
    summary_max_new_tokens: int | None = Field(
        default=None, ge=1, description="Token limit of sap's summary step (default: max_new_tokens)."
    )
    summary_source: Literal["llm", "llm-first-sentence", "lead", "centroid"] = Field(
        default="llm",
        description="Where sap's summary comes from: llm (the model writes it, as in SWIM-IR), llm-first-sentence "
        "(the model's summary stops at its first sentence's end), or an extractive summary without the model: lead "
        "(the first sentences) or centroid (the sentence closest to the whole passage by TF-IDF), which skip the "
        "summary request (the costliest step on a small CPU model).",
    )
    temperature: float = Field(default=0.0, ge=0.0, description="Sampling temperature; 0 = greedy.")
    top_p: float | None = Field(default=None, gt=0.0, le=1.0, description="Nucleus sampling (with temperature > 0).")
    seed: int | None = Field(0, description="Sampling seed sent to the server.")

    # Backpressure
    concurrency: int | None = Field(
        default=None,
        ge=1,
        description="Requests in flight per endpoint; default: TGI's max_concurrent_requests, the embedded "
        "server's batch, or 16.",
    )
    max_retries: int = Field(default=8, ge=0, description="Retries per request on 429/5xx/timeouts/connection errors.")
    request_timeout: Annotated[float, Cli(aliases=("--timeout",))] = Field(
        default=300.0,
        gt=0,
        description="Seconds for a whole request (connect, wait, read the full answer); embedded hfswim server: "
        "derived from its measured speed unless set.",
    )
    backoff_base: float = Field(default=0.5, ge=0, description="First retry wait in seconds (doubles each retry).")
    backoff_max: float = Field(default=30.0, ge=0, description="Longest retry wait in seconds.")
    overload_threshold: int = Field(default=8, ge=1, description="Consecutive 429/503 before pausing an endpoint.")
    overload_pause: float = Field(default=2.0, ge=0, description="Seconds an overloaded endpoint is paused.")
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
    num_shards: int = Field(default=1, ge=1, description="Split the passages over N client jobs (stable hash).")
    shard_index: int = Field(default=0, ge=0, description="Which of the N jobs this is (0-based).")
    max_passages: int | None = Field(default=None, ge=1, description="Stop after this many passages (of this shard).")
    store_files: int = Field(default=16, ge=1, le=4096, description="Store files (writers) in the run folder.")
    fsync_interval: float = Field(default=2.0, gt=0, description="Seconds between batched fsyncs.")
    manifest_interval: float = Field(default=15.0, gt=0, description="Seconds between manifest updates.")
    progress: Annotated[bool, Cli(hidden=True)] = Field(True, description="Progress bar (--quiet turns it off).")

    @field_validator("embedded_device")
    @classmethod
    def _known_device(cls, value: str) -> str:
        if not re.fullmatch(r"cpu|auto|mps|cuda(:\d+)?", value):
            raise ValueError(f"device {value!r}: expected cpu, cuda, cuda:N, mps or auto")
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
        if self.summary_source != "llm" and self.strategy != "sap":
            raise ValueError(f"summary_source {self.summary_source!r} is for strategy 'sap' (its summary step)")
        if self.strategy == "promptagator" and not self.examples:
            raise ValueError("strategy 'promptagator' needs examples: a JSONL file of (passage, query) pairs")
        return self

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
        if self.summary_source != "llm":  # only when set: records made with the LLM keep their keys
            params["summary_source"] = self.summary_source
        return params


def load_config(**values: Any) -> GenerateConfig:
    """Build a config, turning pydantic's validation errors into one clear ConfigError line."""
    return validate_section(GenerateConfig, values, where="generate config")
