"""The quality benchmark's configs are valid pipeline configs, and its embedding cache follows the model's weights."""

from __future__ import annotations

from pathlib import Path

import pytest

from hfswim.config import PipelineConfig

CONFIGS = Path(__file__).resolve().parent.parent / "benchmarks" / "configs"


@pytest.mark.parametrize("name", ["quality.yaml", "quality_parallel.yaml", "monolingual_xquad.yaml"])
def test_quality_configs_validate(name):
    config = PipelineConfig.from_yaml(CONFIGS / name)
    assert config.generate.summary_source == "lead"


def test_quality_config_states_the_measured_recipe():
    config = PipelineConfig.from_yaml(CONFIGS / "quality.yaml")
    assert [spec.name for spec in config.filter.filters] == [
        "parse", "langid", "dedup", "heuristics", "exemplar-copy", "repetition"
    ]  # fmt: skip
    assert (config.train.batching, config.train.batch_size) == ("single-language", 16)
    assert set(str(config.generate.languages).split(",")) == {"el", "hi", "ro", "vi", "de", "ar"}


def test_embedding_cache_is_dropped_when_the_weights_change(tmp_path):
    import os

    from benchmarks.quality import embedding_cache

    model = tmp_path / "model"
    model.mkdir()
    weights = model / "model.safetensors"
    weights.write_bytes(b"a")
    (embedding_cache(str(model)) / "en-queries.npy").write_bytes(b"x")
    assert (embedding_cache(str(model)) / "en-queries.npy").is_file()  # same weights: kept
    weights.write_bytes(b"bb")
    os.utime(weights, ns=(1, 1))
    assert not (embedding_cache(str(model)) / "en-queries.npy").exists()  # retrained: dropped


def test_monolingual_report_says_what_each_language_lacks():
    from benchmarks.monolingual_xquad import _needed_lines

    results = {
        "BM25": {"mono": {"de": {"q": 0.9}, "hi": {"q": 0.8}}},
        "trained": {"mono": {"de": {"q": 0.85}, "hi": {"q": 0.4}}},
    }
    (line, _) = _needed_lines(results, "trained")
    # BM25 mean 85, goal 75; trained mean 62.5: 12.5 short, 25 points over the two languages
    assert "12.5 points short" in line and "25 points" in line and "de -5.0" in line and "hi -40.0" in line
    results["trained"]["mono"]["hi"] = {"q": 0.7}
    assert _needed_lines(results, "trained") == []  # mean 77.5: met, nothing to say
