"""The filter protocol: what every hfswim filter is, and the two phases they run in.

A filter sees generated records as plain row dicts (``GENERATED_SCHEMA`` columns, plus the score
columns of ``FILTERED_SCHEMA`` that earlier filters filled in). It runs in up to two phases:

* **row phase** — :meth:`Filter.apply` judges each row on its own (plus fixed models or a corpus
  index prepared once), may write scores into the row (only the score columns of ``FILTERED_SCHEMA``:
  ``run_filters`` copies the generated columns from the input, untouched), and returns kept rows and
  rejections.
  Row decisions do not depend on other rows, so row filters commute.
* **select phase** — filters that compare rows with each other (dedup, top-k per language) implement
  :class:`SelectFilter`: they :meth:`~SelectFilter.observe` compact state (ids + scores, never whole
  records) of the rows that survived the *whole* row phase, then :meth:`~SelectFilter.select` the
  rows to drop. Select filters run in a fixed canonical order (:data:`SELECT_ORDER`: dedup before
  top-k), whatever order they were configured in.

Together this makes the kept set independent of the order the filters are listed in; only the
attribution of a row rejected by several row filters follows the listed order (first one wins).

Example::

    >>> from hfswim.filters.parse import ParseFilter
    >>> result = ParseFilter().apply([{"record_id": "a", "query": "Wo?", "parse_status": "ok"},
    ...                               {"record_id": "b", "query": None, "parse_status": "no_query"}])
    >>> [r["record_id"] for r in result.kept], [(r["record_id"], j.code) for r, j in result.rejected]
    (['a'], [('b', 'no_query')])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

Row = dict[str, Any]

# Canonical execution order of the select phase: deduplicate first, so that top-k ranks unique queries.
SELECT_ORDER: tuple[str, ...] = ("dedup", "best-of", "logprob", "cross-encoder")


@dataclass(frozen=True)
class Rejection:
    """Why a row was dropped.

    Attributes:
        filter: the filter's name, e.g. ``"langid"`` (goes to ``reject_filter``).
        code: a short machine-readable reason, e.g. ``"wrong_language"`` (counted in the report).
        detail: the human explanation with the numbers, e.g. ``"detected de (0.99), expected sw"``.
    """

    filter: str
    code: str
    detail: str = ""

    @property
    def reason(self) -> str:
        """What goes into the ``reject_reason`` column: ``"<code>: <detail>"``."""
        return f"{self.code}: {self.detail}" if self.detail else self.code


@dataclass
class FilterResult:
    """The outcome of one filter on one batch: kept rows and (row, rejection) pairs."""

    kept: list[Row] = field(default_factory=list)
    rejected: list[tuple[Row, Rejection]] = field(default_factory=list)


@runtime_checkable
class Filter(Protocol):
    """Anything with a ``name`` and a row-phase ``apply``."""

    name: str

    def apply(self, rows: list[Row]) -> FilterResult: ...


class RowFilter:
    """Base class for filters that judge each row on its own.

    Subclasses implement :meth:`judge`, returning one ``Rejection | None`` per row (and may write
    score columns into the rows); :meth:`apply` splits the batch accordingly.

    A filter is one class whose constructor is its config (as datatrove's filters): give it a ``name``,
    typed keyword parameters with defaults (constraints as in :mod:`hfswim.filters.settings`), and list
    the class in :mod:`hfswim.filters.registry`; ``filters.yaml``, ``--filters`` and the config
    validation then know it.

    Example::

        >>> class ShortQuery(RowFilter):
        ...     name = "short"
        ...     def __init__(self, max_chars: int = 10):
        ...         self.max_chars = max_chars
        ...     def judge(self, rows):
        ...         return [None if len(r["query"]) <= self.max_chars else self.reject("too_long") for r in rows]
        >>> [r["query"] for r in ShortQuery(5).apply([{"query": "Wapi?"}, {"query": "Nani yuko?"}]).kept]
        ['Wapi?']
    """

    name: ClassVar[str] = "row"
    # The input columns judge() reads (None: all of them). Streaming runs convert only the columns some
    # filter reads into row dicts; the output tables still carry every column of the input.
    columns: ClassVar[frozenset[str] | None] = None
    # Settings whose type or default in a config file differs from the constructor's (a path where Python
    # also takes a callable; ``{}`` where Python takes None): name -> (type, default or pydantic Field).
    # See :func:`hfswim.filters.registry.settings_model`.
    config_types: ClassVar[dict[str, tuple[Any, Any]]] = {}

    def judge(self, rows: list[Row]) -> list[Rejection | None]:
        raise NotImplementedError

    def apply(self, rows: list[Row]) -> FilterResult:
        result = FilterResult()
        if not rows:
            return result
        for row, rejection in zip(rows, self.judge(rows), strict=True):
            if rejection is None:
                result.kept.append(row)
            else:
                result.rejected.append((row, rejection))
        return result

    def prepare(self, source: Any) -> None:
        """Hook for filters that need a pass over the input before the row phase (e.g. a corpus index)."""

    def reject(self, code: str, detail: str = "") -> Rejection:
        return Rejection(self.name, code, detail)


class SelectFilter(RowFilter):
    """Base class for filters that decide by comparing rows: observe compact state, then select.

    The row phase (:meth:`judge`) keeps every row unless a subclass adds a per-row rule (e.g. a
    log-prob threshold). The survivors of the whole row phase are observed in two steps, so that the
    costly one can run in worker processes: :meth:`summarize` (pure: rows -> a small picklable
    summary) and :meth:`merge` (adds a summary to the filter's state).
    """

    def judge(self, rows: list[Row]) -> list[Rejection | None]:
        return [None] * len(rows)

    def summarize(self, rows: list[Row]) -> Any:
        """Compact, picklable state of these surviving rows (ids, scores, signatures — never records)."""
        raise NotImplementedError

    def merge(self, summary: Any) -> None:
        """Add a :meth:`summarize` result to the observed state."""
        raise NotImplementedError

    def observe(self, rows: list[Row]) -> None:
        """Summarize and merge in one step (in-process runs)."""
        self.merge(self.summarize(rows))

    def select(self, excluded: set[str], map: Callable = map) -> dict[str, Rejection]:
        """Rows (by ``record_id``) to drop; rows in ``excluded`` are already dropped and must be ignored.

        ``map`` (like the builtin, or a process pool's ``imap_unordered``) may run independent parts of
        the selection, e.g. one language each, in parallel; its functions and arguments are picklable.
        """
        raise NotImplementedError

    def reset(self) -> None:
        """Forget observed state (called before each run)."""

    def warm_up(self) -> None:
        """Load what :meth:`select` needs (parallel runs call this while the workers judge rows)."""


def order_key(row: Row) -> tuple:
    """Sort key for "best first" among rows: higher ``ce_score``, then higher ``query_logprob``,
    then smaller ``record_id`` (a missing score counts as the lowest), so ties break deterministically."""
    return order_key_of(row["record_id"], row.get("ce_score"), row.get("query_logprob"))


def order_key_of(record_id: str, ce_score: float | None, query_logprob: float | None) -> tuple:
    """:func:`order_key` from the three values (select filters keep these, not whole rows)."""
    ce, lp = ce_score, query_logprob
    # A missing or NaN score ranks lowest (NaN would make the order depend on the input order).
    return (
        -(ce if ce is not None and ce == ce else float("-inf")),
        -(lp if lp is not None and lp == lp else float("-inf")),
        record_id,
    )
