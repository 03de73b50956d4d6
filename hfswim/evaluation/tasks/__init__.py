"""hfswim's retrieval tasks for mteb, and the parser of ``--tasks`` specs.

A spec is a comma-separated list of:

* an official mteb task name (``MIRACLRetrieval``, ``XQuADRetrieval``, ...): data from the Hub, online only;
* ``local:PATH``: a BEIR folder, a folder of them, or an MTEB-layout dataset (see :mod:`.local`);
* ``xor-retrieve`` or ``xor-retrieve:PATH``: XOR-Retrieve, Recall@5kt/2kt (see :mod:`.xor_retrieve`);
* ``xtreme-up`` or ``xtreme-up:PATH``: XTREME-UP cross-language retrieval, MRR@10 (see :mod:`.xtreme_up`).

Example::

    >>> [t.metadata.name for t in resolve_tasks("xor-retrieve:/data/xor,xtreme-up:/data/xtreme-up")]
    ['XORRetrieve', 'XtremeUpCrossLangRetrieval']
"""

from __future__ import annotations

import difflib
import functools
import os
from typing import Any

from hfswim.errors import ConfigError

from .local import discover_sources, load_beir_folder, load_mteb_layout, local_retrieval_task

HFSWIM_TASKS = {"xor-retrieve": "XORRetrieve", "xtreme-up": "XtremeUpCrossLangRetrieval"}
_MAIN_METRICS = {"XORRetrieve": "recall_at_5kt", "XtremeUpCrossLangRetrieval": "mrr_at_10"}

__all__ = [
    "discover_sources",
    "load_beir_folder",
    "load_mteb_layout",
    "local_retrieval_task",
    "resolve_tasks",
    "task_main_metric",
]


@functools.cache
def _official_names() -> dict[str, str]:
    import mteb

    return {t.metadata.name.lower(): t.metadata.name for t in mteb.get_tasks(exclude_superseded=False)}


def task_main_metric(name: str) -> str:
    """The main metric of a task by name (hfswim's, local ones, or mteb's)."""
    if name in _MAIN_METRICS:
        return _MAIN_METRICS[name]
    if name.startswith("LocalRetrieval-"):
        return "ndcg_at_10"
    try:
        import mteb

        return mteb.get_task(name).metadata.main_score
    except Exception:
        return "main_score"


def _iso3(languages: list[str] | None) -> list[str] | None:
    if not languages:
        return None
    from ._common import mteb_language

    return [code.split("-")[0] for code in (mteb_language(lang) for lang in languages) if code]


def _official_task(name: str, languages: list[str] | None) -> Any:
    import mteb

    names = _official_names()
    if name.lower() not in names:
        spec_names = [*HFSWIM_TASKS, "local:PATH"]
        close = difflib.get_close_matches(name.lower(), [*names, *spec_names], n=3, cutoff=0.6)
        close = [names.get(c, c) for c in close]
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ConfigError(
            f"unknown task {name!r}{hint} (use an mteb task name, local:PATH, xor-retrieve[:PATH] or xtreme-up[:PATH])"
        )
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        raise ConfigError(
            f"task {names[name.lower()]} downloads its data from the Hugging Face Hub, but HF_HUB_OFFLINE=1; "
            "run online, or evaluate a local copy with local:PATH"
        )
    task = mteb.get_task(names[name.lower()])
    iso = _iso3(languages)
    return task.filter_languages(iso) if iso else task


def resolve_tasks(
    spec: str | list[str],
    languages: list[str] | None = None,
    split: str | None = None,
    ignore_identical_ids: bool = True,
) -> list[Any]:
    """Turn ``--tasks`` into mteb task objects; every bad entry raises one :class:`ConfigError`.

    ``ignore_identical_ids`` applies to ``local:`` tasks (see :func:`.local.local_retrieval_task`).
    """
    from .xor_retrieve import XORRetrieve
    from .xtreme_up import XtremeUpRetrieval

    items = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec) if s.strip()]
    if not items:
        raise ConfigError("--tasks is empty; name at least one task")
    tasks = []
    iso = _iso3(languages)
    for item in items:
        kind, _, path = item.partition(":")
        kind_lower = kind.lower()
        if kind_lower == "local":
            if not path:
                raise ConfigError("local: needs a path, e.g. local:./data/beir/de")
            if path == "xquad-demo":  # the packaged held-out set of `make demo`
                from hfswim.corpus import xquad_demo_path

                path = str(xquad_demo_path() / "eval")
            tasks.append(
                local_retrieval_task(
                    path, split=split or "test", subsets=languages, ignore_identical_ids=ignore_identical_ids
                )
            )
        elif kind_lower == "xor-retrieve":
            task = XORRetrieve(data_path=path or None)
            tasks.append(task.filter_languages(iso) if iso else task)
        elif kind_lower == "xtreme-up":
            task = XtremeUpRetrieval(data_path=path or None, split=split or "test")
            tasks.append(task.filter_languages(iso) if iso else task)
        else:
            tasks.append(_official_task(item, languages))
    return tasks
