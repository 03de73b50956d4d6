"""Inverse cloze task pairs: an LLM-free training signal from the passages themselves (Lee et al., 2019, ORQA).

A sentence of a passage is the query; the rest of the passage is its positive. The pair teaches what a good
query-passage pair teaches a retriever (a short text and the longer text it belongs to share entities and topic
words, but not the sentence itself), and it costs no LLM request: every training-corpus passage of two or more
sentences gives pairs. Lee et al. keep the sentence in its context for 10% of the pairs, so that the encoder
also learns that word overlap matters; ``keep`` is that share.

``hfswim train --inverse-cloze PASSAGES`` adds these pairs to the generated ones (each in its passage's
language, so single-language batches stay single-language). They are a separate signal from hfswim's LLM
queries: compare a run with and without them before relying on them.

Example::

    >>> from hfswim.records import Passage
    >>> p = Passage("nile#0", passage_language="sw", title="Nile",
    ...             text="Mto Nile ni mrefu. Unaanzia Ziwa Victoria. Unaishia Bahari ya Mediterania.")
    >>> pairs = inverse_cloze_pairs([p], pairs_per_passage=2, keep=0.0, seed=1)
    >>> [(pair["anchor"], pair["query_language"]) for pair in pairs]  # two of its three sentences, seeded
    [('Mto Nile ni mrefu.', 'sw'), ('Unaishia Bahari ya Mediterania.', 'sw')]
    >>> pairs[0]["positive"]  # the title and the rest of the passage
    'Nile Unaanzia Ziwa Victoria. Unaishia Bahari ya Mediterania.'
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from hfswim.errors import InputError
from hfswim.records import PASSAGE_LANGUAGE, QUERY_LANGUAGE, Passage

if TYPE_CHECKING:
    from datasets import Dataset

MIN_QUERY_WORDS = 4  # a shorter "sentence" is a heading, a date or a split abbreviation, not a query


def inverse_cloze_pairs(
    passages: Iterable[Passage], *, pairs_per_passage: int = 1, keep: float = 0.1, seed: int = 42
) -> list[dict[str, str]]:
    """``(anchor, positive, query_language)`` rows: per passage of two or more sentences, up to
    ``pairs_per_passage`` distinct sentences (of :data:`MIN_QUERY_WORDS` words or more) drawn with ``seed``, each
    the anchor of a pair whose positive is the title and the passage without it (with it, for a ``keep`` share)."""
    from hfswim.generation.extractive import split_sentences

    rng = random.Random(seed)
    rows = []
    for passage in passages:
        sentences = split_sentences(passage.text or "")
        if len(sentences) < 2:
            continue
        candidates = [i for i, s in enumerate(sentences) if len(s.split()) >= MIN_QUERY_WORDS]
        for i in rng.sample(candidates, min(pairs_per_passage, len(candidates))):
            context = sentences if rng.random() < keep else sentences[:i] + sentences[i + 1 :]
            text = " ".join(context)
            rows.append(
                {
                    "anchor": sentences[i],
                    "positive": f"{passage.title} {text}" if passage.title else text,
                    QUERY_LANGUAGE: passage.passage_language or "und",
                }
            )
    return rows


def load_inverse_cloze(source: str | Path, *, pairs_per_passage: int, keep: float, seed: int) -> Dataset:
    """:func:`inverse_cloze_pairs` of a passages file or folder (``hfswim sample`` output, or JSONL/Parquet with
    ``_id``/``passage_id``, ``text`` and a ``passage_language``/``lang`` column) as a training-pairs dataset.

    Raises:
        InputError: no such source, a bad row, a passage without a language, or no passage of two sentences.
    """
    from datasets import Dataset

    from hfswim.corpus.reading import ID_COLUMNS
    from hfswim.io import iter_rows, resolve_files
    from hfswim.records import upgrade_row
    from hfswim.training.data import PAIR_COLUMNS

    # Not read_passages: its check keeps passages to SWIM-IR's languages (generation needs a prompt language),
    # while a training pair's language is only the key of its single-language batches (Turkish is fine here).
    passages = []
    for file in resolve_files(source):
        for number, row in enumerate(iter_rows(file), 1):
            row = upgrade_row(row)
            passage_id = next((str(row[c]) for c in ID_COLUMNS if row.get(c)), None)
            if passage_id is None or not isinstance(row.get("text"), str):
                raise InputError(f"{file}: row {number}: an inverse cloze passage needs an id and a text.")
            lang = row.get(PASSAGE_LANGUAGE)
            passages.append(Passage(passage_id, None, lang, row.get("title") or "", row["text"]))
    unlabelled = next((p for p in passages if not p.passage_language), None)
    if unlabelled is not None:
        raise InputError(
            f"{source}: --inverse-cloze pairs take their language from the passage, but passage "
            f"{unlabelled.passage_id!r} has none (add a passage_language or lang column)."
        )
    rows = inverse_cloze_pairs(passages, pairs_per_passage=pairs_per_passage, keep=keep, seed=seed)
    if not rows:
        raise InputError(f"{source}: no passage of two or more sentences to make inverse cloze pairs from.")
    return Dataset.from_list(rows).select_columns(PAIR_COLUMNS)
