"""One progress-bar style for every long stage: tqdm on stderr, with rate and ETA, shown on a terminal only.

Bars appear after a second (a stage that finishes sooner prints none) and never on a redirected stderr (a log
file stays free of carriage-return frames). ``HFSWIM_PROGRESS=0`` turns them off, ``=1`` forces them on.

    >>> with progress_bar("filter", total=3, unit="row") as bar:
    ...     bar.update(3)
"""

from __future__ import annotations

import os
import sys
from typing import Any

ENV = "HFSWIM_PROGRESS"


def progress_enabled() -> bool:
    """Whether bars are shown: ``HFSWIM_PROGRESS`` if set, else whether stderr is a terminal."""
    value = os.environ.get(ENV, "").strip().lower()
    if value in ("0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    return sys.stderr.isatty()


def progress_bar(desc: str, total: int | None = None, unit: str = "it", initial: int = 0, **kwargs: Any) -> Any:
    """A tqdm bar (a context manager) in hfswim's style; disabled unless :func:`progress_enabled`."""
    from tqdm.auto import tqdm

    settings = {
        "unit_scale": False,  # "8.00/8.00" for small counts otherwise
        "dynamic_ncols": True,
        "delay": 1.0,
        "mininterval": 0.5,
        "disable": not progress_enabled(),
        "file": sys.stderr,
    }
    return tqdm(total=total, initial=initial, desc=desc, unit=unit, **{**settings, **kwargs})


def parquet_rows(path: str | os.PathLike) -> int | None:
    """Rows in a Parquet file or folder, from the footers only (None when it cannot be told cheaply)."""
    try:
        from hfswim.io import PARQUET_SUFFIXES, open_parquet, resolve_files

        return sum(open_parquet(f).metadata.num_rows for f in resolve_files(path, PARQUET_SUFFIXES))
    except Exception:
        return None
