"""``hfswim train --extend-vocabulary`` (a tiny random USE-architecture base, a few steps): the scripts it adds, the
report in hfswim_training.json and the card, original ids unchanged, and one-line errors where it cannot apply."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hfswim.encoders import load_sentence_transformer
from hfswim.training.config import TrainConfig
from tests.encoders.test_encoders_extend import HINDI, LATIN
from tests.training.conftest import write_parquet

HFSWIM = [sys.executable, "-m", "hfswim"]
GREEK = ["η Αθήνα είναι η πρωτεύουσα της Ελλάδας", "ο ποταμός ρέει στη θάλασσα"]


def _hfswim(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    return subprocess.run([*HFSWIM, *args], capture_output=True, text=True, timeout=300, env=env)


@pytest.fixture(scope="module")
def pairs(tmp_path_factory) -> Path:
    """16 Hindi pairs, 2 Greek ones (below auto's threshold) and Latin ones."""
    texts = [f"{HINDI[i % 4]} {i}" for i in range(17)]
    rows = [{"query": texts[i], "text": texts[i + 1], "query_language": "hi"} for i in range(16)]
    rows += [{"query": GREEK[0], "text": GREEK[1], "query_language": "el"}]
    rows += [{"query": q, "text": t, "query_language": "sw"} for q, t in zip(LATIN, LATIN[1:] + LATIN[:1], strict=True)]
    for i, row in enumerate(rows):
        row |= {"title": "", "passage_id": f"p{i}"}
    return write_parquet(rows, tmp_path_factory.mktemp("pairs") / "pairs.parquet")


def test_train_auto_adds_the_scripts_of_the_training_data(tiny_usem3, pairs, tmp_path):
    out = tmp_path / "model"
    proc = _hfswim("train", str(pairs), "-o", str(out), "--base-model", str(tiny_usem3), "--extend-vocabulary", "auto",
                   "--max-steps", "2", "--batch-size", "4", "--eval-split", "0", "-q")  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]

    report = json.loads((out / "hfswim_training.json").read_text())["vocabulary_extension"]
    assert set(report["scripts"]) == {"indic"} and report["scripts"]["indic"] > 20  # Greek: 2 texts, below auto's 10
    assert report["added_pieces"] == report["scripts"]["indic"] and report["requested"] == ["auto"]
    assert json.loads((out / "hfswim_train_config.json").read_text())["extend_vocabulary"] == ["auto"]
    card = (out / "README.md").read_text()
    assert f"| Vocabulary extension | {report['added_pieces']} SentencePiece pieces added after the base's 100" in card
    assert "--extend-vocabulary auto" in card  # the reproducing command
    assert "  vocabulary: " in proc.stdout and " indic pieces added after the base's 100" in proc.stdout

    base, trained = load_sentence_transformer(tiny_usem3)[0], load_sentence_transformer(out)[0]
    assert trained.original_vocab_size == base.vocab_size == report["original_vocab_size"]
    assert trained.vocab_size == base.vocab_size + report["added_pieces"]
    assert trained.token_ids(LATIN) == base.token_ids(LATIN)  # original ids unchanged
    assert all(0 in row for row in base.token_ids(HINDI[:2])) and not any(0 in r for r in trained.token_ids(HINDI[:2]))


def test_named_scripts_are_checked_against_the_data_and_the_base(tiny_usem3, tiny_st_model, pairs, tmp_path):
    common = [str(pairs), "--max-steps", "1", "--batch-size", "4", "--eval-split", "0", "-q"]
    cases = {
        ("--base-model", str(tiny_usem3), "--extend-vocabulary", "vietnamese"): "no text in the vietnamese script",
        ("--base-model", str(tiny_st_model), "--extend-vocabulary", "indic"): "is not a usem3 model",
    }
    for i, (flags, message) in enumerate(cases.items()):
        proc = _hfswim("train", *common, "-o", str(tmp_path / f"m{i}"), *flags)
        assert proc.returncode != 0, flags
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("hfswim: error:") and message in lines[0], (flags, proc.stderr)


def test_a_pipeline_train_section_takes_it_and_wrong_values_fail_when_read():
    from hfswim.config import PipelineConfig
    from hfswim.errors import ConfigError

    config = PipelineConfig.model_validate(
        {"corpus": {"source": "demo"}, "train": {"extend_vocabulary": "indic, greek"}}
    )
    assert config.train.extend_vocabulary == ["indic", "greek"]
    assert TrainConfig(dataset="d", output_dir="o").extend_vocabulary == []
    for values, message in [
        ({"extend_vocabulary": "klingon"}, "unknown script(s) klingon; expected auto or some of indic, greek"),
        ({"extend_vocabulary": "auto,greek"}, "give auto alone"),
        ({"extend_vocabulary": "auto", "reranker": True}, "not for --reranker"),
    ]:
        with pytest.raises(ConfigError, match=re.escape(message)):
            TrainConfig.build(dataset="d", output_dir="o", **values)
