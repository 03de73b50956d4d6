"""Build a passage index with a sentence-transformers model, and search it: ``hfswim index`` / ``hfswim search``.

Example (skipped as a test: it needs an encoder and a passage file)::

    >>> from hfswim.evaluation.search import build_index, Searcher  # doctest: +SKIP
    >>> build_index("passages.parquet", "path/to/model", "my-index")  # doctest: +SKIP
    >>> Searcher.load("my-index").search("where is the Eiffel tower?", k=3)[0].title  # doctest: +SKIP
    'Eiffel Tower'
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hfswim.errors import InputError
from hfswim.evaluation.index import IndexParams, SavedIndex, SearchHit


def _index_rows(path: str | Path) -> list[dict[str, Any]]:
    """The rows an index keeps (``passage_id``, ``title``, ``text``, ``passage_language``) of the passages that
    :func:`hfswim.corpus.read_passages` reads (hfswim Parquet/JSONL or a BEIR ``corpus.jsonl``); at least one."""
    from hfswim.corpus.reading import read_passages
    from hfswim.records import PASSAGE_LANGUAGE

    rows = [
        {"passage_id": p.passage_id, "title": p.title or "", "text": p.text, PASSAGE_LANGUAGE: p.passage_language}
        for p in read_passages(path)
    ]
    if not rows:
        raise InputError(f"{path}: no passages")
    return rows


def _document_text(passage: dict[str, Any]) -> str:
    # Title first, as BEIR and mteb feed documents to encoders.
    return f"{passage['title']} {passage['text']}".strip() if passage.get("title") else passage["text"]


def load_encoder(model: str | Path | None, device: str | None = None) -> Any:
    """A sentence-transformers model; ``None`` / ``"usem3"`` / ``"default"`` is hfswim's default encoder."""
    from hfswim.encoders import load_sentence_transformer

    try:
        return load_sentence_transformer(model, device=device)
    except (OSError, ValueError) as err:
        raise InputError(f"cannot load sentence-transformers model {str(model)!r}: {err}") from None


def encode_documents(encoder: Any, texts: Iterable[str], batch_size: int = 32, show_progress_bar: bool = False) -> Any:
    """Encode with the model's document prompt, if it has one (sentence-transformers >= 5)."""
    encode = getattr(encoder, "encode_document", encoder.encode)
    return encode(list(texts), batch_size=batch_size, show_progress_bar=show_progress_bar, convert_to_numpy=True)


def encode_queries(encoder: Any, texts: Iterable[str], batch_size: int = 32) -> Any:
    encode = getattr(encoder, "encode_query", encoder.encode)
    return encode(list(texts), batch_size=batch_size, show_progress_bar=False, convert_to_numpy=True)


def build_index(
    passages: str | Path | list[dict[str, Any]],
    model: str | Path | None,
    output: str | Path,
    kind: str = "flat",
    params: IndexParams | None = None,
    batch_size: int = 32,
    device: str | None = None,
    show_progress_bar: bool = False,
    encoder: Any = None,
) -> SavedIndex:
    """Encode ``passages`` with ``model``, build a faiss index of ``kind`` and save it to ``output``.

    ``model`` ``None`` (or ``"usem3"``) is hfswim's default encoder, USE Multilingual v3.
    """
    from hfswim.encoders import resolve_encoder

    if encoder is None:
        model = resolve_encoder(model)
    rows = _index_rows(passages) if isinstance(passages, (str, Path)) else list(passages)
    encoder = encoder or load_encoder(model, device)
    embeddings = encode_documents(encoder, (_document_text(p) for p in rows), batch_size, show_progress_bar)
    # A local model is recorded by absolute path, so `hfswim search` finds it from any working directory.
    recorded = str(Path(model).resolve()) if Path(model).exists() else str(model)
    saved = SavedIndex.from_embeddings(embeddings, rows, model=recorded, kind=kind, params=params)
    saved.save(output)
    return saved


class Searcher:
    """A saved index plus the encoder that built it: text in, ranked passages out."""

    def __init__(self, index: SavedIndex, encoder: Any) -> None:
        self.index = index
        self.encoder = encoder

    @classmethod
    def load(
        cls,
        folder: str | Path,
        model: str | Path | None = None,
        device: str | None = None,
        ef_search: int | None = None,
    ) -> Searcher:
        """Load ``folder``; the encoder is the one recorded in ``index.json`` unless ``model`` overrides it.

        ``ef_search`` changes an HNSW index's search beam (recall/latency) without rebuilding it.
        """
        index = SavedIndex.load(folder)
        if ef_search is not None and index.metadata.kind == "hnsw":
            index.index.index.hnsw.efSearch = ef_search
        encoder = load_encoder(model or index.metadata.model, device)
        dim = encoder.get_embedding_dimension() if hasattr(encoder, "get_embedding_dimension") else None
        if dim is not None and dim != index.metadata.dim:
            raise InputError(
                f"{folder}: the index has dim {index.metadata.dim} but model {model or index.metadata.model} gives {dim}"
            )
        return cls(index, encoder)

    def search(self, query: str, k: int = 10) -> list[SearchHit]:
        if not query.strip():
            raise InputError("the query is empty")
        return self.index.search_vectors(encode_queries(self.encoder, [query]), k)[0]
