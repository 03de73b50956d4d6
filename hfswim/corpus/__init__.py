"""The corpus stage (``hfswim sample``): read a corpus, cut it into passages, sample them as SWIM-IR does.

* :mod:`~hfswim.corpus.sources` streams documents from a Hub dataset, JSONL/Parquet/CSV, BEIR or text files;
* :mod:`~hfswim.corpus.chunking` cuts them into passages of at most 100 words;
* :mod:`~hfswim.corpus.sampling` keeps a seeded, stratified, capped sample;
* :mod:`~hfswim.corpus.passages` ties them together and writes ``PASSAGE_SCHEMA`` Parquet.

Example::

    >>> from hfswim.corpus import CorpusConfig, demo_corpus_path, iter_passages
    >>> passages = list(iter_passages(CorpusConfig(source=str(demo_corpus_path()))))
    >>> len({p.passage_language for p in passages}) >= 15
    True
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Names load on first use, so that `hfswim.corpus.cli` (imported by `hfswim --help`) stays light.
_EXPORTS = {
    "chunk_text": "chunking",
    "count_words": "chunking",
    "ColumnMapping": "config",
    "CorpusConfig": "config",
    "make_config": "config",
    "iter_passages": "passages",
    "make_sampler": "passages",
    "sample_passages": "passages",
    "write_passages": "passages",
    "check_passage": "reading",
    "read_passages": "reading",
    "StratifiedSampler": "sampling",
    "inclusion_threshold": "sampling",
    "passage_draw": "sampling",
    "CorpusStats": "sources",
    "Document": "sources",
    "detect_format": "sources",
    "iter_documents": "sources",
}

if TYPE_CHECKING:
    from hfswim.corpus.chunking import chunk_text, count_words
    from hfswim.corpus.config import ColumnMapping, CorpusConfig, make_config
    from hfswim.corpus.passages import iter_passages, make_sampler, sample_passages, write_passages
    from hfswim.corpus.reading import check_passage, read_passages
    from hfswim.corpus.sampling import StratifiedSampler, inclusion_threshold, passage_draw
    from hfswim.corpus.sources import CorpusStats, Document, detect_format, iter_documents


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"hfswim.corpus.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'hfswim.corpus' has no attribute {name!r}")


def demo_corpus_path() -> Path:
    """The small multilingual corpus shipped with hfswim (JSONL: doc_id, lang, title, text), written for it."""
    return Path(__file__).parent / "data" / "demo_corpus.jsonl"


def xquad_demo_path() -> Path:
    """The packaged XQuAD slice of ``make demo``: ``passages.jsonl`` (48 English paragraphs to generate for) and
    ``eval/`` (BEIR folders de-en, es-en, ro-en, vi-en: 120 questions from other articles against all 240 paragraphs);
    CC BY-SA 4.0, see its README. ``source: xquad-demo`` and ``tasks: local:xquad-demo`` name it in configs."""
    return Path(__file__).parent / "data" / "xquad_demo"


PACKAGED_SOURCES = {"demo": "demo_corpus.jsonl", "xquad-demo": "xquad_demo/passages.jsonl"}


__all__ = [
    "ColumnMapping",
    "CorpusConfig",
    "CorpusStats",
    "Document",
    "StratifiedSampler",
    "check_passage",
    "chunk_text",
    "count_words",
    "demo_corpus_path",
    "detect_format",
    "inclusion_threshold",
    "iter_documents",
    "iter_passages",
    "make_config",
    "make_sampler",
    "passage_draw",
    "read_passages",
    "sample_passages",
    "write_passages",
    "xquad_demo_path",
]
