"""`hfswim prompts show`: the debugging command prints the exact prompts."""

from __future__ import annotations

import json

from hfswim.cli import main


def test_show_two_step_sap(capsys):
    assert main(["prompts", "show", "--strategy", "sap", "--setting", "cross-lingual", "--lang", "sw"]) == 0
    out = capsys.readouterr().out
    assert "# summary prompt" in out and "# query prompt (Swahili)" in out
    assert "template_hash=" in out and "two_step=True" in out
    assert out.rstrip().endswith("Query (Swahili):")


def test_show_with_passage_file_and_monolingual(tmp_path, capsys):
    passage = {"title": "Zugspitze", "text": "Die Zugspitze ist mit 2962 Metern der höchste Berg Deutschlands."}
    path = tmp_path / "passage.json"
    path.write_text(json.dumps(passage, ensure_ascii=False), encoding="utf-8")
    assert main(["prompts", "show", "-s", "sap-naive", "--setting", "monolingual", "-l", "de", "-p", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith(f"Title: Zugspitze\nPassage: {passage['text']}\nSummary:")
    assert "Query (German): Wie übersteht der Affenbrotbaum lange Dürreperioden?" in out


def test_show_promptagator_with_examples_file(tmp_path, capsys):
    examples = tmp_path / "examples.jsonl"
    examples.write_text('{"text": "Rice is a staple food.", "query": "What is a staple food?"}\n', encoding="utf-8")
    assert main(["prompts", "show", "-s", "promptagator", "-l", "hi", "--examples-file", str(examples)]) == 0
    out = capsys.readouterr().out
    assert "Article: Rice is a staple food.\nQuery: What is a staple food?" in out
    assert out.rstrip().endswith("Query (Hindi):")


def test_errors_are_one_line(capsys):
    assert main(["prompts", "show", "--lang", "klingon"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hfswim: error: --lang: Unknown language 'klingon'") and err.count("\n") == 1
    assert main(["prompts", "show", "-s", "sap", "--template-dir", "/nonexistent/templates"]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert main(["prompts", "list"]) == 2
    assert "expected `show`" in capsys.readouterr().err
