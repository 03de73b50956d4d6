"""The ``exemplar-copy`` filter: queries that copy the prompt's few-shot exemplars instead of the passage.

Small generators (Gemma 3 270M) often recycle the exemplar they were shown: a Swahili query about a
passage on Nigeria ends "… nyuki wengine mahali maua yalipo?" — the bees and flowers of the Swahili
honeybee exemplar. Such a query is fluent, in the right language and not a copy of its own passage, so
the other filters keep it; this one rejects it with the code ``copies_exemplar``.

The rule, on normalised tokens (:mod:`hfswim.text.normalize`: words, or characters for CJK/Thai):

1. **A shared run**: ``min_run`` (3 words; ``min_run_chars`` = 4 characters) or more consecutive query
   tokens that also occur consecutively in an exemplar query of the row's prompt — the exemplars of the
   row's query language and setting (cross-lingual or monolingual), plus the bad queries for ``inpars-gbq``
   (the only template that shows them) — or ``min_run + 2`` words (``min_run_chars + 4`` characters) shared
   with an exemplar passage, title or summary (a longer run, since running text has more stock phrases).
2. **Exemplar-specific content in that run**: question frames ("ni mwaka gani", "what is the", "¿Cuál es
   el", "是怎样") are shared by good queries too, so a run counts only if it holds ``min_specific``
   (2 words; ``min_specific_chars`` = 4 characters) tokens that are specific to the exemplars: tokens that
   are *not* frame tokens of the language — tokens of 2 or more different exemplars (an exemplar being its
   query, bad query and, for the MIRACL languages, its title, summary and passage in that language): question
   and function words, while a topic word (nyuki, 蜜蜂) belongs to one exemplar — and *not* in the row's own
   passage, title or summary (a query may legitimately name what its passage is about, even
   when an exemplar names it too). A cross-lingual query shares no words with its English passage, so
   there a run is also excused when the passage shares 2 content words with the English version of the
   exemplar's query (a passage on a drought may be asked about like the baobab exemplar).

Three exemplars per language teach only part of its question frame: a frame that one exemplar alone uses
with 2+ words is taken for a copy (Hindi "… का आविष्कार कब किया", "when was … invented", as in the Gutenberg
exemplar); raise ``min_specific`` where that matters more than the misses.

So "Ni mwaka gani Nigeria ilipata uhuru?" (frame "ni … gani" plus one exemplar word) is kept, and
"Nigeria iko wapi nyuki wengine mahali maua yalipo?" (nyuki, wengine, mahali, maua, yalipo) is not.

Which exemplars: the packaged ones (:mod:`hfswim.prompts.exemplars`) for the row's ``query_language`` and
``setting``, whatever the row's ``template_hash`` — a ``--template-dir`` override replaces templates, not
exemplars; a custom template that writes its own examples into the prompt is not covered. Rows made
with the ``promptagator`` strategy were prompted with the user's own examples: give the same JSONL file
as ``examples`` (``hfswim run`` passes ``generate.examples`` on); without it those rows are kept unchecked.

Example::

    >>> f = ExemplarCopyFilter()
    >>> rows = [{"query": "Nigeria iko wapi na nyuki wengine mahali maua yalipo?", "query_language": "sw",
    ...          "setting": "cross-lingual", "template": "sap", "text": "Nigeria is a country in West Africa."},
    ...         {"query": "Ni mwaka gani Nigeria ilipata uhuru?", "query_language": "sw",
    ...          "setting": "cross-lingual", "template": "sap", "text": "Nigeria became independent in 1960."}]
    >>> [r and r.code for r in f.judge(rows)]
    ['copies_exemplar', None]
"""

from __future__ import annotations

import functools
import itertools
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, ClassVar

from pydantic import Field

from hfswim.errors import ConfigError
from hfswim.filters.base import Rejection, Row, RowFilter
from hfswim.filters.settings import PositiveInt, existing_path
from hfswim.languages import LANGUAGES, UNSPACED_SCRIPTS
from hfswim.records import QUERY_LANGUAGE
from hfswim.text.langid import script_of
from hfswim.text.normalize import normalize, normalize_many, tokens

PROMPTAGATOR = "promptagator"
# Passages are running text: a run against them must be this much longer than against a query.
_PASSAGE_EXTRA_WORDS, _PASSAGE_EXTRA_CHARS = 2, 4
# English function words, left out of an exemplar's English topic (three exemplars are too few to learn them).
_ENGLISH_FUNCTION_WORDS = frozenset(
    "a about after all also an and are as at be been before but by can could did do does for from had has have "
    "how if in into is it its many may more most much not of on one or other over some such than that the their "
    "them then there these they this those through to under up was were what when where which while who whom "
    "whose why will with would".split()
)
# Question words of the scripts tokenised into characters: three exemplars cannot teach a frame made of
# characters ("是什么时候" in a human question is not a copy of "古腾堡是什么时候发明…"), so these are frame tokens
# from the start. Question words only: a topic is never made of them.
_QUESTION_CHARACTERS = {
    "zh": frozenset("什么哪里儿怎样谁多少几时候为吗呢是的"),
    "ja": frozenset("何いつどこだれ誰なぜどうしてのですか"),
}
_EXEMPLAR_TEXT_KEYS = ("query", "bad_query", "title", "summary", "text")
# Content words of the exemplar's English query that the row's passage must share to excuse a copy.
_TOPIC_OVERLAP = 2


@dataclass
class _Index:
    """The exemplars of one prompt (language, setting, template kind), in one tokenisation."""

    query_grams: dict[tuple[str, ...], str]  # min_run-gram of an exemplar query -> its source label
    passage_grams: dict[tuple[str, ...], str]  # (min_run + extra)-gram of an exemplar passage -> label
    frame: frozenset[str]  # tokens common to the language's exemplars: question words, function words
    # source label -> stems of the English version of that exemplar's query (its topic: "baobab", "drought")
    topics: dict[str, frozenset[str]]
    # Token -> 1 (frame) or 2 (other) for the tokens of the query n-grams and of the passage n-grams: a query
    # without a stretch of n of them holding min_specific 2s is clean, whatever else it shares.
    query_vocabulary: dict[str, int]
    passage_vocabulary: dict[str, int]


def _grams(toks: tuple[str, ...] | list[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(toks[i : i + n]) for i in range(len(toks) - n + 1)]


def _common(texts: list[tuple[str, ...]], min_texts: int = 2) -> set[str]:
    """Tokens found in ``min_texts`` or more of ``texts``."""
    counts = Counter(tok for toks in texts for tok in set(toks))
    return {tok for tok, c in counts.items() if c >= min_texts}


class ExemplarCopyFilter(RowFilter):
    """Rejects queries that copy exemplar content (``copies_exemplar``). See the module docstring.

    Args:
        min_run: consecutive query words shared with an exemplar query that make a run (+2 for passages).
        min_run_chars: the same for unspaced scripts, in characters (+4 for passages).
        min_specific: exemplar-specific words a run must hold to count as a copy.
        min_specific_chars: the same for unspaced scripts, in characters.
        check_passages: also compare with the exemplars' passages, titles and summaries.
        examples: the JSONL file of (text, query) examples promptagator rows were prompted with.
    """

    name: ClassVar[str] = "exemplar-copy"
    columns: ClassVar[frozenset[str] | None] = frozenset(
        {"query", QUERY_LANGUAGE, "setting", "template", "text", "title", "summary"}
    )

    def __init__(
        self,
        min_run: Annotated[int, Field(ge=2)] = 3,
        min_run_chars: Annotated[int, Field(ge=2)] = 4,
        min_specific: PositiveInt = 2,
        min_specific_chars: PositiveInt = 4,
        check_passages: bool = True,
        examples: Annotated[str, existing_path("examples file")] | None = None,
    ):
        self.min_run, self.min_run_chars = min_run, min_run_chars
        self.min_specific, self.min_specific_chars = min_specific, min_specific_chars
        self.check_passages = check_passages
        self.examples = examples
        # (lang, setting, template kind, unspaced) -> index; a handful per run, built on first use in
        # each (forked) worker from the cached exemplar files: no per-row cost, nothing to pickle.
        self._indexes: dict[tuple[str, str, str, bool], _Index | None] = {}
        if examples is not None and not Path(examples).is_file():
            raise ConfigError(f"exemplar-copy: examples file {examples!r} does not exist.")

    # ----- exemplar indexes

    def _texts(self, lang: str, setting: str, kind: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """(label, text) of the exemplar queries and of the exemplar passages/titles/summaries of a prompt."""
        if kind == PROMPTAGATOR:
            examples = _read_examples(self.examples) if self.examples else []
            queries = [(f"query of example {i}", ex["query"]) for i, ex in enumerate(examples)]
            passages = [
                (f"{key} of example {i}", ex[key]) for i, ex in enumerate(examples) for key in ("title", "text")
            ]
            return queries, [(label, text) for label, text in passages if text]
        from hfswim.prompts.exemplars import available_languages, load_exemplars

        if lang not in available_languages(setting):
            return [], []
        # A prompt shows the first num_exemplars of the file: index them all.
        exemplars = load_exemplars(lang, setting, len(_exemplar_rows(lang, setting)))
        queries = [(f"query of exemplar {ex.id!r}", ex.query) for ex in exemplars]
        if kind == "gbq":
            queries += [(f"bad query of exemplar {ex.id!r}", ex.bad_query) for ex in exemplars]
        passages = [
            (f"{key} of exemplar {ex.id!r}", getattr(ex, key))
            for ex in exemplars
            for key in ("title", "summary", "text")
        ]
        return queries, passages

    def _index(self, lang: str, setting: str, kind: str, unspaced: bool) -> _Index | None:
        key = (lang, setting, kind, unspaced)
        if key in self._indexes:
            return self._indexes[key]
        queries, passages = self._texts(lang, setting, kind)
        index = None
        if queries:
            run = self.min_run_chars if unspaced else self.min_run
            extra = _PASSAGE_EXTRA_CHARS if unspaced else _PASSAGE_EXTRA_WORDS
            q_toks = [(label, tuple(tokens(text, unspaced))) for label, text in queries]
            p_toks = [(label, tuple(tokens(text, unspaced))) for label, text in passages]
            query_grams: dict[tuple[str, ...], str] = {}
            for label, toks in q_toks:
                for gram in _grams(toks, run):
                    query_grams.setdefault(gram, label)
            passage_grams: dict[tuple[str, ...], str] = {}
            if self.check_passages:
                for label, toks in p_toks:
                    for gram in _grams(toks, run + extra):
                        passage_grams.setdefault(gram, label)
            # Frame tokens: those of 2+ different exemplars (question words, function words), where an
            # exemplar is its query, bad query and, in the query's language, title, summary and passage (the
            # MIRACL languages have them, whatever the setting). A topic word (nyuki, 蜜蜂) belongs to one.
            if kind == PROMPTAGATOR:
                per_exemplar = [
                    tuple(tok for key in ("query", "title", "text") for tok in tokens(ex[key], unspaced))
                    for ex in _read_examples(self.examples or "")
                ]
            else:
                per_exemplar = [
                    tuple(tok for key in _EXEMPLAR_TEXT_KEYS if key in row for tok in tokens(row[key], unspaced))
                    for row in _load_exemplar_file(lang)
                ]
            frame = _common(per_exemplar) | _QUESTION_CHARACTERS.get(lang, frozenset())
            topics = {label: _english_topic(label) for label, _ in queries + passages} if kind != PROMPTAGATOR else {}
            index = _Index(
                query_grams,
                passage_grams,
                frozenset(frame),
                topics,
                {tok: 1 if tok in frame else 2 for gram in query_grams for tok in gram},
                {tok: 1 if tok in frame else 2 for gram in passage_grams for tok in gram},
            )
        self._indexes[key] = index
        return index

    # ----- judging

    def judge(self, rows: list[Row]) -> list[Rejection | None]:
        normalize_many([row.get("query") or "" for row in rows])  # one pass for the batch; tokens() reuses it
        return [self._judge(row) for row in rows]

    def _judge(self, row: Row) -> Rejection | None:
        query = row.get("query") or ""
        lang = row.get(QUERY_LANGUAGE) or ""
        template = row.get("template") or ""
        if template == PROMPTAGATOR:
            if not self.examples:
                return None
            kind = PROMPTAGATOR
        elif lang not in LANGUAGES:
            return None
        else:
            kind = "gbq" if "gbq" in template else "plain"
        unspaced = script_of(query) in UNSPACED_SCRIPTS
        index = self._index(lang, row.get("setting") or "cross-lingual", kind, unspaced)
        if index is None:
            return None
        q = tokens(query, unspaced)
        run = self.min_run_chars if unspaced else self.min_run
        needed = self.min_specific_chars if unspaced else self.min_specific
        hits = self._hits(q, index.query_grams, index.query_vocabulary, run, needed)
        if self.check_passages and index.passage_grams:
            extra = _PASSAGE_EXTRA_CHARS if unspaced else _PASSAGE_EXTRA_WORDS
            hits += self._hits(q, index.passage_grams, index.passage_vocabulary, run + extra, needed)
        if not hits:
            return None
        topical: set[str] | None = None
        stems: set[str] | None = None
        for start, end, label in hits:
            specific = [tok for tok in q[start:end] if tok not in index.frame]
            if len(specific) < needed:  # a question frame: no need to read the passage
                continue
            if topical is None:
                topical = self._topical(row, unspaced)
            specific = [tok for tok in specific if tok not in topical]
            if len(specific) < needed:
                continue
            # A cross-lingual query cannot share words with its English passage; but when that passage is
            # about the exemplar's topic too (a drought, bees), asking like the exemplar is fine.
            topic = index.topics.get(label)
            if topic:
                if stems is None:
                    stems = {_stem(tok) for tok in self._topical(row, False)}
                if len(topic & stems) >= _TOPIC_OVERLAP:
                    continue
            sep, unit = ("", "characters") if unspaced else (" ", "words")
            return self.reject(
                "copies_exemplar",
                f"{end - start} {unit} '{sep.join(q[start:end])}' copied from the {label} "
                f"({len(specific)} exemplar-specific: {sep.join(specific)})",
            )
        return None

    @staticmethod
    def _hits(
        q: list[str], grams: dict[tuple[str, ...], str], vocabulary: dict[str, int], n: int, needed: int
    ) -> list[tuple[int, int, str]]:
        """Maximal runs ``(start, end, source label)`` of query positions covered by ``n``-grams in ``grams``."""
        runs: list[tuple[int, int, str]] = []
        # Only a stretch of n or more vocabulary tokens, `needed` of them not frame tokens, can hold a rejected
        # run: found at C speed, and most queries have none (question frames are made of frame tokens).
        mask = bytes(map(vocabulary.get, q, itertools.repeat(0)))
        windows = [
            i
            for m in _stretch(n).finditer(mask)
            if mask.count(2, m.start(), m.end()) >= needed
            for i in range(m.start(), m.end() - n + 1)
        ]
        labels: list[Counter] = []
        for i in windows:
            label = grams.get(tuple(q[i : i + n]))
            if label is None:
                continue
            if runs and i < runs[-1][1]:  # overlaps the previous run: extend it (touching runs stay apart)
                runs[-1] = (runs[-1][0], i + n, "")
                labels[-1][label] += 1
            else:
                runs.append((i, i + n, ""))
                labels.append(Counter([label]))
        # A run is named after the exemplar most of its n-grams come from.
        return [(start, end, votes.most_common(1)[0][0]) for (start, end, _), votes in zip(runs, labels, strict=True)]

    @staticmethod
    def _topical(row: Row, unspaced: bool) -> set[str]:
        """Tokens of the row's own passage, title and summary (computed only for rows with a shared run)."""
        text = " ".join(row.get(key) or "" for key in ("title", "summary", "text"))
        norm = normalize(text)
        return set(norm.replace(" ", "")) if unspaced else set(norm.split())


@functools.cache
def _stretch(n: int) -> re.Pattern[bytes]:
    """n or more non-zero bytes in a row."""
    return re.compile(b"[\\x01\\x02]{%d,}" % n)


def _stem(token: str) -> str:
    """A crude stem (the first 5 characters), so that "droughts" meets "drought"."""
    return token[:5]


@functools.cache
def _english_topic(label: str) -> frozenset[str]:
    """Stems of the content words of the English query of the exemplar named in ``label``."""
    from hfswim.prompts.exemplars import SOURCE_LANG, _load_file

    exemplar_id = label.rsplit(" ", 1)[-1].strip("'")
    rows = _load_file(SOURCE_LANG)
    common = _common([tuple(tokens(row["query"])) for row in rows]) | _common([tuple(tokens(r["text"])) for r in rows])
    query = next((row["query"] for row in rows if row["id"] == exemplar_id), "")
    content = [tok for tok in tokens(query) if tok not in common and tok not in _ENGLISH_FUNCTION_WORDS]
    return frozenset(_stem(tok) for tok in content)


def _load_exemplar_file(lang: str) -> tuple[dict[str, str], ...]:
    from hfswim.prompts.exemplars import _load_file

    return _load_file(lang)


def _exemplar_rows(lang: str, setting: str) -> list[dict[str, str]]:
    """The raw exemplar entries of ``lang``'s file usable in ``setting`` (monolingual: those with a passage)."""
    from hfswim.prompts.exemplars import _load_file

    rows = list(_load_file(lang))
    return [row for row in rows if "text" in row] if setting == "monolingual" else rows


def _read_examples(path: str) -> list[dict[str, str]]:
    """Promptagator examples: JSON Lines (or one JSON list) of ``{"query", "text", "title"?}``."""
    raw = Path(path).read_text(encoding="utf-8")
    try:
        data = (
            json.loads(raw) if raw.lstrip().startswith("[") else [json.loads(s) for s in raw.splitlines() if s.strip()]
        )
    except json.JSONDecodeError as err:
        raise ConfigError(f"exemplar-copy: {path}:{err.lineno}: invalid JSON ({err.msg}).") from None
    out = []
    for i, item in enumerate(data):
        if not isinstance(item, dict) or not isinstance(item.get("query"), str):
            raise ConfigError(f"exemplar-copy: {path}: example {i} needs a string 'query'.")
        out.append({"query": item["query"], "text": str(item.get("text") or ""), "title": str(item.get("title") or "")})
    return out
