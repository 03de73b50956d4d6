"""The filters for what small LLMs get wrong: copying the few-shot exemplars, and degenerate repetition.

The rejected queries are the failures seen in a Gemma 3 270M run (Swahili and Yoruba queries for English
passages): the Swahili honeybee exemplar's "… nyuki wengine mahali maua yalipo?" asked about Nigeria, and
loops like "ya nani ya nani ya nani". The kept ones share only a question frame with an exemplar.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from hfswim.errors import ConfigError
from hfswim.filters import FilterConfig, build_filters, run_filters
from hfswim.filters.exemplar_copy import ExemplarCopyFilter
from hfswim.filters.repetition import RepetitionFilter
from hfswim.prompts.exemplars import EXEMPLAR_DIR
from tests.filters.conftest import make_row, write_generated

NIGERIA = "Nigeria is a country in West Africa. Lagos is its largest city and Abuja its capital since 1991."


def _copy_row(query: str, lang: str, text: str = NIGERIA, **fields) -> dict:
    return make_row(query, lang, passage_id="p-nigeria", text=text, title="Nigeria", summary="", **fields)


def _codes(filter_, rows):
    return [j.code if j else None for j in filter_.judge(rows)]


# Copies of an exemplar's content, asked about a passage on Nigeria (the first is the real failure).
COPIES = {
    "sw": "Nigeria iko wapi na nyuki wengine mahali maua yalipo?",
    "yo": "Báwo ni oyin ṣe ń fi ibi tí Nigeria wà han?",
    "de": "Wie zeigen Honigbienen anderen Bienen, wo Nigeria liegt?",
    "es": "¿Cómo les indican las abejas a las demás dónde está Nigeria?",
    "zh": "尼日利亚的蜜蜂是怎样告诉同伴花在哪里的？",
    "ar": "كيف يخبر نحل العسل النحلات الأخرى بمكان نيجيريا؟",
    "hi": "मधुमक्खियाँ अपने साथियों को फूलों की जगह के बारे में कैसे बताती हैं?",
}
# Good queries that share a question frame ("ni … gani", "báwo ni … ṣe ń", "wie viele", "是怎样", "كيف") with
# an exemplar query; several share a 3+ token run with one.
FRAMES = {
    "sw": ["Ni mwaka gani Nigeria ilipata uhuru?", "Ni watu wangapi wanaoishi Lagos?", "Mji mkuu wa Nigeria ni upi?"],
    "yo": ["Báwo ni Nigeria ṣe ń ṣàkóso ara rẹ̀?", "Ìgbà wo ni Abuja di olú-ìlú Nigeria?"],
    "de": ["Wann erfand Nigeria seine Hauptstadt Abuja?", "Wie viele Menschen leben in Lagos?"],
    "es": ["¿Cómo sobrevive el pueblo de Nigeria a las sequías?", "¿Cuál es la capital de Nigeria?"],
    "zh": ["尼日利亚是怎样获得独立的？", "尼日利亚是什么时候独立的？", "阿布贾是什么时候成为首都的？"],
    "ar": ["متى حصلت نيجيريا على استقلالها؟", "كيف أصبحت أبوجا عاصمة نيجيريا؟"],
    "hi": ["नाइजीरिया में कितने लोग रहते हैं?", "अबुजा नाइजीरिया की राजधानी कब बना?"],
}


@pytest.mark.parametrize("lang", sorted(COPIES))
def test_exemplar_copy_rejects_exemplar_content_about_another_passage(lang):
    (rejection,) = ExemplarCopyFilter().judge([_copy_row(COPIES[lang], lang)])
    assert rejection is not None and rejection.code == "copies_exemplar"
    assert "exemplar 'honeybee'" in rejection.detail


def test_exemplar_copy_reports_the_copied_run_of_the_real_failure():
    (rejection,) = ExemplarCopyFilter().judge([_copy_row(COPIES["sw"], "sw")])
    assert rejection.reason.startswith(
        "copies_exemplar: 5 words 'nyuki wengine mahali maua yalipo' copied from the query of exemplar 'honeybee'"
    )


@pytest.mark.parametrize("lang", sorted(FRAMES))
def test_exemplar_copy_keeps_queries_that_share_only_a_question_frame(lang):
    assert _codes(ExemplarCopyFilter(), [_copy_row(q, lang) for q in FRAMES[lang]]) == [None] * len(FRAMES[lang])


def test_exemplar_copy_keeps_what_the_passage_is_about():
    # The exemplar's words are fine when the row's own passage is about the same thing: a name it shares
    # (Gutenberg), or, cross-lingually, the English topic words of the exemplar (long droughts).
    gutenberg = "Johannes Gutenberg invented movable-type printing in Mainz around 1440."
    drought = "Farmers in northern Nigeria survive long droughts by storing millet in clay granaries."
    query = "Nigeria hustahimili vipi ukame mrefu?"  # the baobab exemplar's "survive long droughts"
    rows = [
        _copy_row("Gutenberg alivumbua uchapishaji kwa herufi zinazohamishika lini?", "sw", text=gutenberg),
        _copy_row(query, "sw", text=drought),
        _copy_row(query, "sw"),
    ]
    assert _codes(ExemplarCopyFilter(), rows) == [None, None, "copies_exemplar"]


def test_exemplar_copy_checks_exemplar_passages_with_a_longer_run():
    # Monolingual German prompts show German passages: a 5-word run of one (the honeybee's dance) is a copy.
    passages = json.loads((EXEMPLAR_DIR / "de.json").read_text(encoding="utf-8"))["exemplars"]
    honeybee = next(ex for ex in passages if ex["id"] == "honeybee")
    words = re.findall(r"\w+", honeybee["text"])
    start = next(i for i in range(len(words)) if words[i].lower() == "schwänzeltanz")  # a run around the dance
    copied = " ".join(words[start - 2 : start + 3])
    row = _copy_row(f"Warum tanzt Nigeria {copied}?", "de", setting="monolingual", passage_language="de")
    assert _codes(ExemplarCopyFilter(), [row]) == ["copies_exemplar"]
    assert _codes(ExemplarCopyFilter(check_passages=False), [row]) == [None]


def test_exemplar_copy_bad_queries_count_only_for_inpars_gbq():
    # Only inpars-gbq shows the bad queries ("Ni watu wangapi wanaoishi Mainz leo?").
    query = "Ni watu wangapi wanaoishi Mainz leo?"
    rows = [_copy_row(query, "sw", template=t) for t in ("sap", "inpars-gbq")]
    assert _codes(ExemplarCopyFilter(), rows) == [None, "copies_exemplar"]


def test_exemplar_copy_promptagator_uses_the_examples_file(tmp_path):
    examples = tmp_path / "examples.jsonl"
    examples.write_text(
        json.dumps(
            {"text": "Coral reefs grow in warm shallow seas.", "query": "why do coral reefs bleach in hot summers"}
        )
        + "\n",
        encoding="utf-8",
    )
    row = _copy_row("Why do coral reefs bleach in Nigeria?", "en", template="promptagator", setting="monolingual")
    assert _codes(ExemplarCopyFilter(), [row]) == [None]  # no examples given: promptagator rows pass unchecked
    assert _codes(ExemplarCopyFilter(examples=str(examples)), [row]) == ["copies_exemplar"]
    with pytest.raises(ConfigError, match="does not exist"):
        ExemplarCopyFilter(examples=str(tmp_path / "missing.jsonl"))


def test_exemplar_copy_keeps_languages_without_exemplars_and_unknown_codes():
    rows = [_copy_row("nyuki wengine mahali maua yalipo", "xx"), _copy_row("ok", "el")]
    assert _codes(ExemplarCopyFilter(), rows) == [None, None]


# Real Gemma 3 270M outputs (embedded, sap, cross-lingual; 19 XQuAD passages x sw,yo; see the test below),
# with the start of their English passage: none of them is about bees, printing or droughts.
REAL_COPIES = [
    (
        "Ìgbà wo ni ẹ̀rọ ìtẹ̀wé onílẹ́tà irin?",
        "Southern California is home to Los Angeles International Airport.",
        "gutenberg",
    ),
    (
        "Ìgbà wo ni yòrọ ìtẹ̀wé onílẹ́tà irin?",
        "The correlation between capitalism, aristocracy, and imperialism.",
        "gutenberg",
    ),
    ("Ìgbà wo ni ọ̀dá gígùn já?", "The Ediacaran Eoandromeda could putatively represent a comb jelly.", "baobab"),
    ("Ìgbà wo ni yìn ń fi ibi tí òdòdó wà han àwọn oyin mìíràn?", "In Europe, the Seven Years' War.", "honeybee"),
    ("Ìgbà wo ni yòrọ ìtẹ̀wé òdòdó wà han àwọn oyin mìíràn?", "A variety of alternatives to Y. pestis.", "honeybee"),
    ("Ìgbà wo ni ezi oṣu ọ̀dá ń ẹ̀rọ ìtẹ̀wé onílẹ́tà irin?", "Neither Tesla nor Edison won the prize.", "gutenberg"),
]
REAL_LOOPS = [
    "Mbelewa wa asali ya ediacaran yaweza kupata mbele ya mbele ya mbele ya mbele ya mbele ya mbele ya mbele ya mbe",
    "Mbeleza na mbeleza na mbeleza na mbeleza na mbeleza na mbeleza na mbeleza na mbeleza na mbeleza na mbeleza na",
    "Ìgbà wo ni ẹ̀rọ ìtẹ̀wé ẹ̀rọ ìtẹ̀wé ẹ̀rọ ìtẹ̀wé ẹ̀rọ ìtẹ̀",
    "Ìgbà wo ni yòrọ ìtẹ̀wé ń ẹ̀rọ ìtẹ̀wé ń ẹ̀rọ ìtẹ̀wé ń",  # cut off by max_new_tokens in the third repeat
]


@pytest.mark.parametrize(("query", "passage", "exemplar"), REAL_COPIES)
def test_exemplar_copy_rejects_real_gemma_copies_and_names_the_exemplar(query, passage, exemplar):
    (rejection,) = ExemplarCopyFilter().judge([_copy_row(query, "yo", text=passage)])
    assert rejection is not None and rejection.code == "copies_exemplar"
    assert f"exemplar '{exemplar}'" in rejection.detail


def test_repetition_rejects_real_gemma_loops():
    assert _codes(RepetitionFilter(), [make_row(q, "sw") for q in REAL_LOOPS]) == ["degenerate_repetition"] * 4


# ----- repetition

LOOPS = [
    "Ni nani ya nani ya nani ya nani?",  # a 2-word loop
    "Kwa nini kwa nini kwa nini Nigeria?",
    "Ta ni ta ni ta ni olú-ìlú Nigeria?",
    "长城的的的历史是什么",  # one character three times
    "什么什么什么是长城",  # a 2-character word three times
    "ya nani na ya nani wa ya nani na ya nani wa ya nani na ya nani",  # a looser loop: 4 of 17 words distinct
    "ลากอสอยู่ที่ไหนที่ไหนที่ไหน",
]
NATURAL = [
    "Why is New York called New York?",  # twice is language
    "Bora Bora iko wapi?",
    "Kwa nini watu hutembea pole pole Lagos?",  # reduplication
    "Was ist 1 + 1 + 1?",  # numbers may recur
    "人人都知道长城吗",
    "ทำไมต่างๆ ถึงเป็นแบบนั้น",
    "Wer wer hat das gemacht?",
    "สะพานแห่งแรกข้ามแม่น้ำสร้างขึ้นเมื่อใด (Lorus Rudenn Nogars, 1826)?",  # Latin names are words, not letters
]


def test_repetition_rejects_loops_and_keeps_ordinary_repetition():
    f = RepetitionFilter()
    assert _codes(f, [make_row(q) for q in LOOPS]) == ["degenerate_repetition"] * len(LOOPS)
    assert _codes(f, [make_row(q) for q in NATURAL]) == [None] * len(NATURAL)
    (first,) = f.judge([make_row(LOOPS[0])])
    assert first.detail == "'nani ya' (2 words) repeated 3.5 times in a row"


def test_repetition_thresholds_are_options():
    loop = make_row("Kwa nini kwa nini Nigeria?")
    assert _codes(RepetitionFilter(), [loop]) == [None]
    assert _codes(RepetitionFilter(min_repeats=2), [loop]) == ["degenerate_repetition"]


def test_new_filters_keep_every_exemplar_sentence():
    # The natural text of all 33 languages (exemplar queries and passage sentences) is never a loop: no
    # threshold needs the 0.65 floor measured on them.
    rep, rows = RepetitionFilter(), []
    for path in sorted(EXEMPLAR_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for ex in data["exemplars"]:
            for key in ("query", "bad_query", "text", "summary"):
                for sentence in re.split(r"(?<=[.!?。！？])\s*", ex.get(key, "")):
                    if sentence.strip():
                        rows.append(make_row(sentence, data["lang"]))
    assert len(rows) > 300
    assert [r["query"] for r, j in zip(rows, rep.judge(rows), strict=True) if j] == []


# ----- wiring: config, defaults, report, workers, CLI


def test_new_filters_are_default_and_configurable():
    assert [f.name for f in FilterConfig().filters][3:6] == ["heuristics", "exemplar-copy", "repetition"]
    cfg = FilterConfig.from_names(
        "exemplar-copy,repetition", repetition={"min_repeats": 4}, **{"exemplar-copy": {"min_run": 4}}
    )
    copy, rep = build_filters(cfg)
    assert (copy.min_run, rep.min_repeats) == (4, 4)
    with pytest.raises(ConfigError, match=r"filters\[0\]\.min_repeats"):
        FilterConfig.parse({"filters": [{"name": "repetition", "min_repeats": 1}]})


def _crafted_run(tmp_path: Path) -> Path:
    rows = [_copy_row(COPIES[lang], lang, record_id=f"copy-{lang}") for lang in COPIES]
    rows += [_copy_row(q, lang, record_id=f"frame-{lang}-{i}") for lang in FRAMES for i, q in enumerate(FRAMES[lang])]
    rows += [_copy_row(q, "sw", record_id=f"loop-{i}") for i, q in enumerate(LOOPS[:3])]
    return write_generated(tmp_path / "generated.parquet", rows)


def test_new_filters_in_a_parallel_run_and_the_quality_report(tmp_path):
    src = _crafted_run(tmp_path)
    config = FilterConfig.from_names("parse,exemplar-copy,repetition", workers=2, batch_size=4)
    report = run_filters(src, tmp_path / "out", config)
    data = json.loads((tmp_path / "out" / "quality_report.json").read_text())
    assert data["per_filter"]["exemplar-copy"]["reasons"] == {"copies_exemplar": len(COPIES)}
    assert data["per_filter"]["repetition"]["reasons"] == {"degenerate_repetition": 3}
    kept = pq.read_table(tmp_path / "out" / "kept.parquet").column("record_id").to_pylist()
    assert sorted(kept) == sorted(f"frame-{lang}-{i}" for lang in FRAMES for i in range(len(FRAMES[lang])))
    assert report.kept == len(kept)


def test_filter_cli_lists_the_new_reject_codes(tmp_path):
    src = _crafted_run(tmp_path)
    hfswim = Path(sys.executable).with_name("hfswim")
    proc = subprocess.run(
        [str(hfswim), "filter", str(src), "-o", str(tmp_path / "out"), "--filters", "parse,exemplar-copy,repetition"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "copies_exemplar 7" in proc.stdout and "degenerate_repetition 3" in proc.stdout
    md = (tmp_path / "out" / "quality_report.md").read_text(encoding="utf-8")
    assert "copies_exemplar" in md and "degenerate_repetition" in md


def test_hfswim_run_gives_exemplar_copy_the_promptagator_examples(tmp_path):
    from hfswim.pipeline import _filter, _filter_settings

    examples = tmp_path / "examples.jsonl"
    examples.write_text(
        json.dumps({"text": "Coral reefs grow in warm seas.", "query": "why do coral reefs bleach in hot summers"})
        + "\n",
        encoding="utf-8",
    )
    row = _copy_row("Why do coral reefs bleach in Nigeria?", "en", template="promptagator", record_id="copy")
    src = write_generated(tmp_path / "generated.parquet", [row])
    section = {"filters": "parse,exemplar-copy"}
    assert _filter(_filter_settings(section, str(examples)), src, tmp_path / "with")["kept"] == 0
    assert _filter(_filter_settings(section, None), src, tmp_path / "without")["kept"] == 1
