"""Serve the Space's app from this checkout: ``hfswim space run`` and ``python spaces/app.py``.

Example (skipped as a test: it needs a built index)::

    >>> from hfswim.space.local import local_config  # doctest: +SKIP
    >>> config, index = local_config(index="my-index")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hfswim.space.app import SpaceConfig, SpaceIndex, build_app, model_display_name


def demo_index(folder: str | Path | None = None, model: str | Path | None = None) -> Path:
    """Index hfswim's packaged demo corpus (40 passages, 15 languages) with ``model`` (default: the default encoder)."""
    from hfswim.space.build import _build_demo_index, _default_model

    target = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="hfswim-space-")) / "index"
    _build_demo_index(target, model or _default_model())
    return target


def local_config(
    folder: str | Path | None = None, index: str | Path | None = None, model: str | None = None
) -> tuple[SpaceConfig, SpaceIndex]:
    """The app's config and loaded index: from a built Space ``folder``, else from ``index`` (default: the demo)."""
    from hfswim.space.build import _language_names

    if folder is not None:
        config = SpaceConfig.load(folder)
    else:
        index_dir = Path(index) if index is not None else demo_index(model=model)
        recorded = json.loads((index_dir / "index.json").read_text(encoding="utf-8"))["model"]
        config = SpaceConfig(index=str(index_dir), model=model or recorded, language_names=_language_names())
        config.model_name = model_display_name(config.model)
    if index is not None and folder is not None:
        config.index = str(index)
    if model is not None:
        config.model, config.model_name = model, model_display_name(model)
    return config, SpaceIndex.load(config.index, model=config.model)


def local_app(folder: str | Path | None = None, index: str | Path | None = None, model: str | None = None) -> Any:
    """The Gradio Blocks of :mod:`hfswim.space.app` for a built folder or an index."""
    config, loaded = local_config(folder, index, model)
    return build_app(loaded, config)
