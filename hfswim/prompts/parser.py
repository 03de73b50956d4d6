"""Parse what an LLM wrote after a SAP or query prompt into a summary and a query.

Small base models (Gemma 3 270M) rarely stop exactly where they should. They echo labels
("Summary:", "Query (Swahili):", "**Question:**"), swap the order, wrap answers in quotes or
bullets, write two questions, or run on into a new "Passage:" / "Example 2:" block. The parsers
here keep what is usable and, when they cannot, say why in :attr:`ParseResult.status` — the value
hfswim stores in ``records.parse_status``.

Decisions:

* **Runaway continuation** — text from the first line that opens a new block ("Passage:",
  "Title:", "Document:", "Article:", "Example 2:", "Bad Question:") on is cut off.
* **Several queries** — only the *first* query is kept: models continue the few-shot pattern,
  and the first query is the one written for this passage. A query line that itself packs two
  questions ("What is X? Where is Y?") is ambiguous and is rejected as ``"multiple_queries"``.
* **Labels** — a part may carry any label in :data:`SUMMARY_LABELS` / :data:`QUERY_LABELS`
  (English or localized, optionally with a language in parentheses); unlabeled text at the start of
  a one-step SAP completion is the summary, because the prompt ends with ``Summary:``.
* On rejection the fields that were found are still filled (handy for debugging), except the one
  that failed; consumers accept a row only when ``status == "ok"``.

Example::

    >>> from hfswim.prompts.parser import parse_sap_output, parse_query_output
    >>> r = parse_sap_output(' The baobab stores water in its trunk.\\nQuery (Swahili): "Mbuyu huhifadhi maji wapi?"')
    >>> (r.summary, r.query, r.status)
    ('The baobab stores water in its trunk.', 'Mbuyu huhifadhi maji wapi?', 'ok')
    >>> parse_query_output(" Je, mbuyu huishi wapi?\\n\\nTitle: Something else").query
    'Je, mbuyu huishi wapi?'
    >>> parse_sap_output("").status
    'empty'
"""

from __future__ import annotations

from dataclasses import dataclass

import regex

#: Statuses a parser may return besides ``"ok"``.
STATUSES = (
    "ok",
    "empty",
    "missing_summary",
    "missing_query",
    "summary_too_long",
    "query_too_long",
    "query_too_short",
    "multiple_queries",
    "query_copies_summary",
    "repetitive",
    "control_characters",
)

#: Limits beyond which a part is treated as a runaway rather than a summary/query.
MAX_QUERY_WORDS = 40
MAX_QUERY_CHARS = 250  # also bounds unspaced scripts (CJK, Thai), which have no words to count
MAX_SUMMARY_WORDS = 120
MAX_SUMMARY_CHARS = 800
MIN_QUERY_CHARS = 3

#: Labels that introduce a summary (lower-case; matched case-insensitively).
SUMMARY_LABELS = (
    "extractive summary",
    "short summary",
    "english summary",
    "summary",
    "zusammenfassung",
    "résumé",
    "resume",
    "resumen",
    "muhtasari",
    "ringkasan",
    "tiivistelmä",
    "краткое содержание",
    "резюме",
    "ملخص",
    "خلاصه",
    "सारांश",
    "সারাংশ",
    "要約",
    "摘要",
    "总结",
    "요약",
    "สรุป",
    "సారాంశం",
    "àkótán",
)

#: Labels that introduce a query.
QUERY_LABELS = (
    "relevant query",
    "search query",
    "good question",
    "generated query",
    "query",
    "question",
    "frage",
    "anfrage",
    "requête",
    "pregunta",
    "consulta",
    "swali",
    "pertanyaan",
    "kysymys",
    "вопрос",
    "запрос",
    "سؤال",
    "پرسش",
    "سوال",
    "प्रश्न",
    "सवाल",
    "প্রশ্ন",
    "質問",
    "クエリ",
    "问题",
    "查询",
    "질문",
    "คำถาม",
    "ప్రశ్న",
    "ìbéèrè",
)

#: Labels that open a new block: everything from them on is runaway continuation.
BLOCK_LABELS = (
    "passage",
    "title",
    "document",
    "article",
    "text",
    "context",
    "bad question",
    "example",
)

_BULLET = r"(?:[-*•>]+\s*|\d{1,2}[.)]\s+)?"
_DECOR = r"[*_#`]*"


def _label_pattern(labels: tuple[str, ...]) -> str:
    # Longest first, so "extractive summary" wins over "summary".
    return "|".join(regex.escape(label) for label in sorted(labels, key=len, reverse=True))


# A label at the start of a line: optional bullet/markdown, the label, an optional "(Swahili)" or
# "in Swahili", then a colon (ASCII or full-width).
_PART_RE = regex.compile(
    rf"(?im)(?:^[ \t]*{_BULLET}|(?<=[.!?。！？]\s+)){_DECOR}(?P<label>{_label_pattern(SUMMARY_LABELS + QUERY_LABELS)})"
    rf"(?:[ \t]*[(（][^)）\n]{{0,40}}[)）]|[ \t]+(?:in|en|auf)[ \t]+\p{{L}}+)?{_DECOR}[ \t]*[:：]{_DECOR}"
)
_BLOCK_RE = regex.compile(
    rf"(?im)^[ \t]*{_BULLET}{_DECOR}(?:{_label_pattern(BLOCK_LABELS)})(?:[ \t]*\d+)?"
    rf"(?:[ \t]*[(（][^)）\n]{{0,40}}[)）])?{_DECOR}[ \t]*[:：]"
)
_SUMMARY_SET = frozenset(SUMMARY_LABELS)
_QUOTES = "\"'“”„‟‘’‚«»「」『』《》〈〉"
_QUESTION_END = regex.compile(r"[?？؟]")
_WORD = regex.compile(r"\w+")
# Degenerate decoding: a unit of 1-8 characters six times in a row ("Mbelelelelelele..."), or one
# word three times in a row ("kila kila kila").
# C0 controls except tab/newline/CR, DEL and C1 controls: a query or summary holding one is a broken answer
# (a server or proxy bug, a binary body), never text worth training on. U+FFFD is let through: byte-level
# tokenizers produce it when a completion is cut inside a multi-byte character.
_CONTROL = regex.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_REPEAT = regex.compile(r"(?i)(\p{L}\S{0,7}?)\1{5,}|\b(\w+)(?:\s+\2\b){2,}")


# Compiled once: regex's per-call pattern cache lookup cost ~45 us a call, ~200 us per parsed completion.
_LEADING_BULLET = regex.compile(r"^(?:[-*•>#]+\s*|\d{1,2}[.)]\s+)")
_FENCE = regex.compile(r"(?m)^[ \t]*```[\w-]*[ \t]*$")
_LETTER = regex.compile(r"\p{L}")


@dataclass(frozen=True)
class ParseResult:
    """What a parser made of one completion.

    Attributes:
        summary: the extractive summary, or ``None`` (query-only parsers, or not found).
        query: the query, or ``None`` when missing or rejected.
        status: ``"ok"`` or a short machine-readable reason (see :data:`STATUSES`).
    """

    summary: str | None
    query: str | None
    status: str

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def clean_text(text: str) -> str:
    """Strip markdown, bullets, surrounding quotes and extra whitespace from one part.

    >>> clean_text('  **"Why do bees dance?"**  ')
    'Why do bees dance?'
    """
    text = " ".join(text.split())
    previous = None
    while text and text != previous:
        previous = text
        text = _LEADING_BULLET.sub("", text)  # bullets, numbering
        text = text.strip("*_`~ ")
        if len(text) >= 2 and text[0] in _QUOTES and text[-1] in _QUOTES + "?？؟.。":
            # A quoted part, possibly with its punctuation outside the quotes: "What is X"?
            tail = text[-1] if text[-1] not in _QUOTES else ""
            body = text[1:-1] if not tail else text[1:-1].rstrip(_QUOTES)
            text = (body + tail).strip()
        elif text.count(text[:1]) == 1 and text[:1] in _QUOTES:  # unbalanced opening quote
            text = text[1:].strip()
        elif text[-1:] in _QUOTES and sum(text.count(q) for q in _QUOTES) == 1:  # unbalanced closing quote
            text = text[:-1].strip()
    return text


def _has_label(text: str) -> bool:
    # Every label ends in a colon: without one, skip the label regexes (the common, fast case).
    return ":" in text or "：" in text


def _cut_runaway(text: str) -> str:
    if not _has_label(text):
        return text
    match = _BLOCK_RE.search(text)
    return text[: match.start()] if match else text


def _strip_fences(text: str) -> str:
    if "```" not in text:
        return text
    return _FENCE.sub("", text)


def _segments(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Split into the unlabeled lead and (kind, body) parts, kind being "summary" or "query"."""
    matches = list(_PART_RE.finditer(text)) if _has_label(text) else []
    lead = text[: matches[0].start()] if matches else text
    parts = []
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        kind = "summary" if match.group("label").lower() in _SUMMARY_SET else "query"
        parts.append((kind, text[match.end() : end]))
    return lead, parts


def _first_paragraph(text: str) -> str:
    """The first block of non-empty lines, joined: a summary may wrap, a blank line ends it."""
    lines: list[str] = []
    for line in text.strip().splitlines():
        if not line.strip():
            if lines:
                break
            continue
        lines.append(line)
    return " ".join(lines)


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if clean_text(line):
            return line
    return ""


def _count_units(text: str) -> int:
    return len(_WORD.findall(text))


def _check_query(query: str) -> str:
    if _CONTROL.search(query):
        return "control_characters"
    if len(query) < MIN_QUERY_CHARS or not _LETTER.search(query):
        return "query_too_short"
    if _count_units(query) > MAX_QUERY_WORDS or len(query) > MAX_QUERY_CHARS:
        return "query_too_long"
    if _REPEAT.search(query):
        return "repetitive"
    # Two question marks with a real clause after the first: two questions in one line.
    first = _QUESTION_END.search(query)
    rest = query[first.end() :] if first else ""
    if len(_LETTER.findall(rest)) >= 3 and _QUESTION_END.search(rest):
        return "multiple_queries"
    return "ok"


def _check_summary(summary: str) -> str:
    if _CONTROL.search(summary):
        return "control_characters"
    if _count_units(summary) > MAX_SUMMARY_WORDS or len(summary) > MAX_SUMMARY_CHARS:
        return "summary_too_long"
    if _REPEAT.search(summary):
        return "repetitive"
    return "ok"


def parse_query_output(completion: str) -> ParseResult:
    """Parse a completion that should be just a query (one-step query strategies, two-step query step).

    The prompt ended with a query label, so the completion is the query, perhaps followed by
    runaway text. An echoed label ("Query (Swahili): ...") is skipped.

    >>> parse_query_output(' "Wapi mibuyu hukua?"\\nSummary: ...').query
    'Wapi mibuyu hukua?'
    """
    text = _cut_runaway(_strip_fences(completion or ""))
    lead, parts = _segments(text)
    if clean_text(lead):
        body = lead
    else:
        body = next((part for kind, part in parts if kind == "query" and clean_text(part)), "")
    query = clean_text(_first_line(body))
    if not query:
        return ParseResult(None, None, "empty" if not clean_text(text) else "missing_query")
    status = _check_query(query)
    return ParseResult(None, query if status == "ok" else None, status)


def parse_summary_output(completion: str) -> ParseResult:
    """Parse the summary step of two-step SAP: the completion after ``Summary:``.

    >>> parse_summary_output(" Bees dance to show where flowers are.\\n\\nPassage: ...").summary
    'Bees dance to show where flowers are.'
    """
    text = _cut_runaway(_strip_fences(completion or ""))
    lead, parts = _segments(text)
    body = lead if clean_text(lead) else next((p for kind, p in parts if kind == "summary" and clean_text(p)), "")
    summary = clean_text(_first_paragraph(body))
    if not summary:
        return ParseResult(None, None, "empty" if not clean_text(text) else "missing_summary")
    status = _check_summary(summary)
    return ParseResult(summary if status == "ok" else None, None, status)


def parse_sap_output(completion: str) -> ParseResult:
    """Parse a one-step SAP completion: a summary, then a query (the prompt ended with ``Summary:``).

    Copes with text before/after, echoed or missing labels, the query written before the
    summary, stray quotes/markdown/bullets, several queries (the first is kept) and runaway
    continuation into a new block.

    >>> r = parse_sap_output("Query (German): Wann druckte Gutenberg?\\nSummary: Gutenberg printed a Bible.")
    >>> (r.summary, r.query)
    ('Gutenberg printed a Bible.', 'Wann druckte Gutenberg?')
    >>> parse_sap_output("Gutenberg printed a Bible in Mainz.").status
    'missing_query'
    """
    raw = completion or ""
    if not clean_text(raw):
        return ParseResult(None, None, "empty")
    text = _cut_runaway(_strip_fences(raw))
    lead, parts = _segments(text)
    summary_body = next((p for kind, p in parts if kind == "summary" and clean_text(p)), None)
    query_body = next((p for kind, p in parts if kind == "query" and clean_text(p)), None)
    lead_lines = [line for line in lead.splitlines() if clean_text(line)]
    if query_body is None and len(lead_lines) >= 2 and clean_text(lead_lines[-1])[-1:] in "?？؟":
        # No labels at all: "summary\nquestion?" — the last line is the query when it reads as one.
        query_body = lead_lines.pop()
    if lead_lines and (summary_body is None or not parts or parts[0][0] != "summary"):
        # The prompt ended with "Summary:", so unlabeled leading text is the summary.
        summary_body = "\n".join(lead_lines)
    summary = clean_text(_first_paragraph(summary_body)) if summary_body else ""
    query = clean_text(_first_line(query_body)) if query_body else ""
    if not summary and not query:
        return ParseResult(None, None, "empty")
    if not query:
        return ParseResult(summary or None, None, "missing_query")
    query_status = _check_query(query)
    if query_status != "ok":
        return ParseResult(summary or None, None, query_status)
    if not summary:
        return ParseResult(None, query, "missing_summary")
    summary_status = _check_summary(summary)
    if summary_status != "ok":
        return ParseResult(None, query, summary_status)
    if query.casefold() == summary.casefold():
        return ParseResult(summary, None, "query_copies_summary")
    return ParseResult(summary, query, "ok")


def parse_json_output(completion: str, fields: tuple[str, ...]) -> ParseResult | None:
    """Parse a structured (JSON) answer with these string ``fields`` ("summary", "query"); None when the
    completion is not such a JSON object (the caller falls back to the text parsers).

    What a JSON answer holds is checked like text: the same length, repetition and multiple-question rules.

    >>> parse_json_output('{"summary": "Bees dance.", "query": "Nyuki hucheza kwa nini?"}', ("summary", "query"))
    ParseResult(summary='Bees dance.', query='Nyuki hucheza kwa nini?', status='ok')
    >>> parse_json_output("Query: not JSON", ("query",)) is None
    True
    """
    import json

    text = _strip_fences(completion or "").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or not all(isinstance(data.get(name), str) for name in fields):
        return None
    summary = clean_text(data["summary"]) if "summary" in fields else None
    query = clean_text(data["query"]) if "query" in fields else None
    if summary is not None:
        if not summary:
            return ParseResult(None, None, "missing_summary")
        status = _check_summary(summary)
        if status != "ok":
            return ParseResult(None, None, status)
    if query is not None:
        if not query:
            return ParseResult(summary, None, "missing_query")
        status = _check_query(query)
        if status != "ok":
            return ParseResult(summary, None, status)
        if summary is not None and query.casefold() == summary.casefold():
            return ParseResult(summary, None, "query_copies_summary")
    return ParseResult(summary, query, "ok")
