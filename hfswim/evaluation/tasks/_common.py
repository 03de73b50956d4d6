"""Helpers the hfswim retrieval tasks share: language codes for mteb, and building mteb's split data."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

UNKNOWN_LANGUAGE = "und-Zyyy"


@functools.cache
def _mteb_iso_tables() -> tuple[dict[str, str], dict[str, str]]:
    from importlib.resources import files

    folder = files("mteb.languages")
    one_to_three = json.loads((folder / "iso_639_1_to_3.json").read_text(encoding="utf-8"))
    default_script = json.loads((folder / "iso_639_3_to_default_script.json").read_text(encoding="utf-8"))
    return one_to_three, default_script


def mteb_language(code: str) -> str | None:
    """mteb's ``<iso639-3>-<Script>`` for a language code (``"de"`` -> ``"deu-Latn"``), or ``None`` if unknown.

    SWIM-IR's own registry wins (it knows the script SWIM-IR's text uses); other codes go
    through mteb's ISO tables, so XQuAD's Greek or Romanian work too.

    Example::

        >>> mteb_language("sw"), mteb_language("el"), mteb_language("not-a-language")
        ('swa-Latn', 'ell-Grek', None)
    """
    from hfswim.errors import ConfigError
    from hfswim.languages import get_language

    code = code.strip()
    try:
        lang = get_language(code)
        return f"{lang.iso639_3}-{lang.script}"
    except ConfigError:
        pass
    one_to_three, default_script = _mteb_iso_tables()
    base = code.lower().replace("_", "-").split("-")[0]
    iso3 = one_to_three.get(base, base if base in default_script else None)
    if iso3 is None or iso3 not in default_script:
        return None
    return f"{iso3}-{default_script[iso3]}"


def subset_languages(subset: str) -> list[str]:
    """mteb eval_langs for a subset name: ``"de"`` -> ``["deu-Latn"]``, ``"de-en"`` -> ``["deu-Latn", "eng-Latn"]``."""
    whole = mteb_language(subset)
    if whole is not None and "-" not in subset:
        return [whole]
    parts = [mteb_language(p) for p in subset.replace("_", "-").split("-")]
    found = [p for p in parts if p]
    if found and len(found) == len(parts):
        return found
    return [whole] if whole else [UNKNOWN_LANGUAGE]


def split_data(
    corpus: Sequence[Mapping[str, Any]],
    queries: Sequence[Mapping[str, Any]],
    qrels: Mapping[str, Mapping[str, int]],
) -> dict[str, Any]:
    """mteb's ``RetrievalSplitData`` from plain rows (corpus: id/title/text, queries: id/text)."""
    from datasets import Dataset

    corpus_ds = Dataset.from_dict(
        {
            "id": [str(r["id"]) for r in corpus],
            "title": [r.get("title") or "" for r in corpus],
            "text": [r.get("text") or "" for r in corpus],
        }
    )
    queries_ds = Dataset.from_dict({"id": [str(r["id"]) for r in queries], "text": [r["text"] for r in queries]})
    return {
        "corpus": corpus_ds,
        "queries": queries_ds,
        "relevant_docs": {q: dict(d) for q, d in qrels.items()},
        "top_ranked": None,
    }


def cache_dir(name: str) -> Path:
    """``$HFSWIM_CACHE/<name>`` (default ``~/.cache/hfswim/<name>``), where public eval data is downloaded."""
    import os

    root = Path(os.environ.get("HFSWIM_CACHE", Path.home() / ".cache" / "hfswim"))
    return root / name


def download(url: str, dest: Path) -> Path:
    """Download ``url`` to ``dest`` once (through a temporary file), or fail with one clear error offline."""
    import os

    import httpx

    from hfswim.errors import InputError

    if dest.is_file():
        return dest
    if os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HFSWIM_OFFLINE") == "1":
        raise InputError(f"{dest} is not downloaded and the environment is offline; fetch {url} or pass a local path")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    try:
        with httpx.stream("GET", url, follow_redirects=True, timeout=60) as response:
            response.raise_for_status()
            with open(tmp, "wb") as fh:
                for chunk in response.iter_bytes(1 << 20):
                    fh.write(chunk)
    except httpx.HTTPError as err:
        raise InputError(f"could not download {url}: {err}") from None
    tmp.replace(dest)
    return dest
