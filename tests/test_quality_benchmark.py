"""The quality benchmark's configs are valid pipeline configs, and its embedding cache follows the model's weights."""

from __future__ import annotations

from pathlib import Path

import pytest

from hfswim.config import PipelineConfig

CONFIGS = Path(__file__).resolve().parent.parent / "benchmarks" / "configs"


@pytest.mark.parametrize("name", ["quality.yaml", "quality_parallel.yaml"])
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
