"""The ``logprob`` filter (InPars): keep queries the generator was most confident about.

Score: ``query_logprob``, the mean token log-probability of the query, recorded by ``hfswim generate``
when the endpoint returned log-probs (TGI ``details`` or OpenAI ``logprobs``). Keep rows above
``threshold`` and/or the ``top_k`` (or ``top_fraction``) best per language.

Rows without a log-prob are rejected with code ``no_logprob`` by default (``missing="reject"``): a
filter asked to rank by confidence should not silently wave through rows it cannot rank. Use
``missing="keep"`` to pass them (they then take no part in the top-k).
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from hfswim.filters.base import Rejection, Row
from hfswim.filters.settings import Fraction, PositiveInt
from hfswim.filters.topk import TopKFilter
from hfswim.records import QUERY_LANGUAGE


class LogprobFilter(TopKFilter):
    """Keep the queries with the highest mean token log-prob (InPars). See the module docstring.

    Args:
        threshold: reject queries whose mean token log-prob is below this (<= 0).
        top_k: keep the k best queries of each language.
        top_fraction: keep this share of each language's queries, best first.
        missing: rows without a log-prob: "reject" them or "keep" them (outside the ranking).
    """

    name: ClassVar[str] = "logprob"
    score_column: ClassVar[str] = "query_logprob"
    columns: ClassVar[frozenset[str] | None] = frozenset({"record_id", QUERY_LANGUAGE, "query_logprob"})

    def __init__(
        self,
        threshold: Annotated[float, Field(le=0.0)] | None = None,  # a mean log-prob is <= 0
        top_k: PositiveInt | None = None,
        top_fraction: Fraction | None = None,
        missing: Literal["reject", "keep"] = "reject",
    ):
        self.threshold, self.missing = threshold, missing
        super().__init__(top_k, top_fraction)

    def judge(self, rows: list[Row]) -> list[Rejection | None]:
        out: list[Rejection | None] = []
        for row in rows:
            lp = row.get("query_logprob")
            if lp is None or lp != lp:  # None or NaN
                out.append(
                    None
                    if self.missing == "keep"
                    else self.reject(
                        "no_logprob", "the endpoint returned no log-probs for this query (missing: keep passes it)"
                    )
                )
            elif self.threshold is not None and lp < self.threshold:
                out.append(self.reject("below_threshold", f"query_logprob {lp:.4f} < {self.threshold}"))
            else:
                out.append(None)
        return out
