"""Fewer garbage-collector passes during a hot loop, restored afterwards.

A generation run or a filter pass allocates a few hundred short-lived objects per completion or row. With
CPython's default thresholds (a young-generation pass every 700 net allocations) the cyclic collector ran
~250 times and walked every live object of the process (~110k: pyarrow, pandas, aiohttp...) twice per
3,600-completion run, ~50 us of client CPU per completion, 10% of ``hfswim generate``'s client cost
(``benchmarks/client_overhead.py``). :func:`fewer_gc_passes` moves the objects that exist before the loop
out of the collector's way (``gc.freeze``: they are long-lived: modules, models, the corpus reader) and
raises the young-generation threshold, so short-lived objects are freed by reference counting before a
pass ever looks at them. Reference cycles are still collected, only in larger batches; nothing else changes.

Example::

    >>> import gc
    >>> before = gc.get_threshold()
    >>> with fewer_gc_passes():
    ...     gc.get_threshold()[0] >= 10_000
    True
    >>> gc.get_threshold() == before
    True
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

YOUNG_THRESHOLD = 10_000  # net allocations between young-generation passes (CPython's default: 700)


@contextlib.contextmanager
def fewer_gc_passes(young_threshold: int = YOUNG_THRESHOLD) -> Iterator[None]:
    """Raise the collector's young-generation threshold and freeze the objects alive now, for the ``with`` body.

    Leaves the collector alone when the caller disabled it, and leaves freezing alone when the caller froze
    objects itself (a forking server does, for copy-on-write): unfreezing on exit would undo its freeze.
    Thresholds are restored on exit; so is the frozen set (its objects go back to the oldest generation).
    """
    if not gc.isenabled():
        yield
        return
    old = gc.get_threshold()
    freeze = gc.get_freeze_count() == 0
    if freeze:
        gc.freeze()
    gc.set_threshold(max(old[0], young_threshold), *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)
        if freeze:
            gc.unfreeze()
