"""Where things live in an hfswim dataset repo: config names, shard paths, the Hub row schema.

A repo holds one *config* per (query language, setting), each a folder of Parquet shards::

    README.md                                  the dataset card (YAML ``configs`` map config -> files)
    hfswim.json                                build state: per-config counts and provenance (see build.py)
    data/sw/train-00000-of-00002.parquet       cross-lingual: query in Swahili, passage in English
    data/sw-mono/train-00000-of-00001.parquet  monolingual: query and passage in Swahili
    data/sw-corpus/test-00000-of-00001.parquet held-out split, MTEB retrieval layout (optional):
    data/sw-queries/test-...  data/sw-qrels/test-...   `<config>-corpus|queries|qrels`

Config names: a repo built with ``layout="both"`` (the default) holds both settings side by side —
cross-lingual configs are the bare code (``sw``), monolingual ones get ``-mono`` (``sw-mono``). A repo built
for one setting only (``layout="cross-lingual"`` or ``"monolingual"``; the two-repo choice, like SWIM-IR's
``swim-ir-cross-lingual`` / ``swim-ir-monolingual``) names every config by the bare code. The layout is fixed
at the first build, so config names never change as the repo grows.

Example::

    >>> config_name("sw", "monolingual", layout="monolingual")
    'sw'
    >>> shard_name("train", 0, 3)
    'train-00000-of-00003.parquet'
    >>> eval_config_names("sw-mono")
    {'corpus': 'sw-mono-corpus', 'queries': 'sw-mono-queries', 'qrels': 'sw-mono-qrels'}
"""

from __future__ import annotations

from typing import get_args

import pyarrow as pa

from hfswim.errors import ConfigError
from hfswim.hub.config import Layout
from hfswim.records import (
    CROSS_LINGUAL,
    HUB_LANGUAGE_CODE,
    HUB_LANGUAGE_NAME,
    MONOLINGUAL,
    PASSAGE_LANGUAGE,
    QUERY_LANGUAGE,
)

LAYOUTS: tuple[str, ...] = get_args(Layout)  # ("both", "cross-lingual", "monolingual"), named in hfswim.hub.config
MONO_SUFFIX = "-mono"
DATA_DIR = "data"
STATE_FILE = "hfswim.json"
CARD_FILE = "README.md"
TRAIN_SPLIT = "train"
EVAL_SPLIT = "test"  # MTEB retrieval tasks evaluate on "test"
EVAL_PARTS = ("corpus", "queries", "qrels")

# SWIM-IR's own columns first (same names and meaning), then hfswim's provenance and filter scores.
HUB_SCHEMA = pa.schema(
    [
        pa.field("_id", pa.string()),  # the record id: stable across runs for the same (passage, language, prompt)
        pa.field(HUB_LANGUAGE_NAME, pa.string()),  # "lang": English name of the QUERY language, e.g. "Swahili"
        pa.field(HUB_LANGUAGE_CODE, pa.string()),  # "code": SWIM-IR code of the QUERY language, e.g. "sw"
        pa.field("query", pa.string()),  # the synthetic query, in `code`'s language
        pa.field("title", pa.string()),  # the passage title, in `passage_language`
        pa.field("text", pa.string()),  # the passage, in `passage_language` (English for cross-lingual)
        pa.field("summary", pa.string()),  # the SAP summary the query was asked from
        pa.field("passage_id", pa.string()),
        pa.field(QUERY_LANGUAGE, pa.string()),  # = code (hfswim's name for it in every stage)
        pa.field(PASSAGE_LANGUAGE, pa.string()),
        pa.field("template", pa.string()),
        pa.field("model", pa.string()),
        pa.field("query_logprob", pa.float64()),
        pa.field("langid_score", pa.float64()),
        pa.field("ce_score", pa.float64()),
        pa.field("roundtrip_rank", pa.int64()),
    ]
)
CORPUS_SCHEMA = pa.schema([pa.field("_id", pa.string()), pa.field("title", pa.string()), pa.field("text", pa.string())])
QUERIES_SCHEMA = pa.schema([pa.field("_id", pa.string()), pa.field("text", pa.string())])
QRELS_SCHEMA = pa.schema(
    [pa.field("query-id", pa.string()), pa.field("corpus-id", pa.string()), pa.field("score", pa.int64())]
)
EVAL_SCHEMAS = {"corpus": CORPUS_SCHEMA, "queries": QUERIES_SCHEMA, "qrels": QRELS_SCHEMA}


def check_layout(layout: str) -> Layout:
    if layout not in LAYOUTS:
        raise ConfigError(f"setting/layout {layout!r}: expected one of {', '.join(LAYOUTS)}.")
    return layout  # type: ignore[return-value]


def config_name(code: str, setting: str, layout: Layout = "both") -> str:
    """The config holding queries in ``code`` for ``setting`` ("cross-lingual" | "monolingual")."""
    if setting not in (CROSS_LINGUAL, MONOLINGUAL):
        raise ConfigError(f"setting {setting!r}: expected {CROSS_LINGUAL!r} or {MONOLINGUAL!r}.")
    if layout != "both" and setting != layout:
        raise ConfigError(
            f"this dataset repo holds {layout} data only, got {setting} records for {code!r}: "
            "build them into another folder (two repos), or start a new folder with --layout both."
        )
    return f"{code}{MONO_SUFFIX}" if layout == "both" and setting == MONOLINGUAL else code


def eval_config_names(config: str) -> dict[str, str]:
    """MTEB's retrieval loader reads ``<config>-corpus``, ``<config>-queries`` and ``<config>-qrels``."""
    return {part: f"{config}-{part}" for part in EVAL_PARTS}


def shard_name(split: str, index: int, total: int) -> str:
    """The Hub's shard naming, which ``datasets`` and the dataset viewer understand."""
    return f"{split}-{index:05d}-of-{total:05d}.parquet"


def data_glob(config: str, split: str) -> str:
    """The ``data_files`` pattern of a config's split in the card's YAML."""
    return f"{DATA_DIR}/{config}/{split}-*.parquet"
