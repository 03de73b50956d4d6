"""Parallel positives: pair a query with the *parallel* passage of its source, by document id.

A small LLM writes a German question about a German paragraph much better than about an English one (it can lean
on the paragraph's own words). When the corpus is parallel (XQuAD's paragraphs, a translated Wikipedia slice,
a multilingual manual) such a monolingual query paired with the same document in English is a cross-lingual
training pair. ``hfswim train --parallel-passages en.jsonl`` does that swap: every pair's positive becomes the
passage with the same document id in the given file; pairs whose document is not there are dropped (and counted).

Example::

    >>> import json, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "en.jsonl").write_text(json.dumps({"_id": "p1", "title": "Nile", "text": "The Nile ..."}) + "\\n")
    >>> load_parallel_passages(folder / "en.jsonl")
    {'p1': ('Nile', 'The Nile ...')}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from hfswim.errors import InputError

if TYPE_CHECKING:
    from datasets import Dataset

ID_COLUMNS = ("doc_id", "_id", "id")
TEXT_COLUMNS = ("text", "passage")


def _rows(path: Path) -> list[dict]:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    if path.suffix in (".jsonl", ".json"):
        with open(path, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]
    raise InputError(f"{path}: parallel passages must be a .jsonl or .parquet file.")


def load_parallel_passages(path: str | Path) -> dict[str, tuple[str, str]]:
    """``{document id: (title, text)}`` from a JSONL/Parquet passages file (``_id``/``doc_id``, ``title``, ``text``).

    Raises:
        InputError: no such file, or no id/text column (named, with the columns found).
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise InputError(f"{path}: no such parallel-passages file.")
    rows = _rows(path)
    if not rows:
        raise InputError(f"{path}: no parallel passages in the file.")
    id_col = next((c for c in ID_COLUMNS if c in rows[0]), None)
    text_col = next((c for c in TEXT_COLUMNS if c in rows[0]), None)
    if id_col is None or text_col is None:
        raise InputError(
            f"{path}: parallel passages need an id column ({', '.join(ID_COLUMNS)}) and a text column "
            f"({', '.join(TEXT_COLUMNS)}); columns found: {', '.join(rows[0])}."
        )
    return {str(r[id_col]): ((r.get("title") or "").strip(), (r[text_col] or "").strip()) for r in rows}


def swap_positives(ds: Dataset, passages: dict[str, tuple[str, str]], origin: str) -> tuple[Dataset, int]:
    """``ds`` (generated/filtered records) with ``title``/``text`` replaced by the parallel passage of the row's
    document; rows whose document has no parallel passage are dropped. Returns the rows and the number dropped."""
    id_col = next((c for c in ID_COLUMNS if c in ds.column_names), None)
    if id_col is None:
        raise InputError(
            f"{origin}: --parallel-passages matches rows by document id, but the rows have no "
            f"{' / '.join(ID_COLUMNS)} column. Columns found: {', '.join(ds.column_names)}."
        )
    before = len(ds)
    ds = ds.filter(lambda b: [str(i) in passages for i in b[id_col]], batched=True)

    def swap(batch):
        found = [passages[str(i)] for i in batch[id_col]]
        return {"title": [t for t, _ in found], "text": [x for _, x in found]}

    ds = ds.map(swap, batched=True, desc="Parallel positives")
    return ds, before - len(ds)
