"""Negatives mined with BM25 (bm25s), the InPars recipe: ``hfswim train --negatives bm25``.

The InPars toolkit (``inpars/generate_triples.py``) searches each synthetic query with BM25 (pyserini) over
the corpus and takes negatives among the hits that are not the query's own passage. hfswim does the same
with `bm25s <https://github.com/xhluca/bm25s>`_, per query language (a query's negatives come from the
passages of its own language group), with the rules of the dense miner
(:func:`hfswim.training.losses.mine_negatives`, sentence-transformers' ``mine_hard_negatives``):

* candidates are the ``range_max`` best BM25 hits; the positive and passages with the positive's text are never
  negatives;
* ``relative_margin``: a candidate scoring above ``(1 - margin) x`` the positive's BM25 score is skipped (a
  likely false negative: it matches the query better than the passage the query was written for);
* the best ``num_negatives`` remaining candidates are kept ("top" sampling). BM25 only returns passages that share
  a term with the query, so a short or cross-lingual query may have fewer hits than ``num_negatives``: with
  ``fill_random`` (the default) the rest are random other passages of the language group (seeded), as the InPars
  toolkit's random sample of the run would hold; without it such a query is dropped in the ``n-tuple`` format
  and keeps what it has in the ``labeled-pair`` format (at least one negative).

Tokenization is mteb's BM25 baseline tokenizer (:class:`mteb.models.model_implementations.bm25.BM25Tokenizer`),
so training negatives and the BM25 first stage of ``hfswim evaluate`` see the same tokens:

* monolingual data (the passages are in the query language, detected with :mod:`hfswim.text.langid` on a sample):
  that language's Snowball stemmer (PyStemmer) and bm25s stopword list where they exist (en, de, es, fr, ru,
  ...; Arabic, Hindi, Greek, Turkish ... get a stemmer only), character tokens for Chinese, Japanese, Korean
  and Thai;
* every other case (cross-lingual data, or a language with neither): plain bm25s word tokens, and tokens found
  in >= 90% of the passages dropped as stopwords, as mteb does for a subset with two languages.

Example::

    >>> from datasets import Dataset, concatenate_datasets
    >>> pairs = Dataset.from_dict({
    ...     "anchor": ["which river flows through Cairo", "capital of Kenya"],
    ...     "positive": ["The Nile river flows through Cairo.", "Nairobi is the capital of Kenya."],
    ...     "query_language": ["en", "en"]})
    >>> passages = ["The Congo river is the deepest river.", "Kenya borders Uganda."]
    >>> pairs = concatenate_datasets([pairs, Dataset.from_dict({"anchor": ["x", "y"], "positive": passages,
    ...                                                          "query_language": ["en", "en"]})])
    >>> rows = mine_bm25_negatives(pairs, num_negatives=1, relative_margin=0.05, output_format="labeled-pair")
    >>> [(r["anchor"], r["positive"], r["label"]) for r in rows][:4]  # doctest: +NORMALIZE_WHITESPACE
    [('which river flows through Cairo', 'The Nile river flows through Cairo.', 1),
     ('which river flows through Cairo', 'The Congo river is the deepest river.', 0),
     ('capital of Kenya', 'Nairobi is the capital of Kenya.', 1),
     ('capital of Kenya', 'Kenya borders Uganda.', 0)]
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import TYPE_CHECKING, Literal

from hfswim.errors import InputError
from hfswim.records import QUERY_LANGUAGE

if TYPE_CHECKING:
    from datasets import Dataset

logger = logging.getLogger(__name__)

OutputFormat = Literal["n-tuple", "labeled-pair"]
LANGUAGE_SAMPLE = 200  # passages whose language decides monolingual vs cross-lingual tokenization


def passage_language(passages: list[str]) -> str | None:
    """The language most of (a sample of) ``passages`` are in, by :func:`hfswim.text.langid.detect_batch`."""
    from hfswim.text.langid import detect_batch

    step = max(1, len(passages) // LANGUAGE_SAMPLE)
    sample = passages[::step][:LANGUAGE_SAMPLE]
    counts = Counter(guess.lang for guess in detect_batch(sample) if guess.lang)
    return counts.most_common(1)[0][0] if counts else None


def bm25_tokenizer_language(query_language: str, passages: list[str]) -> str | None:
    """mteb's ISO 639-3 language for the BM25 tokenizer, or ``None`` (no stemmer; cross-lingual data).

    >>> bm25_tokenizer_language("en", ["The Nile is a river in Africa.", "Nairobi is the capital of Kenya."])
    'eng'
    >>> bm25_tokenizer_language("de", ["The Nile is a river in Africa.", "Nairobi is the capital of Kenya."])
    """
    from hfswim.evaluation.tasks._common import mteb_language

    if passage_language(passages) != query_language:
        return None
    tag = mteb_language(query_language)
    return tag.split("-")[0] if tag else None


class BM25Index:
    """A bm25s index over ``passages`` with mteb's tokenizer for ``language`` (ISO 639-3 or None)."""

    def __init__(self, passages: list[str], language: str | None):
        import bm25s
        from mteb.models.model_implementations.bm25 import BM25Tokenizer

        self.tokenizer = BM25Tokenizer(language=language)
        self.retriever = bm25s.BM25()
        self.retriever.index(self.tokenizer.fit_transform(passages), show_progress=False)
        self.size = len(passages)

    def scores(self, queries: list[str]):
        """Dense BM25 scores, one row of ``len(passages)`` floats per query."""
        import numpy as np

        tokenized = self.tokenizer.transform(queries)
        # The Tokenized ids index the query batch's own vocab; get_scores takes token strings of the index vocab.
        inverse = {i: token for token, i in tokenized.vocab.items()}
        known = self.retriever.vocab_dict
        rows = []
        for ids in tokenized.ids:
            tokens = [inverse[i] for i in ids if inverse[i] in known]
            rows.append(self.retriever.get_scores(tokens) if tokens else np.zeros(self.size, dtype=np.float32))
        return np.stack(rows)


def _negatives_for_query(
    scores, positive_index: int, positive_text: str, texts: list[str], num: int, margin: float, range_max: int
) -> list[int]:
    import numpy as np

    k = min(range_max + 1, len(texts))
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.argsort(-scores[top], kind="stable")]
    ceiling = (1.0 - margin) * float(scores[positive_index])
    chosen = []
    for i in top.tolist():
        if scores[i] <= 0:
            break  # no query term in it: not a BM25 hit (pyserini returns only matching passages)
        if i == positive_index or texts[i] == positive_text:
            continue
        if margin > 0 and scores[positive_index] > 0 and scores[i] > ceiling:
            continue  # likely a false negative (scores near or above the positive)
        chosen.append(i)
        if len(chosen) == num:
            break
    return chosen


def mine_bm25_negatives(
    pairs: Dataset,
    num_negatives: int,
    relative_margin: float = 0.05,
    range_max: int = 50,
    output_format: OutputFormat = "n-tuple",
    batch_size: int = 256,
    fill_random: bool = True,
    seed: int = 0,
) -> Dataset:
    """Add BM25 negatives to ``(anchor, positive, lang)`` pairs, language by language (see the module docstring).

    Returns ``(anchor, positive, negative_1..n, lang)`` for ``"n-tuple"``, or ``(anchor, positive, label, lang)``
    rows with label 1 for the positive and 0 for each negative for ``"labeled-pair"`` (reranker training; the
    ``positive`` column then holds any passage, the label says which).
    """
    import random

    from datasets import Dataset

    rng = random.Random(seed)
    rows: list[dict] = []
    dropped = filled = 0
    for lang in sorted(set(pairs[QUERY_LANGUAGE])):
        subset = pairs.filter(lambda b, lang=lang: [x == lang for x in b[QUERY_LANGUAGE]], batched=True)
        texts = sorted(set(subset["positive"]))
        if len(texts) <= 1:
            logger.warning("Language %s: a single passage, no negatives to mine; skipped.", lang)
            continue
        position = {text: i for i, text in enumerate(texts)}
        language = bm25_tokenizer_language(lang, texts)
        logger.info("BM25 negatives for %s: %d passages, tokenizer language %s", lang, len(texts), language)
        index = BM25Index(texts, language)
        anchors, positives = subset["anchor"], subset["positive"]
        for start in range(0, len(anchors), batch_size):
            batch = anchors[start : start + batch_size]
            for offset, scores in enumerate(index.scores(batch)):
                anchor, positive = batch[offset], positives[start + offset]
                negatives = _negatives_for_query(
                    scores, position[positive], positive, texts, num_negatives, relative_margin, range_max
                )
                if fill_random and len(negatives) < num_negatives:
                    ceiling = (1.0 - relative_margin) * float(scores[position[positive]])
                    pool = [
                        i
                        for i in range(len(texts))
                        if i != position[positive]
                        and i not in negatives
                        and not (relative_margin > 0 and scores[i] > ceiling > 0)
                    ]
                    extra = rng.sample(pool, min(num_negatives - len(negatives), len(pool)))
                    filled += len(extra)
                    negatives += extra
                if output_format == "n-tuple":
                    if len(negatives) < num_negatives:
                        dropped += 1
                        continue
                    row = {"anchor": anchor, "positive": positive}
                    row.update({f"negative_{n + 1}": texts[i] for n, i in enumerate(negatives)})
                    rows.append({**row, QUERY_LANGUAGE: lang})
                elif negatives:
                    rows.append({"anchor": anchor, "positive": positive, "label": 1, QUERY_LANGUAGE: lang})
                    rows.extend(
                        {"anchor": anchor, "positive": texts[i], "label": 0, QUERY_LANGUAGE: lang} for i in negatives
                    )
                else:
                    dropped += 1
    if filled:
        logger.info("BM25 mining: %d negatives were random passages (queries with too few BM25 hits).", filled)
    if dropped:
        logger.info("BM25 mining dropped %d queries with too few negatives past the margin.", dropped)
    if not rows:
        raise InputError(
            f"BM25 negative mining kept no query (relative margin {relative_margin}, {num_negatives} negatives): "
            "lower --hard-negatives or the margin, or add passages."
        )
    return Dataset.from_list(rows)
