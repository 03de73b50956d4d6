"""From a corpus source to sampled passage records: the Python API behind ``hfswim sample``.

Records follow :data:`hfswim.records.PASSAGE_SCHEMA`; passage ids are ``<doc_id>#<chunk index>``,
stable for a given source and ``max_words``.

Example::

    >>> import tempfile, pathlib
    >>> from hfswim.corpus import CorpusConfig, demo_corpus_path, sample_passages, write_passages
    >>> config = CorpusConfig(source=str(demo_corpus_path()), languages="en", cap_per_language=3, seed=0)
    >>> [p.passage_language for p in sample_passages(config)]
    ['en', 'en', 'en']
    >>> write_passages(config, pathlib.Path(tempfile.mkdtemp()) / "passages.parquet")
    {'en': 3}
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator

from hfswim.corpus.chunking import chunk_text
from hfswim.corpus.config import CorpusConfig
from hfswim.corpus.sampling import StratifiedSampler, inclusion_threshold
from hfswim.corpus.sources import CorpusStats, iter_documents
from hfswim.errors import InputError
from hfswim.io import AtomicParquetWriter
from hfswim.progress import progress_bar
from hfswim.records import PASSAGE_SCHEMA, Passage


def iter_passages(config: CorpusConfig, stats: CorpusStats | None = None) -> Iterator[Passage]:
    """Stream every passage of the source (chunked, language-filtered, not sampled) as a :class:`Passage`.

    Raises:
        InputError: for bad input (see :func:`hfswim.corpus.sources.iter_documents`), or a source
            with no passage left after filtering.
    """
    stats = stats if stats is not None else CorpusStats()
    per_language = stats.passages_per_language
    for doc in iter_documents(config, stats):
        for index, text in enumerate(chunk_text(doc.text, doc.lang, config.max_words)):
            stats.passages += 1
            per_language[doc.lang] = per_language.get(doc.lang, 0) + 1
            yield Passage(f"{doc.doc_id}#{index}", doc.doc_id, doc.lang, doc.title, text, doc.source)
    if stats.passages == 0:
        skipped = f"{stats.documents} documents read, {stats.skipped_language} in other languages, "
        skipped += f"{stats.skipped_empty} empty"
        wanted = f" (languages: {','.join(config.languages)})" if config.languages else ""
        raise InputError(f"{config.source}: no passages to sample{wanted}: {skipped}.")


def make_sampler(config: CorpusConfig) -> StratifiedSampler:
    """The sampler for ``config``; with ``sample_size`` and no ``total``, a first streaming pass counts passages."""
    threshold: float | dict[str, float] = 1.0
    total: int | None = None
    if config.rate is not None:
        threshold = config.rate
    elif config.sample_size is not None:
        if config.total is not None:
            threshold = inclusion_threshold(config.sample_size, config.total)
            total = config.total
        else:
            counted = CorpusStats()
            with progress_bar("sample: counting passages", unit="passage") as bar:
                for _ in iter_passages(config, counted):
                    bar.update()
            total = counted.passages
            if config.allocation == "equal":
                threshold = {
                    lang: inclusion_threshold(config.sample_size, n)
                    for lang, n in counted.passages_per_language.items()
                }
            else:
                threshold = inclusion_threshold(config.sample_size, counted.passages)
    sampler = StratifiedSampler(threshold=threshold, cap_per_language=config.cap_per_language, seed=config.seed)
    sampler.passages_total = total  # for the second pass's bar
    return sampler


def sample_passages(config: CorpusConfig, stats: CorpusStats | None = None) -> Iterator[Passage]:
    """Stream the sampled passages (all passages when the config sets no sampling rule).

    Memory stays bounded: without a cap nothing is held; with a cap, at most ``cap`` passages per language.
    """
    if not config.samples:
        yield from iter_passages(config, stats)
        return
    sampler = make_sampler(config)
    with progress_bar("sample", total=sampler.passages_total, unit="passage") as bar:

        def counted() -> Iterator[Passage]:
            for passage in iter_passages(config, stats):
                bar.update()
                yield passage

        yield from sampler.sample(counted())


def write_passages(config: CorpusConfig, path: str | os.PathLike, stats: CorpusStats | None = None) -> dict[str, int]:
    """Sample passages into a Parquet file (written atomically) and return the count per language."""
    counts: Counter[str] = Counter()
    with AtomicParquetWriter(path, PASSAGE_SCHEMA) as writer:
        for passage in sample_passages(config, stats):
            counts[passage.passage_language] += 1
            writer.write_rows([passage.to_dict()])
    return dict(sorted(counts.items()))
