"""The Space's app functions: query cap, highlighting, result cards, model name, and its search on the demo Space."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from hfswim.space import app
from hfswim.space.app import Hit, SearchResult


def test_app_needs_nothing_from_hfswim():
    """app.py is copied into the Space, where hfswim is not installed: its one hfswim import (the language
    detector) is optional, and without it the app still names the query language."""
    tree = ast.parse(Path(app.__file__).read_text(encoding="utf-8"))
    modules = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    modules += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert [m for m in modules if m.split(".")[0] == "hfswim"] == ["hfswim.text.langid"]
    check = (
        "import sys; sys.modules['hfswim'] = None; import runpy; "
        f"app = runpy.run_path({app.__file__!r}); "
        "print(app['_hfswim_detector'](), app['detect_language']('Wo entspringt der Rhein und wie lang ist er?'))"
    )
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["None", "de"], done.stderr


def test_app_detects_the_language_with_hfswim_when_installed():
    from hfswim.text.langid import detect

    assert app._hfswim_detector() is detect
    assert app.detect_language("河上的第一座桥是什么时候建造的") == "zh"  # decided by script, as the langid filter does
    assert app.detect_language("Mto Nile unaanzia wapi na unapita nchi gani?") == "sw"


def test_cap_query_cuts_long_questions():
    assert app.cap_query("  Wo liegt Bonn?  ") == ("Wo liegt Bonn?", False)
    text, cut = app.cap_query("a" * 20_000_000)
    assert cut and len(text) == app.MAX_QUERY_CHARS == 512
    assert app.cap_query(None) == ("", False)


def test_query_terms_skip_stop_words_and_pair_cjk_characters():
    assert app.query_terms("Wo entspringt der Rhein?") == ["entspringt", "rhein"]
    assert set(app.query_terms("长城有多长")) == {"长城", "城有", "有多", "多长"}


def test_highlight_escapes_html_and_marks_terms():
    out = app.highlight("The <b>Rhine</b> & the rhine valley", ["rhine"])
    assert out == "The &lt;b&gt;<mark>Rhine</mark>&lt;/b&gt; &amp; the <mark>rhine</mark> valley"
    assert app.highlight("a<b", []) == "a&lt;b"


def test_result_cards_show_title_language_score_passage_and_id():
    hits = [
        Hit(1, 0.71234, "ar-nil#0", "نهر النيل", "نهر النيل من أطول أنهار العالم", "ar"),
        Hit(2, 0.5, "x<1>", "<script>alert(1)</script>", "plain", ""),
    ]
    html = app.render_results(SearchResult('"النيل"', hits), {"ar": "Arabic"})
    assert html.count('class="hs-card"') == 2
    assert 'data-passage-id="ar-nil#0"' in html and ">ar-nil#0</footer>" in html
    assert '<span class="hs-score" title="cosine similarity">0.712</span>' in html
    assert '<span class="hs-badge" title="Arabic (ar)">ar</span>' in html
    assert "<mark>النيل</mark>" in html and 'dir="auto"' in html
    assert "<script>" not in html and "&lt;script&gt;" in html and "x&lt;1&gt;" in html
    assert 'data-query="&quot;النيل&quot;"' in html
    assert "No passages found" in app.render_results(SearchResult("q", []), {})


def test_status_line_notes_a_cut_query():
    result = SearchResult("Wo entspringt der Rhein?", [], truncated=True, encode_ms=3.0, search_ms=0.2)
    line = app.status_line(result, {"de": "German"}, 512)
    assert "cut to its first 512 characters" in line and "0 passages in 3 ms" in line


def _model_folder(tmp_path: Path, card: str | None = None, config: str | None = None) -> Path:
    folder = tmp_path / "model"
    folder.mkdir()
    if card is not None:
        (folder / "README.md").write_text(card, encoding="utf-8")
    if config is not None:
        (folder / "config.json").write_text(config, encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("card", "config", "expected"),
    [
        ("---\nmodel_name: USE multilingual v3 (PyTorch)\n---\n# Title\n", None, "USE multilingual v3 (PyTorch)"),
        ("---\nmodel-index:\n- name: minilm-swim-sw\n  results: []\n---\n", None, "minilm-swim-sw"),
        ("---\nlicense: mit\n---\n\n# all-MiniLM-L6-v2\nText", None, "all-MiniLM-L6-v2"),
        (None, '{"_name_or_path": "intfloat/multilingual-e5-small"}', "intfloat/multilingual-e5-small"),
        (None, '{"_name_or_path": "/tmp/x/model"}', "model"),
    ],
)
def test_model_display_name_reads_the_card_not_the_folder(tmp_path, card, config, expected):
    assert app.model_display_name(_model_folder(tmp_path, card, config)) == expected


def test_model_display_name_of_the_default_encoder_and_of_a_hub_id():
    from hfswim.training.config import default_base_model

    assert app.model_display_name(default_base_model()) not in ("model", "")
    assert app.model_display_name("org/some-model") == "org/some-model"


def test_space_config_resolves_paths_in_its_folder(tmp_path):
    (tmp_path / "index").mkdir()
    (tmp_path / "space.json").write_text('{"index": "index", "model": "org/enc", "unknown": 1}', encoding="utf-8")
    config = app.SpaceConfig.load(tmp_path)
    assert config.index == str(tmp_path / "index") and config.model == "org/enc"
    assert len(config.examples) >= 6 and config.max_query_chars == 512


@pytest.mark.slow
def test_demo_space_search_caps_the_query_and_its_tokens(demo_space):
    config = app.SpaceConfig.load(demo_space)
    index = app.SpaceIndex.load(config.index, model=config.model)
    assert index.encoder.max_seq_length <= app.MAX_QUERY_TOKENS
    assert len(index) == 40 and len(index.language_counts()) == 15
    result = index.search("Wo entspringt der Rhein? " + "Rhein " * 3_000_000, k=50)
    assert result.truncated and len(result.query) <= 512
    assert len(result.hits) == app.MAX_K and result.hits[0].passage_id == "de-rhein"
    assert [h.rank for h in result.hits] == list(range(1, 21))
    assert all(a.score >= b.score for a, b in zip(result.hits, result.hits[1:], strict=False))
    summary = app.index_summary(index, config)
    assert f"**Model:** {config.model_name}" in summary and "40 passages in 15 languages" in summary


# The passage each default example is about (the examples a visitor clicks first must show the search working).
EXAMPLE_ANSWERS = {
    "奥运会五环代表什么？": "en-olympic-games",
    "Wo entspringt der Rhein?": "de-rhein",
    "Какое озеро самое глубокое в мире?": "ru-baikal",
    "¿Dónde se cultiva la quinua?": "es-quinoa",
    "Mlima Kenya uko wapi na una urefu gani?": "sw-mlima-kenya",
    "أين يصب نهر النيل؟": "ar-nil",
    "ताजमहल किसने बनवाया था?": "hi-taj-mahal",
    "富士山の高さは何メートルですか？": "ja-fujisan",
    "Comment les abeilles fabriquent-elles le miel ?": "en-honeybee",
    "Who built the Great Wall of China?": "zh-changcheng",
}


@pytest.mark.slow
def test_each_default_example_finds_its_passage_in_the_top_3(demo_space):
    config = app.SpaceConfig.load(demo_space)
    index = app.SpaceIndex.load(config.index, model=config.model)
    assert set(config.examples) == set(EXAMPLE_ANSWERS) == set(app.DEFAULT_EXAMPLES)
    ranks = {q: [h.passage_id for h in index.search(q, k=3).hits] for q in config.examples}
    assert {q: EXAMPLE_ANSWERS[q] in top for q, top in ranks.items()} == dict.fromkeys(EXAMPLE_ANSWERS, True), ranks
