"""The run's evaluate stage says why there is nothing to evaluate when its dataset has no held-out split."""

import json

import pytest

from hfswim.errors import ConfigError
from hfswim.evaluation import EvaluateConfig
from hfswim.pipeline import _check_heldout_split


def _dataset(tmp_path, heldout):
    folder = tmp_path / "dataset"
    folder.mkdir()
    configs = {"de": {"rows": 4, "heldout": heldout}, "es": {"rows": 2, "heldout": None}}
    (folder / "hfswim.json").write_text(json.dumps({"format": 1, "configs": configs}), encoding="utf-8")
    return folder


def test_no_heldout_split_names_the_fix(tmp_path):
    folder = _dataset(tmp_path, heldout=None)
    configs = {"bm25": EvaluateConfig(model="bm25", tasks=f"local:{folder}")}
    with pytest.raises(ConfigError, match=r"no held-out split.*de 4, es 2.*dataset.heldout_fraction"):
        _check_heldout_split(configs, folder)


def test_a_heldout_split_or_another_benchmark_passes(tmp_path):
    folder = _dataset(tmp_path, heldout={"queries": 3, "corpus": 5})
    _check_heldout_split({"bm25": EvaluateConfig(model="bm25", tasks=f"local:{folder}")}, folder)
    (tmp_path / "other").mkdir()
    empty = _dataset(tmp_path / "other", heldout=None)
    # evaluate.tasks names another benchmark: the run's own split is not needed.
    _check_heldout_split({"bm25": EvaluateConfig(model="bm25", tasks=f"local:{tmp_path / 'bench'}")}, empty)
