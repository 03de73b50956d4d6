"""Filters for synthetic queries, composable, with every reject counted and explained.

``run_filters(input, output_dir, config)`` reads ``hfswim generate`` output and writes
``kept.parquet``, ``rejected.parquet`` and ``quality_report.{json,md}``. The filters, one module each:

========================  ==========================================================================
``parse``                 output that could not be parsed into a query (:mod:`.parse`)
``langid``                query not in its target language (:mod:`.langid`, :mod:`hfswim.text.langid`)
``dedup``                 exact and MinHash/LSH near-duplicate queries per language (:mod:`.dedup`)
``heuristics``            length per script, copies of the passage/summary, question form (:mod:`.heuristics`)
``exemplar-copy``         queries that copy the prompt's few-shot exemplars (:mod:`.exemplar_copy`)
``repetition``            degenerate repetition: a word or phrase looping (:mod:`.repetition`)
``logprob``               InPars: top-k / threshold on the query's mean token log-prob (:mod:`.logprob`)
``cross-encoder``         InPars-v2: top-k / threshold on a CrossEncoder score (:mod:`.cross_encoder`)
``roundtrip``             Promptagator: the source passage must be in a retriever's top-k (:mod:`.roundtrip`)
``safety``                word lists per language + a classifier hook (:mod:`.safety`)
========================  ==========================================================================

Example::

    >>> from hfswim.filters import FilterConfig
    >>> [f.name for f in FilterConfig().filters]
    ['parse', 'langid', 'dedup', 'heuristics', 'exemplar-copy', 'repetition', 'safety']
"""

from hfswim.filters.base import Filter, FilterResult, Rejection, RowFilter, SelectFilter
from hfswim.filters.config import DEFAULT_FILTERS, FILTER_NAMES, FilterConfig, build_filters
from hfswim.filters.pipeline import filter_rows, run_filters
from hfswim.filters.report import QualityReport

__all__ = [
    "DEFAULT_FILTERS",
    "FILTER_NAMES",
    "Filter",
    "FilterConfig",
    "FilterResult",
    "QualityReport",
    "Rejection",
    "RowFilter",
    "SelectFilter",
    "build_filters",
    "filter_rows",
    "run_filters",
]
