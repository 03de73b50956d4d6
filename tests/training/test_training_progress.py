"""The training console: a bar with the loss, never transformers' raw log dicts, even with its logging silenced."""

from __future__ import annotations

import pytest

from hfswim.noise import third_party_noise
from hfswim.training.config import TrainConfig
from hfswim.training.retriever import build_trainer
from tests.training.conftest import synthetic_rows, write_parquet


@pytest.mark.parametrize("progress", ["1", "0"])
def test_no_printer_callback_and_a_loss_bar_when_progress_is_on(tmp_path, tiny_st_model, monkeypatch, progress):
    monkeypatch.setenv("HFSWIM_PROGRESS", progress)
    data = write_parquet(synthetic_rows(16), tmp_path / "d.parquet")
    config = TrainConfig(
        dataset=str(data), output_dir=str(tmp_path / "o"), base_model=str(tiny_st_model), max_steps=1, batch_size=4
    )
    with third_party_noise():  # transformers at ERROR: it would pick PrinterCallback (a dict per log step)
        _, trainer, _ = build_trainer(config)
    names = [type(c).__name__ for c in trainer.callback_handler.callbacks]
    assert "PrinterCallback" not in names and "ProgressCallback" not in names
    assert ("LossOnBar" in names) == (progress == "1")
