"""A bounded memo for pure per-text answers that several filters ask for (a query's script, its
normalised form).

    >>> memo = Memo(size=4)
    >>> [memo.remember(k, k.upper()) for k in "abcde"][-1], list(memo)
    ('E', ['b', 'c', 'd', 'e'])
"""

from __future__ import annotations

import itertools
from typing import Any


class Memo(dict):
    """A dict bounded to ``size`` entries: when full, the oldest quarter goes (insertion order), so the
    answers for the batch at hand stay. Read it with ``get`` (the plain dict method, at C speed)."""

    def __init__(self, size: int = 1 << 16):
        super().__init__()
        self.size = size

    def remember(self, key: Any, value: Any) -> Any:
        """Store ``value`` for ``key`` and return it."""
        if len(self) >= self.size:
            for old in list(itertools.islice(self, max(self.size // 4, 1))):
                del self[old]
        self[key] = value
        return value
