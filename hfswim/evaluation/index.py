"""faiss search: exact inner product by default, HNSW and IVF-PQ on request, on GPU when there is one.

Embeddings are L2-normalised, so inner product is cosine similarity.
:class:`FaissIndex` holds the vectors, :class:`SavedIndex` adds the passages and metadata
that ``hfswim index`` writes to a folder::

    my-index/
      index.faiss        # the faiss index (always saved as a CPU index)
      passages.parquet   # passage_id, title, text, passage_language (row i = vector i)
      index.json         # model, dim, metric, kind, count, build parameters

:class:`FaissSearchBackend` plugs the same index into mteb's ``SearchEncoderWrapper``
(``mteb.models.search_encoder_index.IndexEncoderSearchProtocol``), so evaluation and the
demo search the same way.

Example::

    >>> import numpy as np
    >>> vectors = np.eye(4, dtype="float32")
    >>> index = FaissIndex.build(vectors, kind="flat")
    >>> scores, ids = index.search(vectors[:1], k=2)
    >>> ids[0].tolist()[0]
    0
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from hfswim.errors import ConfigError, InputError
from hfswim.records import PASSAGE_LANGUAGE, upgrade_columns

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import faiss

logger = logging.getLogger(__name__)

IndexKind = Literal["flat", "hnsw", "ivfpq"]
INDEX_KINDS: tuple[str, ...] = ("flat", "hnsw", "ivfpq")

INDEX_FILE = "index.faiss"
PASSAGES_FILE = "passages.parquet"
META_FILE = "index.json"


@dataclass
class IndexParams:
    """Build and search parameters; the defaults suit 10^5-10^6 passages of 384-768 dims.

    Attributes:
        hnsw_m: HNSW graph degree (more: better recall, more memory).
        hnsw_ef_construction: HNSW build beam width.
        hnsw_ef_search: HNSW search beam width (the recall/latency knob).
        ivf_nlist: IVF cells; ``None`` picks ``4 * sqrt(n)``.
        ivf_nprobe: IVF cells visited per query.
        pq_m: product-quantizer sub-vectors (must divide the dimension; ``None`` picks one).
        pq_bits: bits per sub-vector code.
        use_gpu: ``None`` = use a GPU when faiss sees one; ``False`` forces CPU.
    """

    hnsw_m: int = 32
    hnsw_ef_construction: int = 200
    hnsw_ef_search: int = 128
    ivf_nlist: int | None = None
    ivf_nprobe: int = 16
    pq_m: int | None = None
    pq_bits: int = 8
    use_gpu: bool | None = None


def normalize(vectors: Any) -> np.ndarray:
    """Return float32, C-contiguous, L2-normalised rows (zero rows stay zero)."""
    if hasattr(vectors, "detach"):  # torch tensor
        vectors = vectors.detach().cpu().numpy()
    array = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32))
    if array.ndim != 2:
        raise InputError(f"embeddings must be a 2-d array (n, dim), got shape {array.shape}")
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    return np.ascontiguousarray(array / np.maximum(norms, 1e-12))


def gpu_count() -> int:
    """Number of GPUs faiss can use (0 with faiss-cpu)."""
    import faiss

    return faiss.get_num_gpus() if hasattr(faiss, "get_num_gpus") else 0


def _pq_m(dim: int, wanted: int | None) -> int:
    if wanted is not None:
        if dim % wanted:
            raise ConfigError(f"pq_m={wanted} must divide the embedding dimension {dim}")
        return wanted
    # ~8 dims per sub-quantizer keeps codes small with moderate loss.
    for m in (dim // 8, 64, 48, 32, 16, 8, 4, 2, 1):
        if m >= 1 and dim % m == 0 and m <= dim:
            return m
    return 1


def _new_index(kind: str, dim: int, n: int, params: IndexParams) -> faiss.Index:
    import faiss

    if kind == "flat":
        return faiss.IndexFlatIP(dim)
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, params.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = params.hnsw_ef_construction
        index.hnsw.efSearch = params.hnsw_ef_search
        return index
    if kind == "ivfpq":
        nlist = params.ivf_nlist or max(1, int(4 * np.sqrt(max(n, 1))))
        # k-means needs ~39 points per centroid; fewer make faiss warn and cluster poorly.
        nlist = max(1, min(nlist, n // 39 or 1))
        quantizer = faiss.IndexFlatIP(dim)
        bits = params.pq_bits if n >= 2**params.pq_bits * 39 else max(1, int(np.log2(max(n // 39, 2))))
        index = faiss.IndexIVFPQ(quantizer, dim, nlist, _pq_m(dim, params.pq_m), bits, faiss.METRIC_INNER_PRODUCT)
        index.nprobe = min(params.ivf_nprobe, nlist)
        return index
    raise ConfigError(f"unknown index kind {kind!r}; choose one of {', '.join(INDEX_KINDS)}")


class FaissIndex:
    """A faiss index over normalised embeddings; row ``i`` of the input is id ``i``."""

    def __init__(self, index: faiss.Index, kind: str, params: IndexParams | None = None) -> None:
        self.index = index
        self.kind = kind
        self.params = params or IndexParams()
        self._search_index = self._maybe_to_gpu(index)

    @classmethod
    def build(cls, embeddings: Any, kind: str = "flat", params: IndexParams | None = None) -> FaissIndex:
        """Normalise ``embeddings``, train the index if it needs training, and add them."""
        params = params or IndexParams()
        vectors = normalize(embeddings)
        if len(vectors) == 0:
            raise InputError("cannot build an index from 0 embeddings")
        index = _new_index(kind, vectors.shape[1], len(vectors), params)
        if not index.is_trained:
            index.train(vectors)
        index.add(vectors)
        return cls(index, kind, params)

    def _maybe_to_gpu(self, index: faiss.Index) -> faiss.Index:
        if self.params.use_gpu is False or self.kind == "hnsw" or gpu_count() == 0:
            return index  # faiss has no GPU HNSW; it stays on CPU
        import faiss

        logger.info("faiss: moving the %s index to %d GPU(s)", self.kind, gpu_count())
        return faiss.index_cpu_to_all_gpus(index)

    @property
    def dim(self) -> int:
        return self.index.d

    def __len__(self) -> int:
        return self.index.ntotal

    def search(self, queries: Any, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (scores, ids), each of shape ``(n_queries, min(k, len(self)))``, best first."""
        vectors = normalize(queries)
        if vectors.shape[1] != self.dim:
            raise InputError(f"query embeddings have dim {vectors.shape[1]}, the index has dim {self.dim}")
        return self._search_index.search(vectors, min(k, len(self)))

    def save(self, path: str | Path) -> None:
        import faiss

        faiss.write_index(self.index, str(path))

    @classmethod
    def load(cls, path: str | Path, kind: str, params: IndexParams | None = None) -> FaissIndex:
        import faiss

        index = faiss.read_index(str(path))
        params = params or IndexParams()
        if kind == "hnsw":
            index.hnsw.efSearch = params.hnsw_ef_search
        elif kind == "ivfpq":
            index.nprobe = params.ivf_nprobe
        return cls(index, kind, params)


@dataclass
class IndexMetadata:
    """What ``index.json`` records about a saved index."""

    model: str
    dim: int
    metric: str
    kind: str
    count: int
    params: dict[str, Any] = field(default_factory=dict)
    hfswim_version: str = ""


@dataclass
class SearchHit:
    """One search result."""

    rank: int
    score: float
    passage_id: str
    title: str
    text: str
    passage_language: str | None


class SavedIndex:
    """A faiss index with its passages and metadata: what ``hfswim index`` writes and ``hfswim search`` reads.

    Example::

        >>> import numpy as np, tempfile
        >>> passages = [{"passage_id": "p0", "title": "", "text": "zero", "passage_language": "en"},
        ...             {"passage_id": "p1", "title": "", "text": "one", "passage_language": "en"}]
        >>> saved = SavedIndex.from_embeddings(np.eye(2), passages, model="demo")
        >>> folder = tempfile.mkdtemp()
        >>> _ = saved.save(folder)
        >>> SavedIndex.load(folder).search_vectors(np.array([[0.0, 1.0]]), k=1)[0][0].passage_id
        'p1'
    """

    def __init__(self, index: FaissIndex, passages: list[dict[str, Any]], metadata: IndexMetadata) -> None:
        if len(passages) != len(index):
            raise InputError(f"{len(passages)} passages for {len(index)} vectors: they must match one to one")
        self.index = index
        self.passages = passages
        self.metadata = metadata

    @classmethod
    def from_embeddings(
        cls,
        embeddings: Any,
        passages: Sequence[dict[str, Any]],
        model: str,
        kind: str = "flat",
        params: IndexParams | None = None,
    ) -> SavedIndex:
        index = FaissIndex.build(embeddings, kind=kind, params=params)
        meta = IndexMetadata(
            model=model,
            dim=index.dim,
            metric="cosine",
            kind=kind,
            count=len(index),
            params=asdict(index.params),
            hfswim_version=_version(),
        )
        return cls(index, list(passages), meta)

    def save(self, folder: str | Path) -> Path:
        """Write ``index.faiss``, ``passages.parquet`` and ``index.json`` into ``folder``."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        from hfswim.io import write_json_atomic

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / (INDEX_FILE + ".tmp")
        self.index.save(tmp)
        tmp.replace(folder / INDEX_FILE)
        columns = ("passage_id", "title", "text", PASSAGE_LANGUAGE)
        table = pa.table({c: pa.array([p.get(c) for p in self.passages], pa.string()) for c in columns})
        pq.write_table(table, folder / (PASSAGES_FILE + ".tmp"))
        (folder / (PASSAGES_FILE + ".tmp")).replace(folder / PASSAGES_FILE)
        write_json_atomic(folder / META_FILE, asdict(self.metadata))
        return folder

    @classmethod
    def load(cls, folder: str | Path, params: IndexParams | None = None) -> SavedIndex:
        """Read a folder written by :meth:`save`; ``params`` may change search settings (efSearch, nprobe)."""
        import pyarrow.parquet as pq

        folder = Path(folder)
        missing = [name for name in (INDEX_FILE, PASSAGES_FILE, META_FILE) if not (folder / name).is_file()]
        if missing:
            raise InputError(
                f"{folder}: not an hfswim index folder (missing {', '.join(missing)}); build one with `hfswim index`"
            )
        try:
            meta = IndexMetadata(**json.loads((folder / META_FILE).read_text(encoding="utf-8")))
        except (TypeError, json.JSONDecodeError) as err:
            raise InputError(f"{folder / META_FILE}: malformed index metadata ({err})") from err
        stored = IndexParams(**meta.params) if meta.params else IndexParams()
        if params is not None:
            stored = params
        index = FaissIndex.load(folder / INDEX_FILE, meta.kind, stored)
        passages = upgrade_columns(pq.read_table(folder / PASSAGES_FILE)).to_pylist()  # old folders: `lang`
        return cls(index, passages, meta)

    def search_vectors(self, query_embeddings: Any, k: int = 10) -> list[list[SearchHit]]:
        """Top-``k`` passages for each query embedding."""
        scores, ids = self.index.search(query_embeddings, k)
        results = []
        for row_scores, row_ids in zip(scores, ids, strict=True):
            hits = []
            for rank, (score, idx) in enumerate(zip(row_scores, row_ids, strict=True), start=1):
                if idx < 0:  # faiss pads with -1 when fewer than k vectors are reachable
                    continue
                p = self.passages[int(idx)]
                hits.append(
                    SearchHit(
                        rank,
                        float(score),
                        p["passage_id"],
                        p.get("title") or "",
                        p.get("text") or "",
                        p.get(PASSAGE_LANGUAGE),
                    )
                )
            results.append(hits)
        return results


def _version() -> str:
    from hfswim import __version__

    return __version__


class FaissSearchBackend:
    """hfswim's faiss index as an mteb search backend (``IndexEncoderSearchProtocol``).

    Pass it to ``mteb.models.SearchEncoderWrapper(model, index_backend=FaissSearchBackend("hnsw"))``;
    mteb then encodes the corpus once, adds it here, and searches with the chosen index kind.
    Scores are cosine similarities (vectors are normalised), whatever the model's own similarity.
    """

    def __init__(self, kind: str = "flat", params: IndexParams | None = None) -> None:
        if kind not in INDEX_KINDS:
            raise ConfigError(f"unknown index kind {kind!r}; choose one of {', '.join(INDEX_KINDS)}")
        self.kind = kind
        self.params = params or IndexParams()
        self.index: FaissIndex | None = None
        self._pending: list[np.ndarray] = []
        self.idxs: list[str] = []

    def add_documents(self, embeddings: Any, idxs: list[str]) -> None:
        # Trained indexes (IVF-PQ) need all vectors at once; building happens at the first search.
        self._pending.append(normalize(embeddings))
        self.idxs.extend(idxs)
        self.index = None

    def _built(self) -> FaissIndex:
        if self.index is None:
            if not self._pending:
                raise InputError("the search backend has no documents; index a corpus first")
            self.index = FaissIndex.build(np.concatenate(self._pending), kind=self.kind, params=self.params)
        return self.index

    def search(
        self,
        embeddings: Any,
        top_k: int,
        similarity_fn: Callable[[Any, Any], Any] | None = None,
        top_ranked: dict[str, list[str]] | None = None,
        query_idx_to_id: dict[int, str] | None = None,
    ) -> tuple[list[list[float]], list[list[int]]]:
        queries = normalize(embeddings)
        if top_ranked is not None:
            return self._rerank(queries, top_k, top_ranked, query_idx_to_id or {})
        scores, ids = self._built().search(queries, top_k)
        return scores.tolist(), ids.tolist()

    def _rerank(
        self, queries: np.ndarray, top_k: int, top_ranked: dict[str, list[str]], query_idx_to_id: dict[int, str]
    ) -> tuple[list[list[float]], list[list[int]]]:
        # Reranking scores a short candidate list exactly; an ANN index would only add error.
        corpus = np.concatenate(self._pending)
        position = {doc_id: i for i, doc_id in enumerate(self.idxs)}
        all_scores, all_ids = [], []
        for qi, query in enumerate(queries):
            candidates = [position[d] for d in top_ranked.get(query_idx_to_id[qi], []) if d in position]
            sims = corpus[candidates] @ query if candidates else np.empty(0, dtype=np.float32)
            order = np.argsort(-sims, kind="stable")[:top_k]
            all_scores.append(sims[order].tolist())
            all_ids.append(order.tolist())  # local indices into the candidate list, as mteb expects
        return all_scores, all_ids

    def clear(self) -> None:
        self.index = None
        self._pending = []
        self.idxs = []
