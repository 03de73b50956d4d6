"""The one record schema that flows between hfswim's stages.

Stages hand records to each other as Parquet files (read them with
``datasets.load_dataset("parquet", ...)`` or ``pyarrow``) or, inside the generation
store, as JSON lines. Three shapes, each a superset of the one before:

* :data:`PASSAGE_SCHEMA` — what ``hfswim sample`` writes;
* :data:`GENERATED_SCHEMA` — what ``hfswim generate`` writes: one row per (passage, query language);
* :data:`FILTERED_SCHEMA` — what ``hfswim filter`` writes: generated rows plus filter scores,
  and for rejected rows the filter and reason.

Example::

    >>> from hfswim.records import GENERATED_SCHEMA, record_key
    >>> "query" in GENERATED_SCHEMA.names
    True
    >>> len(record_key("p1", "sw", "sap-xor", "gemma", {"temperature": 0.0}))
    32
"""

from __future__ import annotations

import hashlib
import json
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
