"""Prompt strategies: the contract API, prefix-first layout, summary reuse, overrides and hashing."""

from __future__ import annotations

import json
import shutil

import pytest

from hfswim.errors import ConfigError, InputError
from hfswim.prompts import PromptStrategy, get_prompt_strategy
from hfswim.prompts import exemplars as exemplars_module
from hfswim.prompts.strategies import STRATEGY_NAMES
from hfswim.prompts.templates import PACKAGED_TEMPLATE_DIR
from hfswim.records import CROSS_LINGUAL, MONOLINGUAL, PASSAGE_SCHEMA

EXAMPLES = [
    {
        "text": "The Nile flows north through eleven countries into the Mediterranean Sea.",
        "query": "Where does the Nile end?",
    },
    {
        "title": "Rice",
        "text": "Rice is the staple food of more than half of humanity.",
        "query": "How many people eat rice?",
    },
]


def make_passage(text: str, lang: str = "en", title: str = "Kilimanjaro", pid: str = "doc#0") -> dict:
    passage = {
        "passage_id": pid,
        "doc_id": pid.split("#")[0],
        "passage_language": lang,
        "title": title,
        "text": text,
        "source": "t",
    }
    assert set(passage) == set(PASSAGE_SCHEMA.names)
    return passage


P1 = make_passage("Kilimanjaro is the highest mountain in Africa, at 5,895 metres.", pid="a#0")
P2 = make_passage("The Sahara is the largest hot desert in the world.", title="Sahara", pid="b#0")


def build(name: str, setting: str = CROSS_LINGUAL, **kwargs) -> PromptStrategy:
    if name == "promptagator":
        kwargs.setdefault("examples", EXAMPLES)
    return get_prompt_strategy(name, setting, **kwargs)


def query_prompt(strategy: PromptStrategy, passage: dict, lang: str) -> str:
    return strategy.query_prompt(passage, lang, "A summary." if strategy.two_step else None)


@pytest.mark.parametrize("setting", [CROSS_LINGUAL, MONOLINGUAL])
@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_contract_attributes(name, setting):
    strategy = build(name, setting)
    assert isinstance(strategy, PromptStrategy)
    assert (strategy.name, strategy.setting) == (name, setting)
    assert strategy.two_step is (name == "sap")
    assert len(strategy.template_hash) == 16 and int(strategy.template_hash, 16) >= 0
    # TGI's default --max-stop-sequences and the OpenAI API both allow 4.
    assert 1 <= len(strategy.stop) <= 4 and "\n\n" in strategy.stop


@pytest.mark.parametrize("setting", [CROSS_LINGUAL, MONOLINGUAL])
@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_shared_prefix_comes_first(name, setting):
    """Two passages of one language share a byte-identical prefix that ends before the passage."""
    strategy = build(name, setting)
    lang = "de"
    p1, p2 = (dict(p, passage_language=lang) if setting == MONOLINGUAL else p for p in (P1, P2))
    pairs = [[query_prompt(strategy, p, lang) for p in (p1, p2)]]
    if strategy.two_step:
        pairs.append([strategy.summary_prompt(p) for p in (p1, p2)])
    for first, second in pairs:
        passage_at = first.index(p1["title"]) if p1["title"] in first else first.index(p1["text"])
        prefix = first[: first.rindex("\n\n", 0, passage_at) + 2]
        assert second.startswith(prefix)
        assert len(prefix) > 200  # instructions and exemplars, not just a label
        assert p1["text"] not in prefix and p1["title"] not in prefix
        assert p2["text"] not in prefix and p2["title"] not in prefix


def test_sap_summary_prompt_is_reused_across_languages():
    sap = build("sap")
    # One summary prompt per passage, whatever the target languages: it takes no language at all.
    prompt = sap.summary_prompt(P1)
    assert prompt.endswith(f"Passage: {P1['text']}\nSummary:")
    assert "Query" not in prompt  # language-independent exemplars: English passages and summaries only
    for lang, name in [("sw", "Swahili"), ("hi", "Hindi"), ("zh", "Chinese")]:
        query = sap.query_prompt(P1, lang, summary="Kilimanjaro is Africa's highest mountain.")
        assert query.endswith(
            f"Title: Kilimanjaro\nSummary: Kilimanjaro is Africa's highest mountain.\nQuery ({name}):"
        )
        assert P1["text"] not in query  # the summary replaces the passage: that is the token saving


def test_sap_query_context_passage_and_summary():
    sap = build("sap", query_context="passage+summary")
    prompt = sap.query_prompt(P1, "sw", summary="Kilimanjaro is high.")
    assert prompt.endswith(f"Passage: {P1['text']}\nSummary: Kilimanjaro is high.\nQuery (Swahili):")
    assert sap.template_hash != build("sap").template_hash
    with pytest.raises(ConfigError, match="query_context"):
        build("sap", query_context="everything")
    with pytest.raises(ConfigError, match="query_context"):
        build("sap-naive", query_context="passage+summary")


def test_sap_naive_prompt_and_parse():
    naive = build("sap-naive")
    prompt = naive.query_prompt(P1, "sw")
    assert prompt.endswith(f"Passage: {P1['text']}\nSummary:")
    assert prompt.count("Query (Swahili):") == 3  # one per exemplar; the model writes the fourth
    result = naive.parse_query(" Kilimanjaro is Africa's highest peak.\nQuery (Swahili): Mlima mrefu zaidi?")
    assert (result.summary, result.query, result.status) == (
        "Kilimanjaro is Africa's highest peak.",
        "Mlima mrefu zaidi?",
        "ok",
    )


def test_inpars_prompts():
    vanilla = build("inpars-vanilla").query_prompt(P1, "sw")
    assert vanilla.endswith(f"Example 4:\nDocument: {P1['text']}\nRelevant Query (Swahili):")
    assert "written in Swahili" in vanilla  # cross-lingual: the query language is instructed
    gbq = build("inpars-gbq").query_prompt(P1, "sw")
    assert gbq.count("Bad Question (Swahili):") == 3 and gbq.endswith("Good Question (Swahili):")
    mono = build("inpars-vanilla", MONOLINGUAL).query_prompt(dict(P1, passage_language="en"), "en")
    assert mono.endswith("Relevant Query:") and "written in" not in mono
    parsed = build("inpars-gbq").parse_query(" Mlima gani ni mrefu zaidi?\nBad Question (Swahili): Mlima ni nini?")
    assert parsed.query == "Mlima gani ni mrefu zaidi?"


def test_promptagator_uses_user_examples():
    strategy = build("promptagator")
    prompt = strategy.query_prompt(P1, "sw")
    assert "Article: The Nile flows north" in prompt and "Query: How many people eat rice?" in prompt
    assert "Title: Rice" in prompt and prompt.endswith("Query (Swahili):")
    assert "baobab" not in prompt  # packaged exemplars are not used
    other = build("promptagator", examples=EXAMPLES[:1])
    assert other.template_hash != strategy.template_hash


@pytest.mark.parametrize(
    ("examples", "match"),
    [
        (None, "needs few-shot examples"),
        ([], "needs few-shot examples"),
        ([EXAMPLES[0]] * 9, "at most 8"),
        (["just a string"], r"examples\[0\] must be a dict"),
        ([{"text": "x"}], r"examples\[0\] needs a non-empty string 'query'"),
        ([EXAMPLES[0], {"text": " ", "query": "q"}], r"examples\[1\] needs a non-empty string 'text'"),
    ],
)
def test_promptagator_rejects_bad_examples(examples, match):
    with pytest.raises(ConfigError, match=match):
        get_prompt_strategy("promptagator", examples=examples)


def test_bad_options_and_inputs():
    with pytest.raises(ConfigError, match="Unknown prompt strategy"):
        get_prompt_strategy("sapp")
    with pytest.raises(ConfigError, match="Unknown setting"):
        get_prompt_strategy("sap", "xor")
    with pytest.raises(ConfigError, match="examples= is for the promptagator"):
        get_prompt_strategy("sap", examples=EXAMPLES)
    with pytest.raises(ConfigError, match="num_exemplars"):
        get_prompt_strategy("sap", num_exemplars=99)
    with pytest.raises(ConfigError, match="Unknown language"):
        build("sap").query_prompt(P1, "xx", summary="s")
    with pytest.raises(ConfigError, match="monolingual setting covers the MIRACL"):
        build("sap-naive", MONOLINGUAL).query_prompt(dict(P1, passage_language="ta"), "ta")
    with pytest.raises(InputError, match="empty 'text'"):
        build("sap").summary_prompt(dict(P1, text="  "))
    with pytest.raises(InputError, match="needs its summary"):
        build("sap").query_prompt(P1, "sw")
    with pytest.raises(InputError, match="monolingual queries are in the passage's language"):
        build("sap", MONOLINGUAL).query_prompt(dict(P1, passage_language="de"), "sw", summary="s")
    with pytest.raises(ConfigError, match="one-step"):
        build("sap-naive").summary_prompt(P1)


def test_num_exemplars():
    one = build("sap-naive", num_exemplars=1).query_prompt(P1, "sw")
    assert one.count("Query (Swahili):") == 1
    assert build("sap-naive", num_exemplars=1).template_hash != build("sap-naive").template_hash


def test_passage_whitespace_is_flattened():
    """A blank line inside a passage must not look like the end of an exemplar (and a stop sequence)."""
    prompt = build("sap").summary_prompt(dict(P1, text="Line one.\n\nLine  two.\n"))
    assert prompt.endswith("Passage: Line one. Line two.\nSummary:")


# --- template overrides and the template hash -------------------------------------------------


def test_template_override_replaces_only_named_files(tmp_path):
    (tmp_path / "sap_query.jinja").write_text(
        "{% block prefix %}Ask in {{ query_lang.english_name }}.\n\n{% endblock %}"
        "{% block item %}About: {{ summary }}\nQ:{% endblock %}",
        encoding="utf-8",
    )
    custom = build("sap", template_dir=str(tmp_path))
    assert custom.query_prompt(P1, "sw", summary="High mountain.") == "Ask in Swahili.\n\nAbout: High mountain.\nQ:"
    assert custom.summary_prompt(P1) == build("sap").summary_prompt(P1)  # not overridden: packaged
    assert custom.template_hash != build("sap").template_hash


@pytest.mark.parametrize(
    ("filename", "text", "match"),
    [
        (
            "sap_full.jinja",
            "{% block prefix %}{% for x in %}{% endblock %}{% block item %}{% endblock %}",
            r"sap_full.jinja:1",
        ),
        ("sap_full.jinja", "{% block prefix %}Only a prefix{% endblock %}", "missing: item"),
        (
            "sap_full.jinja",
            "{% block prefix %}{{ nope }}{% endblock %}{% block item %}x{% endblock %}",
            "undefined variable",
        ),
        ("sap_ful.jinja", "x", "Unknown template file"),
    ],
)
def test_invalid_override_is_one_config_error(tmp_path, filename, text, match):
    (tmp_path / filename).write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=match):
        build("sap-naive", template_dir=str(tmp_path))


def test_missing_override_dir(tmp_path):
    with pytest.raises(ConfigError, match="is not a folder"):
        build("sap", template_dir=str(tmp_path / "nowhere"))


def test_template_hash_is_stable_and_tracks_exemplars(tmp_path, monkeypatch):
    assert build("sap").template_hash == build("sap").template_hash
    assert build("sap").template_hash != build("sap", MONOLINGUAL).template_hash
    assert len({build(name).template_hash for name in STRATEGY_NAMES}) == len(STRATEGY_NAMES)

    # Copy the packaged templates unchanged: same text, same hash.
    same = tmp_path / "same"
    shutil.copytree(PACKAGED_TEMPLATE_DIR, same)
    assert build("sap", template_dir=str(same)).template_hash == build("sap").template_hash

    # Edit one exemplar query: the hash changes.
    before = build("sap").template_hash
    edited = tmp_path / "exemplars"
    shutil.copytree(exemplars_module.EXEMPLAR_DIR, edited)
    data = json.loads((edited / "sw.json").read_text(encoding="utf-8"))
    data["exemplars"][0]["query"] = "Mbuyu hukua wapi barani Afrika?"
    (edited / "sw.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setattr(exemplars_module, "EXEMPLAR_DIR", edited)
    exemplars_module.clear_cache()
    try:
        assert build("sap").template_hash != before
    finally:
        monkeypatch.undo()
        exemplars_module.clear_cache()
    assert build("sap").template_hash == before
