"""Few-shot exemplars written for hfswim, one JSON file per language in ``exemplars/<code>.json``.

File layout::

    {"lang": "sw",
     "exemplars": [
       {"id": "baobab",                    # shared id: the English passage it asks about
        "query": "...",                    # a good query in the file's language
        "bad_query": "...",                # a vague/unanswered question (InPars "gbq")
        "title": "...", "text": "...", "summary": "..."}   # only for monolingual (MIRACL) languages
     ]}

``en.json`` holds the English passages (60-100 words) with their extractive summaries. A
cross-lingual exemplar for language L pairs the English passage and summary of an id with L's
query for that id; a monolingual exemplar uses L's own title, passage and summary.

Example::

    >>> from hfswim.prompts.exemplars import load_exemplars
    >>> ex = load_exemplars("sw", "cross-lingual")[0]
    >>> ex.passage_lang, ex.query_lang
    ('en', 'sw')
    >>> len(load_exemplars("de", "monolingual", 3))
    3
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

from hfswim.errors import ConfigError
from hfswim.languages import LANGUAGES, get_language
from hfswim.records import CROSS_LINGUAL, MONOLINGUAL

EXEMPLAR_DIR = Path(__file__).parent / "exemplars"
SOURCE_LANG = "en"  # language of the cross-lingual exemplar passages
QUERY_FIELDS = ("id", "query", "bad_query")
PASSAGE_FIELDS = ("title", "text", "summary")


@dataclass(frozen=True)
class Exemplar:
    """One few-shot example: a passage, its extractive summary, and a query about it.

    Attributes:
        id: identifier shared across languages (the topic of the passage).
        title, text, summary: in ``passage_lang``.
        query, bad_query: in ``query_lang``; ``bad_query`` is vague or not answered by the passage.
    """

    id: str
    title: str
    text: str
    summary: str
    query: str
    bad_query: str
    passage_lang: str
    query_lang: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def _field(item: Any, key: str, where: str) -> str:
    value = item.get(key) if isinstance(item, dict) else None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: field {key!r} must be a non-empty string.")
    return value.strip()


@cache
def _load_file(code: str) -> tuple[dict[str, str], ...]:
    path = EXEMPLAR_DIR / f"{code}.json"
    if not path.is_file():
        raise ConfigError(f"No exemplars for language {code!r}: {path} is missing.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ConfigError(f"Invalid exemplar file {path}:{err.lineno}:{err.colno}: {err.msg}") from err
    if not isinstance(data, dict) or data.get("lang") != code or not isinstance(data.get("exemplars"), list):
        raise ConfigError(f"Invalid exemplar file {path}: expected {{'lang': {code!r}, 'exemplars': [...]}}.")
    items = []
    seen: set[str] = set()
    for i, item in enumerate(data["exemplars"]):
        where = f"{path} exemplars[{i}]"
        row = {key: _field(item, key, where) for key in QUERY_FIELDS}
        present = [key for key in PASSAGE_FIELDS if isinstance(item, dict) and key in item]
        if present and len(present) != len(PASSAGE_FIELDS):
            raise ConfigError(f"{where}: give all of {', '.join(PASSAGE_FIELDS)} or none.")
        row.update({key: _field(item, key, where) for key in present})
        if row["id"] in seen:
            raise ConfigError(f"{where}: duplicate id {row['id']!r}.")
        seen.add(row["id"])
        items.append(row)
    return tuple(items)


def available_languages(setting: str) -> list[str]:
    """Codes that have exemplars for ``setting`` ("cross-lingual" or "monolingual")."""
    _check_setting(setting)
    out = []
    for code in LANGUAGES:
        if not (EXEMPLAR_DIR / f"{code}.json").is_file():
            continue
        rows = _load_file(code)
        if setting == MONOLINGUAL and not all("text" in row for row in rows):
            continue
        out.append(code)
    return out


def _check_setting(setting: str) -> None:
    if setting not in (CROSS_LINGUAL, MONOLINGUAL):
        raise ConfigError(f"Unknown setting {setting!r}; expected {CROSS_LINGUAL!r} or {MONOLINGUAL!r}.")


@cache
def load_exemplars(lang: str, setting: str, num: int = 3) -> tuple[Exemplar, ...]:
    """The first ``num`` exemplars for queries in ``lang``.

    Cross-lingual: English passages and summaries with queries in ``lang``.
    Monolingual: passage, summary and query all in ``lang``.

    Raises:
        ConfigError: unknown language or setting, too few exemplars, or a malformed file.
    """
    _check_setting(setting)
    language = get_language(lang)
    code = language.code
    if setting == MONOLINGUAL and not language.is_monolingual:
        raise ConfigError(
            f"No monolingual exemplars for {code!r} ({language.english_name}): the monolingual setting covers the "
            f"MIRACL languages ({', '.join(available_languages(MONOLINGUAL))}). Use the cross-lingual setting."
        )
    if num < 1:
        raise ConfigError(f"num_exemplars must be at least 1, got {num}.")
    rows = _load_file(code)
    if setting == CROSS_LINGUAL:
        sources = {row["id"]: row for row in _load_file(SOURCE_LANG)}
        passage_lang = SOURCE_LANG
    else:
        sources = {row["id"]: row for row in rows}
        passage_lang = code
    out = []
    for row in rows:
        source = sources.get(row["id"])
        if source is None or "text" not in source:
            if setting == MONOLINGUAL:
                continue
            raise ConfigError(f"{EXEMPLAR_DIR / (code + '.json')}: id {row['id']!r} has no English passage in en.json.")
        out.append(
            Exemplar(
                id=row["id"],
                title=source["title"],
                text=source["text"],
                summary=source["summary"],
                query=row["query"],
                bad_query=row["bad_query"],
                passage_lang=passage_lang,
                query_lang=code,
            )
        )
    if len(out) < num:
        monolingual = ", ".join(available_languages(MONOLINGUAL))
        hint = f" Monolingual exemplars exist for: {monolingual}." if setting == MONOLINGUAL else ""
        raise ConfigError(f"Only {len(out)} {setting} exemplar(s) for {code!r}, {num} requested (num_exemplars).{hint}")
    return tuple(out[:num])


def clear_cache() -> None:
    """Forget loaded exemplar files (after editing them in a running process, e.g. in tests)."""
    _load_file.cache_clear()
    load_exemplars.cache_clear()
