"""Settings of ``hfswim evaluate``, validated by pydantic.

Example::

    >>> EvaluateConfig(model="bm25", tasks="local:data/beir/de").index
    'flat'
    >>> EvaluateConfig(model="bm25", tasks="local:data/beir/de", reranker="runs/reranker").rerank_top_k
    100
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hfswim.evaluation.index import INDEX_KINDS


class EvaluateConfig(BaseModel):
    """What to evaluate, on what, and where to write the results."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(
        description="sentence-transformers model (local path or Hub id), or 'bm25' for the bm25s baseline"
    )
    tasks: str = Field(
        description="comma-separated task specs: mteb names, local:PATH, xor-retrieve[:PATH], xtreme-up[:PATH]"
    )
    languages: list[str] | None = Field(default=None, description="keep only these languages (codes such as de, sw)")
    output: Path = Field(default=Path("eval-results"), description="folder for results")
    index: str = Field(default="flat", description="faiss index kind: flat (exact), hnsw or ivfpq")
    split: str | None = Field(default=None, description="split of local and XTREME-UP data (default: test)")
    batch_size: int = Field(default=32, ge=1)
    device: str | None = Field(default=None, description="torch device for the encoder (default: auto)")
    model_name: str | None = Field(default=None, description="name recorded in results and model-index")
    embedding_cache: Path | None = Field(default=None, description="folder caching embeddings between runs (mteb)")
    reranker: str | None = Field(
        default=None,
        description="CrossEncoder (local folder or Hub id) that re-ranks the first stage's top --rerank-top-k "
        "(the first stage is the model: bm25 or a retriever); summary rows show both side by side",
    )
    rerank_top_k: int = Field(
        default=100, ge=1, le=1000, description="first-stage candidates per query the reranker re-scores"
    )
    rerank_max_length: int | None = Field(
        default=None, ge=8, description="max tokens of a (query, passage) pair for the reranker (default: the model's)"
    )
    ignore_identical_ids: bool = Field(
        default=True,
        description="local tasks: drop a retrieved document whose id equals the query id, as BEIR's evaluator does",
    )

    @field_validator("index")
    @classmethod
    def _known_index(cls, value: str) -> str:
        if value not in INDEX_KINDS:
            raise ValueError(f"unknown index kind {value!r}; choose one of {', '.join(INDEX_KINDS)}")
        return value
