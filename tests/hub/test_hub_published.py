"""What a dataset repo folder publishes: loadable without a config name, no machine paths, usual permissions."""

from __future__ import annotations

import json
import os
import re
import stat

import datasets

from hfswim.hub import build_dataset
from hfswim.hub.config import BuildConfig
from tests.hub.conftest import make_record

MACHINE = re.compile(r"(127\.0\.0\.1|localhost|/tmp/|/root/|/home/|/Users/|\.cache/hfswim)")


def _build(tmp_path, write_records):
    rows = [make_record(i, "sw") for i in range(20)] + [make_record(i, "de") for i in range(8)]
    src = write_records(rows, filtered=True)
    manifest = tmp_path / "manifest.json"
    manifest.write_text(
        json.dumps(
            {
                "model": "gemma-3-270m",
                "endpoints": [{"url": "http://127.0.0.1:44023", "model_id": str(tmp_path / ".cache/hfswim/gemma")}],
                "passages_path": str(tmp_path / "passages.parquet"),
                "template_hash": "h4sh",
            }
        )
    )
    report = tmp_path / "quality_report.json"
    per_language = {
        code: {"in": n + 2, "kept": n, "rejected": 2, "by_filter": {"langid": {"in": n + 2, "rejected": 2, "out": n}}}
        for code, n in (("sw", 20), ("de", 8))
    }
    report.write_text(
        json.dumps(
            {
                "input": str(tmp_path / "generated.parquet"),
                "execution_order": ["parse", "langid"],
                "per_filter": {"langid": {"in": 32, "rejected": 4, "out": 28}},
                "per_language": per_language,
                "totals": {"in": 32, "kept": 28, "rejected": 4},
            }
        )
    )
    config = BuildConfig(
        manifest=manifest, quality_report=report, heldout_fraction=0.25, source_datasets=["wikimedia/wikipedia"]
    )
    return build_dataset(src, tmp_path / "repo", config)


def test_load_dataset_without_a_config_name(tmp_path, write_records):
    folder = _build(tmp_path, write_records).folder
    loaded = datasets.load_dataset(str(folder), split="train", cache_dir=str(tmp_path / "cache"))
    assert len(loaded) > 0 and set(loaded["code"]) == {"sw"}  # the default: the largest training config


def test_published_files_hold_no_machine_path_and_are_world_readable(tmp_path, write_records):
    folder = _build(tmp_path, write_records).folder
    published = [
        p
        for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.parts[len(folder.parts) :])
    ]
    assert any(p.suffix == ".png" for p in published)  # the card's funnel chart
    for path in published:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == 0o666 & ~_umask(), f"{path}: {oct(mode)}"
        if path.suffix in (".md", ".json"):
            text = path.read_text(encoding="utf-8")
            assert not MACHINE.search(text), f"{path}: {MACHINE.search(text).group(0)}"
    for sub in (p for p in folder.rglob("*") if p.is_dir() and ".staging" not in p.name):
        assert stat.S_IMODE(sub.stat().st_mode) == 0o777 & ~_umask(), sub


def test_card_names_the_source_shows_a_record_limitations_and_the_funnel(tmp_path, write_records):
    folder = _build(tmp_path, write_records).folder
    card = (folder / "README.md").read_text(encoding="utf-8")
    assert "- wikimedia/wikipedia" in card and "- original" not in card
    assert "An example record" in card and '"query":' in card
    assert "## Limitations" in card and "not reviewed by people" in card
    assert "![Generated queries per language" in card and (folder / "images" / "filter_funnel.png").is_file()
    assert "| Swahili (`sw`) | 22 | 20 | 91% | 2 |" in card  # one row per language, a column per filter
    assert card.count("h4sh") == 1


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
