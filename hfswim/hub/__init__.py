"""Publish hfswim records as a Hugging Face Hub dataset: build a local repo folder, render its card, push it.

* :func:`build_dataset` (:mod:`hfswim.hub.build`) — filtered (or generated) records -> a local dataset repo
  with one Parquet config per language (``data/<config>/train-*.parquet``), an optional MTEB-layout
  held-out split and a dataset card; ``datasets.load_dataset(folder, "sw")`` works on it as on the Hub.
* :func:`push_dataset` (:mod:`hfswim.hub.push`) — re-render the card for the repo id and push the folder.
* :func:`push_folder` (:mod:`hfswim.hub.upload`) — one resumable ``HfApi.upload_folder`` call that sends
  only changed files (also used for models by ``hfswim push-model``).

Names are imported lazily, so ``import hfswim.hub.cli`` (and ``hfswim --help``) stays light.

Example::

    >>> from hfswim.hub.layout import config_name
    >>> config_name("sw", "cross-lingual"), config_name("sw", "monolingual")
    ('sw', 'sw-mono')
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "BuildConfig": "hfswim.hub.config",
    "PushConfig": "hfswim.hub.config",
    "BuildResult": "hfswim.hub.build",
    "ConfigInfo": "hfswim.hub.build",
    "build_dataset": "hfswim.hub.build",
    "push_dataset": "hfswim.hub.push",
    "PushResult": "hfswim.hub.upload",
    "push_folder": "hfswim.hub.upload",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'hfswim.hub' has no attribute {name!r}")
