"""The one record schema that flows between hfswim's stages.

Stages hand records to each other as Parquet files (read them with
``datasets.load_dataset("parquet", ...)`` or ``pyarrow``) or, inside the generation
store, as JSON lines. Three shapes, each a superset of the one before:

* :data:`PASSAGE_SCHEMA` — what ``hfswim sample`` writes (in Python, a :class:`Passage`);
* :data:`GENERATED_SCHEMA` — what ``hfswim generate`` writes: one row per (passage, query language);
* :data:`FILTERED_SCHEMA` — what ``hfswim filter`` writes: generated rows plus filter scores,
  and for rejected rows the filter and reason.

In Python, a generated row is a :class:`GeneratedRecord` (a slots dataclass with the
``GENERATED_SCHEMA`` columns as fields, in order): the generation engine makes it, the store appends
it as a JSON line and reads it back, the export writes it to Parquet.

Column names: one per idea. A language code is ``query_language`` / ``passage_language`` everywhere (the
constants :data:`QUERY_LANGUAGE`, :data:`PASSAGE_LANGUAGE`); files written before the rename (``query_lang``,
``passage_lang``, a passages file's ``lang``) are read through :data:`LEGACY_COLUMNS` (:func:`upgrade_row`,
:func:`upgrade_columns`), so old run folders and stores still resume.

Example::

    >>> from hfswim.records import GENERATED_SCHEMA, record_key
    >>> "query" in GENERATED_SCHEMA.names
    True
    >>> len(record_key("p1", "sw", "sap-xor", "gemma", {"temperature": 0.0}))
    32
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import pyarrow as pa

TableOrBatch = TypeVar("TableOrBatch", pa.Table, pa.RecordBatch)

# Column names for the languages, declared once. Language *codes* are always ``*_language`` columns; SWIM-IR's
# published rows keep their own two names (``lang`` = the query language's English name, ``code`` = its code),
# which only the Hub export (hfswim.hub.layout.HUB_SCHEMA) writes.
QUERY_LANGUAGE = "query_language"  # code of the query's language ("sw")
PASSAGE_LANGUAGE = "passage_language"  # code of the passage's language ("en" for cross-lingual)
LANGID_LANGUAGE = "langid_language"  # code the language-ID filter detected
HUB_LANGUAGE_NAME = "lang"  # published SWIM-IR column: English name of the query language ("Swahili")
HUB_LANGUAGE_CODE = "code"  # published SWIM-IR column: code of the query language ("sw")

# Column names of files written before the rename (hfswim <= 0.x), read as their new names. The one place that
# knows the old spellings: every reader of hfswim's own files (passages, generation store, generated/filtered
# Parquet, run folders) goes through it.
LEGACY_COLUMNS: dict[str, str] = {
    "query_lang": QUERY_LANGUAGE,
    "passage_lang": PASSAGE_LANGUAGE,
    "langid_lang": LANGID_LANGUAGE,
    "lang": PASSAGE_LANGUAGE,  # passages files: `lang` held the passage's code
}

PASSAGE_FIELDS: list[pa.Field] = [
    pa.field("passage_id", pa.string(), nullable=False),  # stable: "<doc_id>#<chunk index>"
    pa.field("doc_id", pa.string()),
    pa.field(PASSAGE_LANGUAGE, pa.string()),  # SWIM-IR code of the passage language
    pa.field("title", pa.string()),
    pa.field("text", pa.string()),
    pa.field("source", pa.string()),  # where it came from: a dataset id or a file path
]

GENERATED_FIELDS: list[pa.Field] = [
    pa.field("record_id", pa.string(), nullable=False),  # record_key(...) below
    pa.field("passage_id", pa.string(), nullable=False),
    pa.field("doc_id", pa.string()),
    pa.field("title", pa.string()),
    pa.field("text", pa.string()),
    pa.field(PASSAGE_LANGUAGE, pa.string()),
    pa.field(QUERY_LANGUAGE, pa.string()),
    pa.field("setting", pa.string()),  # "cross-lingual" | "monolingual"
    pa.field("summary", pa.string()),
    pa.field("query", pa.string()),
    pa.field("parse_status", pa.string()),  # "ok" or why the parser rejected the output
    pa.field("raw_output", pa.string()),
    pa.field("template", pa.string()),  # template name, e.g. "sap"
    pa.field("template_hash", pa.string()),
    pa.field("model", pa.string()),
    pa.field("endpoint_kind", pa.string()),  # "tgi" | "openai"
    pa.field("params", pa.string()),  # generation parameters as canonical JSON
    pa.field("query_logprob", pa.float64()),  # mean token log-prob of the query, if returned
    pa.field("query_tokens", pa.int64()),
    pa.field("prompt_tokens", pa.int64()),
    pa.field("completion_tokens", pa.int64()),
    pa.field("created_at", pa.float64()),  # unix seconds
]

FILTER_FIELDS: list[pa.Field] = [
    pa.field(LANGID_LANGUAGE, pa.string()),
    pa.field("langid_score", pa.float64()),
    pa.field("ce_score", pa.float64()),
    pa.field("roundtrip_rank", pa.int64()),
    pa.field("upr_rank", pa.int64()),  # the source passage's rank by LLM query-likelihood among the candidates
    pa.field("upr_margin", pa.float64()),  # its mean query log-prob minus the best other candidate's
    pa.field("upr_negatives", pa.list_(pa.string())),  # the other candidates (hard negatives), LLM's best first
    pa.field("reject_filter", pa.string()),  # None for kept rows
    pa.field("reject_reason", pa.string()),
]

PASSAGE_SCHEMA = pa.schema(PASSAGE_FIELDS)
GENERATED_SCHEMA = pa.schema(GENERATED_FIELDS)
FILTERED_SCHEMA = pa.schema(GENERATED_FIELDS + FILTER_FIELDS)

CROSS_LINGUAL = "cross-lingual"
MONOLINGUAL = "monolingual"
# The prompt strategies, named once (hfswim.prompts.strategies builds them; GenerateConfig validates the name).
STRATEGIES = ("sap", "sap-naive", "inpars-vanilla", "inpars-gbq", "promptagator")


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no spaces, so equal params hash equally."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def record_key(passage_id: str, query_language: str, template_hash: str, model: str, params: dict[str, Any]) -> str:
    """The durable identity of one generated record.

    The same (passage, language, prompt, model, params) always maps to the same key,
    so a resumed run can tell which records are finished.
    """
    payload = canonical_json([passage_id, query_language, template_hash, model, params])
    return hashlib.blake2b(payload.encode("utf-8"), digest_size=16).hexdigest()


def conform(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """Build a table with exactly ``schema``'s columns; missing optional values become null."""
    columns = {f.name: [row.get(f.name) for row in rows] for f in schema}
    return pa.Table.from_pydict(columns, schema=schema)


def upgrade_row(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with column names of files written before the rename (:data:`LEGACY_COLUMNS`) under their new names.

    A new name already present wins; a row without old names is returned as is (no copy).

    Example::

        >>> upgrade_row({"passage_id": "d#0", "lang": "en"})
        {'passage_id': 'd#0', 'passage_language': 'en'}
        >>> upgrade_row({"query_lang": "sw", "query": "Wapi?"})
        {'query_language': 'sw', 'query': 'Wapi?'}
    """
    if not any(name in LEGACY_COLUMNS for name in row):
        return row
    return {_new_name(name, row): value for name, value in row.items() if not _shadowed(name, row)}


def old_names(name: str) -> tuple[str, ...]:
    """The names ``name`` had in files written before the rename (:data:`LEGACY_COLUMNS`), for readers that look
    a column up among several spellings.

    Example::

        >>> old_names(QUERY_LANGUAGE)
        ('query_lang',)
    """
    return tuple(old for old, new in LEGACY_COLUMNS.items() if new == name)


def upgrade_names(names: Iterable[str]) -> list[str]:
    """Column names as :func:`upgrade_columns` would leave them (to check a file's schema before reading it)."""
    names = list(names)
    return [_new_name(name, names) for name in names if not _shadowed(name, names)]


def upgrade_columns(data: TableOrBatch) -> TableOrBatch:
    """A table or record batch with old column names (:data:`LEGACY_COLUMNS`) renamed; unchanged when none."""
    names = data.schema.names
    if not any(name in LEGACY_COLUMNS for name in names):
        return data
    columns = [data.column(i) for i, name in enumerate(names) if not _shadowed(name, names)]
    if isinstance(data, pa.RecordBatch):
        return pa.RecordBatch.from_arrays(columns, names=upgrade_names(names))
    return pa.Table.from_arrays(columns, names=upgrade_names(names))


def file_column_names(available: Iterable[str], wanted: Iterable[str]) -> list[str]:
    """The names to read from a file that has ``available`` columns to get ``wanted`` (new names).

    A wanted column the file holds under its old name is read under that name (then :func:`upgrade_columns`);
    one the file lacks altogether is left out.

    Example::

        >>> file_column_names(["passage_id", "lang", "text"], ["passage_id", "passage_language", "title"])
        ['passage_id', 'lang']
    """
    present = list(available)
    old_of = {new: old for old, new in LEGACY_COLUMNS.items() if old in present}
    out = []
    for name in wanted:
        if name in present:
            out.append(name)
        elif name in old_of:
            out.append(old_of[name])
    return out


def _new_name(name: str, names: Collection[str]) -> str:
    new = LEGACY_COLUMNS.get(name)
    return new if new is not None and new not in names else name


def _shadowed(name: str, names: Collection[str]) -> bool:
    # An old column whose new name is also present: the new one is the truth, the old one is dropped.
    new = LEGACY_COLUMNS.get(name)
    return new is not None and new in names


@dataclass(slots=True)
class Passage:
    """One passage to generate queries for: a row of :data:`PASSAGE_SCHEMA`, fields in schema order.

    ``hfswim sample`` writes them, :func:`hfswim.corpus.read_passages` reads them back (checked), the prompt
    strategies and the generation engine take them.

    Example::

        >>> p = Passage(passage_id="nile#0", doc_id="nile", passage_language="en", title="Nile", text="The Nile.")
        >>> p.to_dict()["passage_language"], Passage.from_dict({"passage_id": "d#0", "lang": "sw"}).passage_language
        ('en', 'sw')
    """

    passage_id: str  # stable: "<doc_id>#<chunk index>"
    doc_id: str | None = None
    passage_language: str | None = None  # SWIM-IR code
    title: str | None = None
    text: str | None = None
    source: str | None = None  # a dataset id or a file path

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> Passage:
        """A passage from a row dict (new or old column names); unknown keys are ignored."""
        row = upgrade_row(row)
        return cls(*[row.get(name) for name in _PASSAGE_NAMES])

    def to_dict(self) -> dict[str, Any]:
        """The passage as a ``PASSAGE_SCHEMA`` row dict, columns in schema order."""
        return {name: getattr(self, name) for name in _PASSAGE_NAMES}


def as_passage(passage: Passage | dict[str, Any]) -> Passage:
    """``passage`` as a :class:`Passage` (a row dict is converted), for APIs that take either."""
    return passage if isinstance(passage, Passage) else Passage.from_dict(passage)


@dataclass(slots=True)
class GeneratedRecord:
    """One generated query for one (passage, query language): a row of :data:`GENERATED_SCHEMA`.

    The fields are the schema's columns, in order (checked at import), so a record converts to a row and
    to a JSON line without a mapping table. Optional fields default to None, as in the schema.

    Example::

        >>> record = GeneratedRecord(record_id="00ab" * 8, passage_id="doc#0", query_language="sw", query="Wapi?")
        >>> record.to_dict()["query"], GeneratedRecord.from_dict(record.to_dict()) == record
        ('Wapi?', True)
        >>> GeneratedRecord.from_dict({"record_id": "00ab" * 8, "passage_id": "doc#0", "unknown": 1}).query is None
        True
    """

    record_id: str  # record_key(...)
    passage_id: str
    doc_id: str | None = None
    title: str | None = None
    text: str | None = None
    passage_language: str | None = None
    query_language: str | None = None
    setting: str | None = None  # CROSS_LINGUAL | MONOLINGUAL
    summary: str | None = None
    query: str | None = None
    parse_status: str | None = None  # "ok" or why the parser rejected the output
    raw_output: str | None = None
    template: str | None = None  # the strategy's name, e.g. "sap"
    template_hash: str | None = None
    model: str | None = None
    endpoint_kind: str | None = None  # "tgi" | "openai"
    params: str | None = None  # generation parameters as canonical JSON
    query_logprob: float | None = None  # mean token log-prob of the query, if returned
    query_tokens: int | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    created_at: float | None = None  # unix seconds

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> GeneratedRecord:
        """A record from a row dict (a stored JSON line, a Parquet row, old column names too); unknown keys
        are ignored."""
        row = upgrade_row(row)
        return cls(*[row.get(name) for name in _GENERATED_NAMES])

    def to_dict(self) -> dict[str, Any]:
        """The record as a ``GENERATED_SCHEMA`` row dict, columns in schema order."""
        return {name: getattr(self, name) for name in _GENERATED_NAMES}


_GENERATED_NAMES: tuple[str, ...] = tuple(GENERATED_SCHEMA.names)
if tuple(f.name for f in dataclasses.fields(GeneratedRecord)) != _GENERATED_NAMES:  # pragma: no cover
    raise RuntimeError("GeneratedRecord's fields must be GENERATED_SCHEMA's columns, in order")
_PASSAGE_NAMES: tuple[str, ...] = tuple(PASSAGE_SCHEMA.names)
if tuple(f.name for f in dataclasses.fields(Passage)) != _PASSAGE_NAMES:  # pragma: no cover
    raise RuntimeError("Passage's fields must be PASSAGE_SCHEMA's columns, in order")
