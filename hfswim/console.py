"""How much a command prints: ``--quiet`` (no progress bars) and ``--verbose`` (third-party logs too).

Every stage command takes both flags (see :func:`hfswim.options.stage_command`), which set this module's
state once; stages ask it instead of taking a ``progress`` argument each.

    >>> configure(quiet=True)
    >>> quiet(), verbose()
    (True, False)
    >>> configure()
"""

from __future__ import annotations

_state = {"quiet": False, "verbose": False}


def configure(quiet: bool = False, verbose: bool = False) -> None:
    """Set the output mode for this process (the CLI calls it once per command)."""
    _state["quiet"], _state["verbose"] = bool(quiet), bool(verbose)


def quiet() -> bool:
    """True under ``--quiet``: no progress bars, only each command's result."""
    return _state["quiet"]


def verbose() -> bool:
    """True under ``--verbose``: let third-party logs and warnings through."""
    return _state["verbose"]


def show_progress() -> bool:
    """Whether to draw progress bars."""
    return not _state["quiet"]
