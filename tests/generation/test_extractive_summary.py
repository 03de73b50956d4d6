"""SAP with an extractive summary instead of the LLM's (``summary_source: lead|centroid``)."""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

import hfswim.testing.loopback as lb
from hfswim.generation import GenerateConfig, generate
from hfswim.generation.extractive import centroid_summary, lead_summary, split_sentences
from hfswim.testing.loopback import LoopbackLLM
from tests.generation.conftest import make_passages


def test_sentences_and_summaries():
    text = (
        "The Amazon is a river in South America. Dr. Smith measured it in 1990. "
        "It carries more water than any other river. Fish live there."
    )
    assert split_sentences(text)[:2] == ["The Amazon is a river in South America.", "Dr. Smith measured it in 1990."]
    assert lead_summary(text) == "The Amazon is a river in South America. Dr. Smith measured it in 1990."
    assert lead_summary(text, min_words=1) == "The Amazon is a river in South America."
    assert lead_summary("one two three four five", max_words=3) == "one two three"
    assert lead_summary("") == "" and centroid_summary("") == ""
    # The centroid sentence shares the most (IDF-weighted) words with the whole passage.
    text = "Hello there. Tea from Kenya is sold abroad. Kenya grows tea on hills; tea from Kenya is famous."
    assert centroid_summary(text, min_words=1) == "Kenya grows tea on hills; tea from Kenya is famous."
    assert split_sentences("東京は首都です。大阪は大きい。") == ["東京は首都です。", "大阪は大きい。"]


@pytest.mark.parametrize("source", ["lead", "centroid"])
def test_extractive_summary_skips_the_summary_request(source, tmp_path, write_passages, loopback):
    passages = write_passages(make_passages(3))
    prompts: list[str] = []
    original = lb.fake_completion

    def recording(prompt, max_new_tokens, stop):
        prompts.append(prompt)
        return original(prompt, max_new_tokens, stop)

    lb.fake_completion = recording
    try:
        config = GenerateConfig(
            passages=str(passages), output_dir=str(tmp_path / "out"), endpoints=[loopback.url],
            languages="sw,de", summary_source=source, progress=False,
        )  # fmt: skip
        result = generate(config)
    finally:
        lb.fake_completion = original
    assert loopback.state.answered == 6  # queries only: no summary request
    assert not any(p.rstrip().endswith("Summary:") for p in prompts)
    rows = pq.read_table(result.parquet_path).to_pylist()
    assert len(rows) == 6 and all(r["parse_status"] == "ok" and r["query"] for r in rows)
    for row in rows:  # the passage's own sentence is the summary the query prompt showed
        assert row["summary"] == row["text"] and f"Summary: {row['summary']}" in "".join(prompts)
        assert json.loads(row["params"])["summary_source"] == source
    assert result.manifest["tokens"]["by_step"]["summary"]["requests"] == 0
    # the LLM's records keep their keys: the default adds nothing to the key parameters
    assert "summary_source" not in GenerateConfig(passages="p", output_dir="o").generation_params()


def test_extractive_summary_needs_sap(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "hfswim", "generate", str(tmp_path / "p.parquet"), "--output",
         str(tmp_path / "out"), "--strategy", "inpars-vanilla", "--summary-source", "lead"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode != 0 and "Traceback" not in out.stderr
    assert "summary_source" in out.stderr and "sap" in out.stderr


@pytest.mark.parametrize("kind", ["tgi", "openai"])  # TGI keeps the stop string, OpenAI-style servers drop it
def test_llm_first_sentence_summary_stops_at_the_first_sentence(kind, tmp_path, write_passages):
    passages = write_passages(make_passages(2))
    summary_stops: list[list[str] | None] = []
    original = lb.fake_completion

    def recording(prompt, max_new_tokens, stop):
        if prompt.rstrip().endswith("Summary:"):
            summary_stops.append(stop)
            return " Topic one is long. It has a second sentence.", [" Topic", " one", " is", " long.", " It"]
        return original(prompt, max_new_tokens, stop)

    lb.fake_completion = recording
    try:
        with LoopbackLLM(kind=kind) as server:
            config = GenerateConfig(
                passages=str(passages), output_dir=str(tmp_path / "out"), endpoints=[server.url],
                languages="sw,de", summary_source="llm-first-sentence", progress=False,
            )  # fmt: skip
            result = generate(config)
    finally:
        lb.fake_completion = original
    assert summary_stops == [["\n", ". "], ["\n", ". "]]
    rows = pq.read_table(result.parquet_path).to_pylist()
    assert len(rows) == 4 and {r["summary"] for r in rows} == {"Topic one is long."}
    assert result.manifest["tokens"]["by_step"]["summary"]["requests"] == 2
