"""The ``heuristics`` filter: cheap rules that catch the common failures of small generators.

Rules (each with its own reject code), all on normalised tokens (:mod:`hfswim.text.normalize`) —
words, or characters for CJK/Thai, so limits mean the same in every script:

* ``too_short`` / ``too_long`` — query length outside ``[min_words, max_words]`` (spaced scripts) or
  ``[min_chars, max_chars]`` (unspaced scripts: zh, ja, th).
* ``copied_from_passage`` — as InPars drops queries copied from the document: the query shares a run
  of ``copy_ngram`` or more consecutive tokens with the passage, or a run covering ``copy_ratio`` of
  the query. For cross-lingual rows the passage is English, so this mostly catches untranslated copies.
  Vietnamese writes every syllable apart (a word is 1-3 space-separated syllables), so its run counts
  :data:`TOKENS_PER_WORD` tokens per word: 12 syllables, not 8, is the long run there.
* ``repeats_summary`` — a run covering ``summary_ratio`` of the query is copied from the summary
  (SAP's summary is a means, not the query).
* ``summary_copies_passage`` — the summary reproduces ``summary_copy_ratio`` of the passage verbatim
  (Gemma 3 270M often "summarises" by copying the passage; such rows did not follow the prompt).
* ``not_a_question`` (off unless ``require_question``) — the query does not end with a question mark
  of any script.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import ClassVar

from hfswim.filters.base import Rejection, Row, RowFilter
from hfswim.filters.settings import NonNegativeInt, PositiveInt, Probability
from hfswim.languages import LANGUAGES, UNSPACED_SCRIPTS
from hfswim.memo import Memo
from hfswim.records import PASSAGE_LANGUAGE, QUERY_LANGUAGE
from hfswim.text.langid import scripts_of
from hfswim.text.normalize import TokenText, normalize_many

_SCRIPTS_OF_LANGUAGES = frozenset(lang.script for lang in LANGUAGES.values())
# Space-separated tokens per word where a word is written in several (Vietnamese: one syllable per token).
TOKENS_PER_WORD: dict[str, float] = {"vi": 1.5}
QUESTION_MARKS = ("?", "？", "؟", ";", "՞", "፧", "꛷", "⸮", ";")  # Latin/CJK/Arabic/Greek/Armenian/Ethiopic/...


class HeuristicsFilter(RowFilter):
    """Length, copy and question-form rules. See the module docstring for the reject codes.

    Inputs:
        Rows with ``query`` (and, for the copy rules, ``text``, ``summary``, ``passage_id`` and
        ``passage_language``). Nothing to load: it runs at ~35k queries/s on one core.

    Relations:
        A row filter; its settings are its constructor's parameters (a ``heuristics:`` entry of a filter
        config is validated against them, :func:`~hfswim.filters.registry.settings_model`). The text
        rules come from :mod:`hfswim.text.normalize`.

    Example::

        >>> f = HeuristicsFilter(min_words=3)
        >>> [j and j.code for j in f.judge([{"query": "Wapi?"}, {"query": "Mto Nile unaanzia wapi?"}])]
        ['too_short', None]

    Args:
        min_words: fewest words in a query of a spaced script.
        max_words: most words in a query of a spaced script.
        min_chars: fewest characters in a query of an unspaced script (zh, ja, th).
        max_chars: most characters in a query of an unspaced script.
        copy_ngram: a run of this many query words (3x as many CJK characters) copied from the passage rejects.
        copy_ratio: a run copied from the passage covering this share of a query of copy_min_tokens or more rejects.
        copy_min_tokens: queries shorter than this are judged by copy_ngram alone.
        summary_ratio: a run copied from the summary covering this share of the query rejects.
        summary_copy_ratio: a summary repeating this share of the passage verbatim rejects its rows.
        require_question: reject queries that do not end with a question mark of any script.
        passage_cache_size: passages whose tokens stay cached (Python only).
    """

    name: ClassVar[str] = "heuristics"
    columns: ClassVar[frozenset[str] | None] = frozenset({"query", "passage_id", PASSAGE_LANGUAGE, "summary", "text"})

    def __init__(
        self,
        min_words: NonNegativeInt = 3,
        max_words: PositiveInt = 40,
        min_chars: NonNegativeInt = 4,
        max_chars: PositiveInt = 80,
        copy_ngram: PositiveInt = 8,
        copy_ratio: Probability = 0.9,
        copy_min_tokens: PositiveInt = 5,
        summary_ratio: Probability = 0.8,
        summary_copy_ratio: Probability = 0.8,
        require_question: bool = False,
        *,
        passage_cache_size: int = 16384,
    ):
        self.min_words, self.max_words = min_words, max_words
        self.min_chars, self.max_chars = min_chars, max_chars
        self.copy_ngram, self.copy_ratio, self.copy_min_tokens = copy_ngram, copy_ratio, copy_min_tokens
        self.summary_ratio, self.summary_copy_ratio = summary_ratio, summary_copy_ratio
        self.require_question = require_question
        # A passage appears once per query language: cache its joined tokens (bounded LRU, ~1 KB each).
        self._passages: OrderedDict[tuple[str, bool], TokenText] = OrderedDict()
        self._cache_size = passage_cache_size
        # Two-step SAP writes one summary per passage, shared by every query language's row: tokenise it once.
        self._summaries = Memo(size=passage_cache_size)

    @classmethod
    def check_settings(cls, settings) -> None:
        """A config's lower limits must not exceed its upper ones."""
        if settings.min_words > settings.max_words:
            raise ValueError(f"min_words {settings.min_words} > max_words {settings.max_words}")
        if settings.min_chars > settings.max_chars:
            raise ValueError(f"min_chars {settings.min_chars} > max_chars {settings.max_chars}")

    def _passage(self, row: Row, unspaced: bool) -> TokenText:
        key = (row.get("passage_id") or row.get("text") or "", unspaced)
        hit = self._passages.get(key)
        if hit is not None:
            self._passages.move_to_end(key)
            return hit
        hit = self._passages[key] = TokenText.of(row.get("text") or "", unspaced)
        if len(self._passages) > self._cache_size:
            self._passages.popitem(last=False)
        return hit

    def _summary(self, summary: str, unspaced: bool) -> TokenText:
        key = (summary, unspaced)
        hit = self._summaries.get(key)
        if hit is None:
            hit = self._summaries.remember(key, TokenText.of(summary, unspaced))
        return hit

    def judge(self, rows: list[Row]) -> list[Rejection | None]:
        # The batch's normalised queries and scripts in one pass each (memoised: when langid ran first, it did the
        # scripts), handed to each row's judgement rather than looked up again in memos a large batch overflows.
        queries = [row.get("query") or "" for row in rows]
        return [
            self._judge(row, script, norm)
            for row, script, norm in zip(rows, scripts_of(queries), normalize_many(queries), strict=True)
        ]

    def _judge(self, row: Row, script: str, norm: str) -> Rejection | None:
        query = row.get("query") or ""
        # Count by the script actually written (script_of): a "Chinese" query in Latin letters has words.
        unspaced = script in UNSPACED_SCRIPTS
        q = list(norm.replace(" ", "")) if unspaced else norm.split()  # tokens(query, unspaced)
        n, unit = len(q), ("characters" if unspaced else "words")
        low, high = (self.min_chars, self.max_chars) if unspaced else (self.min_words, self.max_words)
        if n < low:
            return self.reject("too_short", f"{n} {unit} < {low}")
        if n > high:
            return self.reject("too_long", f"{n} {unit} > {high}")
        passage_language = LANGUAGES.get(row.get(PASSAGE_LANGUAGE) or "")
        # A query in another script than the passage cannot copy a long run of it: skip the passage
        # tokenisation, the costliest step (a Hindi query for an English passage, say).
        passage: TokenText | None = None
        if passage_language is None or script == passage_language.script or script not in _SCRIPTS_OF_LANGUAGES:
            passage = self._passage(row, unspaced)
            # Rejected when the run reaches copy_ngram (~3 CJK characters per word) or, for a query of
            # copy_min_tokens or more, covers copy_ratio of it: one substring test for the shortest such run.
            per_word = 3 if unspaced else TOKENS_PER_WORD.get(row.get(QUERY_LANGUAGE) or "", 1)
            copied = math.ceil(self.copy_ngram * per_word)
            if n >= self.copy_min_tokens:
                copied = min(copied, math.ceil(self.copy_ratio * n))
            if passage.shares_run(q, copied):
                run = passage.longest_run(q)
                return self.reject("copied_from_passage", f"{run} of {n} query {unit} copied verbatim from the passage")
        summary = row.get("summary") or ""
        if summary:
            needed = math.ceil(self.summary_ratio * n)
            s: TokenText | None = None
            # An ASCII summary shares no token with a query token that is not ASCII (a Hindi query for an
            # English summary, say): without `needed` ASCII query tokens no run can be long enough.
            if needed <= 0 or not summary.isascii() or sum(map(str.isascii, q)) >= needed:
                s = self._summary(summary, unspaced)
                if s.shares_run(q, needed):
                    run_s = s.longest_run(q)
                    return self.reject(
                        "repeats_summary", f"{run_s} of {n} query {unit} copied verbatim from the summary"
                    )
            # Summary and passage share the passage's language (English, cross-lingually). Only a
            # summary about as long as the passage can copy most of it: check lengths first.
            text = row.get("text") or ""
            if len(summary) >= 0.5 * self.summary_copy_ratio * len(text):
                p_unspaced = passage_language.is_unspaced if passage_language else unspaced
                if s is None or p_unspaced != unspaced or passage is None or not passage.n_tokens:
                    s = self._summary(summary, p_unspaced)
                    passage = self._passage(row, p_unspaced)
                n_passage = passage.n_tokens
                needed = self.summary_copy_ratio * n_passage
                if s.n_tokens and n_passage and s.n_tokens >= needed:
                    s_tokens = s.tokens
                    if passage.shares_run(s_tokens, math.ceil(needed)):
                        return self.reject(
                            "summary_copies_passage",
                            f"the summary repeats {passage.longest_run(s_tokens)} of the passage's {n_passage} "
                            "tokens verbatim",
                        )
        if self.require_question and not query.rstrip().endswith(QUESTION_MARKS):
            return self.reject("not_a_question", "the query does not end with a question mark")
        return None
