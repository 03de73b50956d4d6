"""The one record schema that flows between hfswim's stages.

Stages hand records to each other as Parquet files (read them with
``datasets.load_dataset("parquet", ...)`` or ``pyarrow``) or, inside the generation
store, as JSON lines. Three shapes, each a superset of the one before:

* :data:`PASSAGE_SCHEMA` — what ``hfswim sample`` writes;
* :data:`GENERATED_SCHEMA` — what ``hfswim generate`` writes: one row per (passage, query language);
* :data:`FILTERED_SCHEMA` — what ``hfswim filter`` writes: generated rows plus filter scores,
  and for rejected rows the filter and reason.

In Python, a generated row is a :class:`GeneratedRecord` (a slots dataclass with the
``GENERATED_SCHEMA`` columns as fields, in order): the generation engine makes it, the store appends
it as a JSON line and reads it back, the export writes it to Parquet.

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
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

PASSAGE_FIELDS: list[pa.Field] = [
    pa.field("passage_id", pa.string(), nullable=False),  # stable: "<doc_id>#<chunk index>"
    pa.field("doc_id", pa.string()),
    pa.field("lang", pa.string()),  # SWIM-IR code of the passage language
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
    pa.field("passage_lang", pa.string()),
    pa.field("query_lang", pa.string()),
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
    pa.field("langid_lang", pa.string()),
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


def record_key(passage_id: str, query_lang: str, template_hash: str, model: str, params: dict[str, Any]) -> str:
    """The durable identity of one generated record.

    The same (passage, language, prompt, model, params) always maps to the same key,
    so a resumed run can tell which records are finished.
    """
    payload = canonical_json([passage_id, query_lang, template_hash, model, params])
    return hashlib.blake2b(payload.encode("utf-8"), digest_size=16).hexdigest()


def conform(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """Build a table with exactly ``schema``'s columns; missing optional values become null."""
    columns = {f.name: [row.get(f.name) for row in rows] for f in schema}
    return pa.Table.from_pydict(columns, schema=schema)


@dataclass(slots=True)
class GeneratedRecord:
    """One generated query for one (passage, query language): a row of :data:`GENERATED_SCHEMA`.

    The fields are the schema's columns, in order (checked at import), so a record converts to a row and
    to a JSON line without a mapping table. Optional fields default to None, as in the schema.

    Example::

        >>> record = GeneratedRecord(record_id="00ab" * 8, passage_id="doc#0", query_lang="sw", query="Wapi?")
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
    passage_lang: str | None = None
    query_lang: str | None = None
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
        """A record from a row dict (a stored JSON line, a Parquet row); unknown keys are ignored."""
        return cls(*[row.get(name) for name in _GENERATED_NAMES])

    def to_dict(self) -> dict[str, Any]:
        """The record as a ``GENERATED_SCHEMA`` row dict, columns in schema order."""
        return {name: getattr(self, name) for name in _GENERATED_NAMES}


_GENERATED_NAMES: tuple[str, ...] = tuple(GENERATED_SCHEMA.names)
if tuple(f.name for f in dataclasses.fields(GeneratedRecord)) != _GENERATED_NAMES:  # pragma: no cover
    raise RuntimeError("GeneratedRecord's fields must be GENERATED_SCHEMA's columns, in order")
