"""The ``cross-encoder`` filter (InPars-v2): rerank (query, passage) pairs, keep the best per language.

Scores every surviving pair with a sentence-transformers ``CrossEncoder`` (for multilingual data,
e.g. a multilingual MS MARCO reranker such as ``cross-encoder/mmarco-mMiniLMv2-L12-H384-v1``,
downloaded to a local folder first) and keeps rows with ``ce_score >= threshold`` and/or the
``top_k`` (``top_fraction``) best of each language. The score is written to ``ce_score``.

Pairs are scored in batches of ``batch_size`` as the rows stream past (row phase); the top-k selection
remembers only ``(record_id, score)`` per row.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from hfswim.errors import InputError
from hfswim.filters.base import Rejection, Row
from hfswim.filters.settings import Fraction, PositiveInt, existing_path
from hfswim.filters.topk import TopKFilter
from hfswim.progress import progress_enabled
from hfswim.records import QUERY_LANGUAGE


class CrossEncoderFilter(TopKFilter):
    """Rerank (query, passage) pairs with a CrossEncoder, keep the best per language (InPars-v2).

    Args:
        model: a local sentence-transformers CrossEncoder folder.
        threshold: reject pairs scoring below this.
        top_k: keep the k best pairs of each language.
        top_fraction: keep this share of each language's pairs, best first.
        batch_size: pairs scored per model call.
        max_length: tokens per (query, passage) pair; longer pairs are truncated.
        device: the torch device (default: the best available).
    """

    name: ClassVar[str] = "cross-encoder"
    score_column: ClassVar[str] = "ce_score"
    columns: ClassVar[frozenset[str] | None] = frozenset({"record_id", "query", QUERY_LANGUAGE, "text"})

    def __init__(
        self,
        model: Annotated[str, existing_path("cross-encoder model")],
        threshold: float | None = None,
        top_k: PositiveInt | None = None,
        top_fraction: Fraction | None = None,
        batch_size: PositiveInt = 32,
        max_length: Annotated[int, Field(ge=8)] | None = 512,
        device: str | None = None,
    ):
        self.model_path, self.threshold = str(model), threshold
        self.batch_size, self.max_length, self.device = batch_size, max_length, device
        super().__init__(top_k, top_fraction)
        self._model = None

    @property
    def model(self):
        if self._model is None:
            from sentence_transformers import CrossEncoder

            try:
                self._model = CrossEncoder(
                    self.model_path, device=self.device or "cpu", max_length=self.max_length, local_files_only=True
                )
            except (OSError, ValueError) as err:  # not a model folder, or an unknown architecture
                raise InputError(
                    f"{self.model_path}: cannot load the cross-encoder ({type(err).__name__}: {err})."
                ) from None
        return self._model

    def score(self, pairs: list[tuple[str, str]]) -> list[float]:
        if not pairs:
            return []
        scores = self.model.predict(pairs, batch_size=self.batch_size, show_progress_bar=progress_enabled())
        return [float(s) for s in scores]

    def judge(self, rows: list[Row]) -> list[Rejection | None]:
        scores = self.score([(row.get("query") or "", row.get("text") or "") for row in rows])
        out: list[Rejection | None] = []
        for row, score in zip(rows, scores, strict=True):
            row["ce_score"] = score
            if self.threshold is not None and score < self.threshold:
                out.append(self.reject("below_threshold", f"ce_score {score:.4f} < {self.threshold}"))
            else:
                out.append(None)
        return out
