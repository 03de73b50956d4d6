"""`hfswim sample` end to end, and the packaged demo corpus."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import pyarrow.parquet as pq

from hfswim.cli import main
from hfswim.corpus import CorpusConfig, chunk_text, count_words, demo_corpus_path, iter_passages
from hfswim.records import PASSAGE_SCHEMA


def test_demo_corpus_is_multilingual_and_exercises_chunking():
    rows = [json.loads(line) for line in demo_corpus_path().read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 40 and len({r["doc_id"] for r in rows}) == 40
    assert all(set(r) == {"doc_id", "lang", "title", "text"} for r in rows)
    langs = Counter(r["lang"] for r in rows)
    assert langs["en"] == 16
    assert set(langs) == {"en", "de", "es", "fr", "sw", "hi", "zh", "ja", "ar", "ru", "bn", "te", "th", "yo", "id"}
    assert all(40 <= count_words(r["text"]) <= 180 for r in rows)
    long_docs = [r["doc_id"] for r in rows if len(chunk_text(r["text"], r["lang"])) > 1]
    assert "zh-changcheng" in long_docs and sum(d.startswith("en-") for d in long_docs) >= 2
    assert CorpusConfig(source="demo").source == str(demo_corpus_path())
    passages = list(iter_passages(CorpusConfig(source="demo")))
    assert all(count_words(p.text) <= 100 for p in passages)


def test_cli_samples_the_demo_corpus(tmp_path, capsys):
    out = tmp_path / "passages.parquet"
    assert main(["sample", "demo", "-o", str(out), "--cap-per-language", "1", "--languages", "xor", "--seed", "3"]) == 0
    table = pq.read_table(out)
    assert table.schema == PASSAGE_SCHEMA
    langs = table.column("passage_language").to_pylist()
    assert sorted(langs) == sorted({"de", "es", "fr", "sw", "hi", "zh", "ja", "ar", "ru", "bn", "te", "th", "yo", "id"})
    printed = capsys.readouterr().out
    assert "Kept 14 passages in 14 languages" in printed and "en" not in langs
    assert "  zh           1  of 3" in printed


def test_cli_reads_a_config_file_and_lets_options_override_it(tmp_path, capsys):
    config = tmp_path / "corpus.yaml"
    config.write_text(
        f"corpus:\n  source: {demo_corpus_path()}\n  languages: [en]\n  max_words: 60\n", encoding="utf-8"
    )
    out = tmp_path / "p.parquet"
    assert main(["sample", "--config", str(config), "-o", str(out), "--rate", "1.0"]) == 0
    texts = pq.read_table(out).column("text").to_pylist()
    assert len(texts) > 16 and all(count_words(t) <= 60 for t in texts)


def test_cli_errors_are_one_line(tmp_path, capsys):
    out = tmp_path / "p.parquet"
    assert main(["sample", str(tmp_path / "missing.jsonl"), "-o", str(out)]) == 2
    assert main(["sample", "demo", "-o", str(out), "--rate", "0.5", "--sample-size", "3"]) == 2
    assert main(["sample", "demo", "-o", str(out), "--max-words", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0] == f"hfswim: error: {tmp_path / 'missing.jsonl'}: no such file or folder."
    assert err[1] == "hfswim: error: command line: Give either sample_size or rate, not both."
    assert err[2] == "hfswim: error: --max-words: Input should be greater than or equal to 1 (got 0)."
    assert not out.exists()


def test_console_script_help_is_fast_and_helpful():
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from hfswim.cli import main; sys.exit(main(['sample', '--help']))"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0
    assert "inclusion threshold" in done.stdout and "--cap-per-language" in done.stdout
    check = "import sys, hfswim.corpus.cli; print(sorted(m for m in ('datasets', 'pyarrow', 'torch', 'sentencex') if m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", check], capture_output=True, text=True).stdout.strip() == "[]"
