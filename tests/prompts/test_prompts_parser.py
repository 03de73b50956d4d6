"""The robust SAP / query parsers: every messy output shape a small LLM produces."""

from __future__ import annotations

import pytest

from hfswim.prompts import ParseResult, parse_query_output, parse_sap_output, parse_summary_output
from hfswim.prompts.parser import STATUSES, clean_text

SUMMARY = "The baobab stores thousands of litres of water in its trunk."
QUERY = "Mbuyu huhifadhi maji wapi?"


@pytest.mark.parametrize(
    "completion",
    [
        # The normal shape: the prompt ended with "Summary:".
        f" {SUMMARY}\nQuery (Swahili): {QUERY}",
        # Extra text before (an echoed label) and after (a trailing blank line and chatter).
        f"Summary: {SUMMARY}\nQuery (Swahili): {QUERY}\n\nI hope this helps!",
        # Wrong order: the query first.
        f"Query (Swahili): {QUERY}\nSummary: {SUMMARY}",
        # Label variants.
        f"Extractive summary: {SUMMARY}\nQuestion: {QUERY}",
        f"{SUMMARY}\nQuery in Swahili: {QUERY}",
        f"{SUMMARY}\nSearch query (sw): {QUERY}",
        f"{SUMMARY}\nSwali: {QUERY}",
        f"{SUMMARY}\nQuery (Swahili)：{QUERY}",
        f"{SUMMARY}\n質問（スワヒリ語）：{QUERY}",
        f"Summary: {SUMMARY}\n\nQuery (Swahili): {QUERY}",
        # Markdown, bullets and stray quotes.
        f'**Summary:** {SUMMARY}\n**Query (Swahili):** "{QUERY}"',
        f"- Summary: {SUMMARY}\n- Query (Swahili): “{QUERY}”",
        f"1. {SUMMARY}\n2. Query (Swahili): '{QUERY}'",
        f"```\nSummary: {SUMMARY}\nQuery (Swahili): {QUERY}\n```",
        # Both parts on one line.
        f"{SUMMARY} Query (Swahili): {QUERY}",
        # Runaway continuation into a new block: cut there.
        f" {SUMMARY}\nQuery (Swahili): {QUERY}\nTitle: Kilimanjaro\nPassage: Kilimanjaro is high.\nSummary: x",
        f" {SUMMARY}\nQuery (Swahili): {QUERY}\nExample 4:\nDocument: something else",
        # Several queries: the first one is kept.
        f" {SUMMARY}\nQuery (Swahili): {QUERY}\nQuery (Swahili): Mbuyu ni nini?",
        # No labels at all, but the last line reads as a question.
        f"{SUMMARY}\n{QUERY}",
    ],
)
def test_parse_sap_output_recovers_summary_and_query(completion):
    result = parse_sap_output(completion)
    assert result == ParseResult(SUMMARY, QUERY, "ok"), completion


def test_summary_may_wrap_over_lines():
    result = parse_sap_output("The baobab stores water\nin its trunk.\nQuery (Swahili): Mbuyu huhifadhi maji wapi?")
    assert result.summary == "The baobab stores water in its trunk."
    assert result.status == "ok"


@pytest.mark.parametrize(
    ("completion", "status", "summary", "query"),
    [
        ("", "empty", None, None),
        ("   \n\n  ", "empty", None, None),
        (None, "empty", None, None),
        ('""', "empty", None, None),
        (f" {SUMMARY}", "missing_query", SUMMARY, None),
        (f" {SUMMARY}\nQuery (Swahili):", "missing_query", SUMMARY, None),
        (f"Query (Swahili): {QUERY}", "missing_summary", None, QUERY),
        (f"{SUMMARY}\nQuery (Swahili): ?", "query_too_short", SUMMARY, None),
        (f"{SUMMARY}\nQuery (Swahili): " + "neno " * 60, "query_too_long", SUMMARY, None),
        (f"{SUMMARY}\nQuery (Swahili): Mbuyu ni nini? Unakua wapi?", "multiple_queries", SUMMARY, None),
        ("word " * 200 + f"\nQuery (Swahili): {QUERY}", "summary_too_long", None, QUERY),
        (f"{SUMMARY}\nQuery: {SUMMARY}", "query_copies_summary", SUMMARY, None),
        # A new block straight away: the model restarted the pattern, nothing usable.
        ("\nPassage: The baobab is a tree.\nSummary: It is a tree.", "empty", None, None),
    ],
)
def test_parse_sap_output_rejects_with_reason(completion, status, summary, query):
    result = parse_sap_output(completion)
    assert (result.status, result.summary, result.query) == (status, summary, query)
    assert result.status in STATUSES
    assert not result.ok


@pytest.mark.parametrize(
    "completion",
    [
        f" {QUERY}",
        f" {QUERY}\n\nTitle: next",
        f" {QUERY}\nSummary: runaway",
        f'"{QUERY}"',
        f"**{QUERY}**",
        f"Query (Swahili): {QUERY}",
        f"\n\n  {QUERY}\nQuery (Swahili): Mbuyu ni nini?",
        f" {QUERY}\nBad Question: Miti ni nini?",
        f"`{QUERY}`",
    ],
)
def test_parse_query_output(completion):
    assert parse_query_output(completion) == ParseResult(None, QUERY, "ok")


@pytest.mark.parametrize(
    ("completion", "status"),
    [
        ("", "empty"),
        ("\n", "empty"),
        # Degenerate decoding, as Gemma 3 270M does now and then.
        (" Mbelelelelelelelelelelelelelelelelelelelelelelelele", "repetitive"),
        (" Mlima mlima mlima mlima?", "repetitive"),
        ("\nTitle: Another passage", "empty"),
        ("Query (Swahili):", "missing_query"),
        (" ??", "query_too_short"),
        (" " + "swali " * 50, "query_too_long"),
        (" Mbuyu ni nini? Mbuyu unakua wapi?", "multiple_queries"),
    ],
)
def test_parse_query_output_rejects(completion, status):
    result = parse_query_output(completion)
    assert result.status == status
    assert result.query is None


def test_parse_query_output_keeps_unspaced_scripts():
    assert parse_query_output(" バオバブはどうやって干ばつを乗り切るのですか？\n\nTitle: x").query == (
        "バオバブはどうやって干ばつを乗り切るのですか？"
    )
    assert parse_query_output(" 「猴面包树是怎样熬过干旱的？」").query == "猴面包树是怎样熬过干旱的？"


def test_parse_summary_output():
    assert parse_summary_output(f" {SUMMARY}\n\nPassage: next") == ParseResult(SUMMARY, None, "ok")
    assert parse_summary_output(f"Summary: {SUMMARY}\nQuery (Swahili): {QUERY}").summary == SUMMARY
    assert parse_summary_output(f'  "{SUMMARY}"').summary == SUMMARY
    assert parse_summary_output("").status == "empty"
    assert parse_summary_output("Summary:").status == "missing_summary"
    assert parse_summary_output("w " * 300).status == "summary_too_long"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ('  **"Why do bees dance?"**  ', "Why do bees dance?"),
        ("- 'Where is Mainz?'", "Where is Mainz?"),
        ('"What is a baobab"?', "What is a baobab?"),
        ("«Qu'est-ce qu'un baobab ?»", "Qu'est-ce qu'un baobab ?"),
        ('"Unbalanced quote', "Unbalanced quote"),
        ("It's the bees' dance", "It's the bees' dance"),
    ],
)
def test_clean_text(raw, clean):
    assert clean_text(raw) == clean
