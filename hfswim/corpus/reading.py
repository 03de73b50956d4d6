"""Reading passage files back, each row checked: what ``hfswim generate``, ``hfswim index`` and anything else
that takes ``hfswim sample`` output reads its passages with. A BEIR ``corpus.jsonl`` reads too: its ``_id`` is
the passage id (a plain ``id`` column also serves, and a ``doc_id`` for a corpus of unsplit documents), its
passages have no language.

A bad row stops the read with one :class:`~hfswim.errors.InputError` naming the file and the row, before
a request is spent on it.

    >>> import json, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "passages.jsonl"
    >>> _ = path.write_text(json.dumps({"passage_id": "d#0", "passage_language": "en", "text": "Rivers."}) + "\\n")
    >>> [(p.passage_id, p.title) for p in read_passages(path)]
    [('d#0', '')]
    >>> _ = path.write_text(json.dumps({"passage_id": "d#0", "passage_language": "xx", "text": "Rivers."}) + "\\n")
    >>> list(read_passages(path))
    Traceback (most recent call last):
    ...
    hfswim.errors.InputError: ...passages.jsonl: row 1 (passage_id 'd#0'): unknown passage language 'xx'; ...
    >>> _ = path.write_text(json.dumps({"_id": "d1", "title": "Nile", "text": "The Nile."}) + "\\n")  # BEIR
    >>> [(p.passage_id, p.passage_language) for p in read_passages(path)]
    [('d1', None)]
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from hfswim.errors import InputError
from hfswim.records import PASSAGE_LANGUAGE, Passage, upgrade_row

# Where a row's passage id is, in order: hfswim's PASSAGE_SCHEMA, a BEIR corpus.jsonl, a plain id column, and the
# document id of a corpus of unsplit documents (hfswim's demo corpus: one document, one passage).
ID_COLUMNS = ("passage_id", "_id", "id", "doc_id")


def check_passage(row: dict[str, Any], where: str) -> Passage:
    """The :class:`~hfswim.records.Passage` of a ``PASSAGE_SCHEMA`` row or a BEIR corpus row (the id from the
    first of :data:`ID_COLUMNS` present; title defaults to ""), or an InputError naming ``where`` (e.g.
    ``"passages.parquet: row 3"``).

    Raises:
        InputError: a row without an id (any of :data:`ID_COLUMNS`) or ``text``, an empty passage,
            a passage language that is not a SWIM-IR language.
    """
    from hfswim.languages import LANGUAGES

    passage_id = next((row[name] for name in ID_COLUMNS if row.get(name) is not None), None)
    if isinstance(passage_id, int) and not isinstance(passage_id, bool):
        passage_id = str(passage_id)  # a numeric `id` column
    if not isinstance(passage_id, str) or not passage_id.strip():
        raise InputError(
            f"{where}: missing or non-string 'passage_id' (a PASSAGE_SCHEMA row is needed, or a BEIR corpus.jsonl row "
            "with '_id')."
        )
    text = row.get("text")
    if not isinstance(text, str):
        raise InputError(f"{where} (passage_id {passage_id!r}): missing or non-string 'text'.")
    if not text.strip():
        raise InputError(f"{where} (passage_id {passage_id!r}): empty passage text.")
    row = upgrade_row(row)  # passages files written before the rename call the language `lang`
    lang = row.get(PASSAGE_LANGUAGE)
    if lang is not None and lang not in LANGUAGES:
        raise InputError(
            f"{where} (passage_id {passage_id!r}): unknown passage language {lang!r}; "
            "expected a SWIM-IR code (see `hfswim languages`)."
        )
    title = row.get("title")
    return Passage(
        passage_id, row.get("doc_id"), lang, title if isinstance(title, str) else "", text, row.get("source")
    )


def read_passages(source: str | os.PathLike | Sequence[Path]) -> Iterator[Passage]:
    """Stream passages from Parquet/JSONL (a file, a folder, or files already resolved with
    :func:`hfswim.io.resolve_files`), hfswim's or a BEIR ``corpus.jsonl``, checking each row
    (:func:`check_passage`).

    Raises:
        InputError: a missing source, or a bad row (see :func:`check_passage`).
    """
    from hfswim.io import iter_rows, resolve_files

    files = list(source) if isinstance(source, (list, tuple)) else resolve_files(source)
    for file in files:
        for row_number, row in enumerate(iter_rows(file), 1):
            yield check_passage(row, f"{file}: row {row_number}")
