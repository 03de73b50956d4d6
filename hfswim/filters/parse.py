"""The ``parse`` filter: drop rows whose LLM output could not be parsed into a query.

``hfswim generate`` records every row, including failed ones, with ``parse_status`` saying why
(``"ok"`` when a summary and query were found). This filter runs first by default so the others
only see real queries.
"""

from __future__ import annotations

from typing import ClassVar

from hfswim.filters.base import Rejection, Row, RowFilter


class ParseFilter(RowFilter):
    """Reject rows with ``parse_status != "ok"`` (code = the parse status) or an empty query."""

    name: ClassVar[str] = "parse"
    columns: ClassVar[frozenset[str] | None] = frozenset({"parse_status", "query"})

    def judge(self, rows: list[Row]) -> list[Rejection | None]:
        out: list[Rejection | None] = []
        for row in rows:
            status = row.get("parse_status") or "missing_parse_status"
            if status != "ok":
                out.append(self.reject(str(status), "the generation output could not be parsed"))
            elif not (row.get("query") or "").strip():
                out.append(self.reject("empty_query", "parse_status is ok but the query is empty"))
            else:
                out.append(None)
        return out
