"""SWIM-X-style training: fine-tune multilingual retrievers and rerankers on SWIM-IR data.

Built on sentence-transformers' trainers (``SentenceTransformerTrainer``, ``CrossEncoderTrainer``);
see :mod:`hfswim.training.retriever` and :mod:`hfswim.training.reranker`. Heavy libraries are
imported only when a function runs.

Example::

    >>> from hfswim.training import TrainConfig
    >>> TrainConfig(dataset="runs/filtered", output_dir="runs/model", cached=True, batch_size=4096).loss_name
    'CachedMultipleNegativesRankingLoss'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hfswim.training.config import TrainConfig

if TYPE_CHECKING:
    from hfswim.training.retriever import TrainResult

__all__ = ["TrainConfig", "TrainResult", "train"]


def train(config: TrainConfig) -> TrainResult:
    """Train what ``config`` asks for: a bi-encoder retriever, or a CrossEncoder reranker with ``reranker=True``."""
    from hfswim.training.data import check_record_files

    check_record_files(config.dataset)  # before any model loads: a wrong file fails in a second, in one line
    if config.reranker:
        from hfswim.training.reranker import train_reranker

        return train_reranker(config)
    from hfswim.training.retriever import train_retriever

    return train_retriever(config)


def __getattr__(name: str):
    if name == "TrainResult":
        from hfswim.training.retriever import TrainResult

        return TrainResult
    raise AttributeError(name)
