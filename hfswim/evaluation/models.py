"""Turn ``--model`` into something ``mteb.evaluate`` can run, searching through hfswim's faiss backend.

* ``bm25``: mteb's bm25s baseline (``mteb/baseline-bm25s``: bm25s with per-language stemmers/stopwords).
* anything else: a sentence-transformers model (local folder or Hub id), wrapped by mteb and
  searched with :class:`~hfswim.evaluation.index.FaissSearchBackend` (flat / hnsw / ivfpq).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hfswim.errors import ConfigError, InputError

BM25_NAMES = {"bm25", "bm25s", "mteb/baseline-bm25s"}


def default_model_name(model: str) -> str:
    """A stable ``org/name`` for results: the Hub id, or ``local/<folder>`` for a local path."""
    if model.lower() in BM25_NAMES:
        return "mteb/baseline-bm25s"
    path = Path(model).expanduser()
    if path.exists():
        path = path.resolve()
        # Packaged or trainer-written models often sit in a folder called "model" or "final": name the parent.
        generic = path.name in {"model", "st", "final", "output"} or path.name.startswith("checkpoint-")
        return f"local/{path.parent.name if generic else path.name}"
    return model


def load_search_model(
    model: str,
    index_kind: str = "flat",
    device: str | None = None,
    model_name: str | None = None,
    embedding_cache: str | Path | None = None,
) -> Any:
    """An mteb search model: BM25, or an encoder + faiss index backend.

    ``embedding_cache``: a folder where mteb's ``CachedEmbeddingWrapper`` keeps embeddings per task name,
    so re-running a task (or another task of the same name sharing texts) skips encoding them again.
    """
    if model.lower() in BM25_NAMES:
        import mteb

        try:
            return mteb.get_model("mteb/baseline-bm25s")
        except ImportError as err:
            raise ConfigError(
                f"the bm25 baseline needs bm25s and PyStemmer ({err}); pip install 'hfswim[eval]'"
            ) from None

    from mteb.models import SearchEncoderWrapper, SentenceTransformerEncoderWrapper

    from hfswim.encoders import load_sentence_transformer, resolve_encoder
    from hfswim.evaluation.index import FaissSearchBackend

    model = resolve_encoder(model)
    try:
        encoder = load_sentence_transformer(model, device=device)
    except (OSError, ValueError) as err:
        where = "folder" if Path(model).expanduser().exists() else "Hub id (offline? pass a local folder)"
        raise InputError(f"cannot load sentence-transformers model {model!r} as a {where}: {err}") from None
    wrapped = SentenceTransformerEncoderWrapper(encoder)
    name = model_name or default_model_name(model)
    # mteb names results folders after the model; a local path would otherwise be "no_model_name/available".
    wrapped.mteb_model_meta = wrapped.mteb_model_meta.model_copy(update={"name": name, "revision": "local"})
    if embedding_cache is not None:
        from mteb.models.cache_wrappers import CachedEmbeddingWrapper

        wrapped = CachedEmbeddingWrapper(wrapped, Path(embedding_cache))
    return SearchEncoderWrapper(wrapped, index_backend=FaissSearchBackend(index_kind))
