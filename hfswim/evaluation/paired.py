"""Paired comparison of two retrievers on the same queries: the mean delta and a bootstrap confidence interval.

A before/after table is only worth its deltas when each comes with how sure it is. Both systems are scored on the
same queries, so the unit of resampling is the query: draw the query set with replacement ``n`` times, take the mean
of the per-query differences each time, and report the 2.5th and 97.5th percentiles (a 95% percentile interval,
Efron & Tibshirani; the "paired bootstrap" of Koehn 2004 / Sakai 2006 for IR). An interval that excludes 0 is a
delta the query sample supports.

Example::

    >>> before = {"q1": 0.0, "q2": 1.0, "q3": 0.5, "q4": 0.5}
    >>> after = {"q1": 1.0, "q2": 1.0, "q3": 0.5, "q4": 1.0}
    >>> d = paired_bootstrap(before, after, n_resamples=2000, seed=0)
    >>> round(d.delta, 3), d.low >= 0.0, d.n
    (0.375, True, 4)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class PairedDelta:
    """``after - before`` averaged over ``n`` shared queries, with a ``level`` bootstrap interval."""

    delta: float
    low: float
    high: float
    n: int
    level: float = 0.95

    @property
    def significant(self) -> bool:
        """True when the interval excludes zero."""
        return self.low > 0 or self.high < 0

    def format(self, scale: float = 100.0, digits: int = 1) -> str:
        """``+3.1 [+1.2, +5.0]`` (points x ``scale``)."""
        f = f"{{:+.{digits}f}}"
        return f"{f.format(scale * self.delta)} [{f.format(scale * self.low)}, {f.format(scale * self.high)}]"


def paired_bootstrap(
    before: Mapping[str, float],
    after: Mapping[str, float],
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> PairedDelta:
    """Mean of ``after[q] - before[q]`` over the queries both score, with a paired percentile bootstrap interval.

    Args:
        before, after: per-query scores (e.g. from :func:`per_query_ndcg`); only shared query ids count.
        n_resamples: bootstrap draws of the query set (1000 gives the interval to about +-0.2 points at n=600).
        level: the interval's coverage.
        seed: the resampling seed, so a report is reproducible.
    """
    import numpy as np

    shared = sorted(set(before) & set(after))
    if not shared:
        raise ValueError("paired_bootstrap: the two runs share no query")
    diffs = np.array([after[q] - before[q] for q in shared], dtype=np.float64)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(diffs), size=(n_resamples, len(diffs)))
    means = diffs[idx].mean(axis=1)
    alpha = (1.0 - level) / 2
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return PairedDelta(float(diffs.mean()), float(low), float(high), len(diffs), level)


def per_query_ndcg(qrels: Mapping[str, Mapping[str, int]], run: Mapping[str, Mapping[str, float]], k: int = 10):
    """nDCG@k of every query of ``qrels`` (0 for a query the run misses), the input of :func:`paired_bootstrap`.

    >>> per_query_ndcg({"q1": {"d1": 1}}, {"q1": {"d2": 0.9, "d1": 0.8}})["q1"] > 0.63
    True
    """
    from hfswim.evaluation.metrics import _pytrec_scores, _top_k

    return _pytrec_scores(qrels, _top_k(run, k), f"ndcg_cut.{k}")
