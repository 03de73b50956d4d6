"""How much a command prints: ``--quiet`` (no progress bars) and ``--verbose`` (third-party noise too).

Every stage command takes both flags (see :func:`hfswim.options.stage_command`), which call :func:`configure`
once, before the stage imports its libraries; stages ask :func:`show_progress` instead of taking a ``progress``
argument each.

    >>> configure(quiet=True, environ={})
    {'TQDM_DISABLE': '1', 'HF_DATASETS_DISABLE_PROGRESS_BARS': '1', 'HF_HUB_DISABLE_PROGRESS_BARS': '1', 'TRANSFORMERS_VERBOSITY': 'error'}
    >>> quiet(), verbose(), show_progress()
    (True, False, False)
    >>> _ = configure(environ={})
"""

from __future__ import annotations

import os
import warnings
from collections.abc import MutableMapping

_state = {"quiet": False, "verbose": False, "configured": False}
# Progress bars of the libraries under hfswim (tqdm, datasets, huggingface_hub), read when they are imported.
_NO_PROGRESS = {"TQDM_DISABLE": "1", "HF_DATASETS_DISABLE_PROGRESS_BARS": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1"}


def configure(
    quiet: bool = False, verbose: bool = False, environ: MutableMapping[str, str] | None = None
) -> dict[str, str]:
    """Set the output mode of this process; returns the environment variables it set (a user's own win).

    Without ``verbose``: third-party FutureWarnings and DeprecationWarnings (mteb, transformers, datasets: nothing
    a user can act on) are not shown, and transformers logs errors only. With ``quiet``: no progress bars either.
    """
    _state["quiet"], _state["verbose"], _state["configured"] = bool(quiet), bool(verbose), True
    environ = os.environ if environ is None else environ
    wanted = dict(_NO_PROGRESS) if quiet else {}
    if not verbose:
        wanted["TRANSFORMERS_VERBOSITY"] = "error"
        for category in (FutureWarning, DeprecationWarning):
            warnings.filterwarnings("ignore", category=category, module=r"(?!hfswim)")
    set_here = {key: value for key, value in wanted.items() if key not in environ}
    environ.update(set_here)
    return set_here


def quiet() -> bool:
    """True under ``--quiet``: no progress bars, only each command's result."""
    return _state["quiet"]


def verbose() -> bool:
    """True under ``--verbose``: let third-party logs and warnings through."""
    return _state["verbose"]


def hides_noise() -> bool:
    """True in a command run without ``--verbose`` (a command called :func:`configure`); False in library use."""
    return _state["configured"] and not _state["verbose"]


def show_progress() -> bool:
    """Whether to draw progress bars."""
    return not _state["quiet"]
