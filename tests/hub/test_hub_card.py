"""The dataset card: YAML metadata that huggingface_hub reads back without loss, and prose that says how the data was made."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pytest
import yaml
from huggingface_hub import DatasetCard, DatasetCardData

from hfswim.errors import ConfigError, InputError
from hfswim.hub.build import build_dataset
from hfswim.hub.card import card_yaml, check_card, size_category, summarize_quality_report, template_path
from hfswim.hub.config import BuildConfig
from tests.hub.conftest import SECRET_TOKEN, make_record

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def built(tmp_path, write_records):
    rows = [make_record(i, "sw") for i in range(30)] + [make_record(i, "de", "monolingual") for i in range(12)]
    rows[0]["reject_filter"] = "langid"
    src = write_records(rows, filtered=True)
    manifest = tmp_path / "manifest.json"
    manifest.write_text(
        json.dumps(
            {
                "model": "gemma-3-270m",
                "endpoint": {"kind": "openai", "url": "http://localhost:8000/v1", "api_key": SECRET_TOKEN},
                "strategy": "sap",
                "template_hash": "h4sh",
                "params": {"temperature": 0.0, "max_tokens": 128},
                "tokens": {"prompt": 1200, "completion": 300},
                "hf_token": SECRET_TOKEN,
            }
        )
    )
    report = tmp_path / "quality_report.json"
    report.write_text(
        json.dumps(
            {
                "languages": {
                    "sw": {
                        "filters": [{"name": "langid", "in": 30, "rejected": 1, "kept": 29, "samples": [{"q": "x"}]}]
                    }
                },
                "totals": {"in": 42, "rejected": 1},
            }
        )
    )
    config = BuildConfig(manifest=manifest, quality_report=report, heldout_fraction=0.25, license="CC-BY-SA-4.0")
    return build_dataset(src, tmp_path / "repo", config)


def test_card_yaml_round_trips_through_dataset_card_data(built):
    data = card_yaml(built.folder)
    assert DatasetCardData(**data).to_dict() == data
    assert DatasetCard.load(built.folder / "README.md").data.to_dict() == data
    assert yaml.safe_load(DatasetCardData(**data).to_yaml()) == data
    assert data["license"] == "cc-by-sa-4.0"
    assert data["task_categories"] == ["text-retrieval"] and data["size_categories"] == ["n<1K"]
    assert data["language"] == ["de", "en", "sw"]
    assert {c["config_name"] for c in data["configs"]} == set(datasets.get_dataset_config_names(str(built.folder)))
    sizes = {i["config_name"]: i["splits"][0]["num_examples"] for i in data["dataset_info"]}
    assert sizes["sw"] + sizes["sw-queries"] == 29 and sizes["de-mono"] + sizes["de-mono-queries"] == 12
    check_card(built.folder)  # every offline check passes


def test_card_says_which_side_is_which_language(built):
    text = (built.folder / "README.md").read_text()
    assert "the **query** (`query`) is in the config's language L" in text
    assert "is in **English**. Query in L, passage in English" in text
    assert "| `sw` | cross-lingual | Swahili (`sw`) | English |" in text
    assert "| `de-mono` | monolingual | German (`de`) | German |" in text


def test_card_covers_generation_filters_license_snippets_and_citation(built):
    text = (built.folder / "README.md").read_text()
    for expected in (
        "summarize-then-ask (SAP)",
        "Model(s): `gemma-3-270m`; endpoint kind: `openai`",
        "template hash `h4sh`",
        '`{"temperature":0.0}`',
        "Tokens: prompt 1,200, completion 300",
        "| sw | langid | 30 | 1 | 29 | – |",
        "rejected by a filter: 1",
        "**CC-BY-SA-4.0**",
        'load_dataset("<user>/<dataset>", "de-mono", split="train")',
        "Thakur, Nandan",
        "2024.naacl-long.426",
    ):
        assert expected in text, expected
    # The template hash and the generation parameters are stated once (not again from the manifest).
    assert text.count("h4sh") == 1 and "Parameters (manifest)" not in text


def test_secrets_never_reach_the_card_or_the_state(built):
    for name in ("README.md", "hfswim.json"):
        text = (built.folder / name).read_text()
        assert SECRET_TOKEN not in text and "api_key" not in text


def test_check_card_reports_bad_metadata_in_one_error(built):
    readme = built.folder / "README.md"
    text = readme.read_text().replace("license: cc-by-sa-4.0", "license: wikipedia").replace("- n<1K", "- tiny")
    readme.write_text(text.replace("path: data/sw/train-*.parquet", "path: data/zz/train-*.parquet"))
    with pytest.raises(InputError) as err:
        check_card(built.folder)
    message = str(err.value)
    assert "license 'wikipedia'" in message and "size_categories 'tiny'" in message
    assert "data_files 'data/zz/train-*.parquet' match no file" in message


def test_unknown_license_is_a_config_error():
    with pytest.raises(ConfigError, match=r"license: .*unknown license id 'wiki'"):
        BuildConfig.create(license="wiki")


def test_the_dataset_cards_template_is_the_packaged_one():
    source = REPO_ROOT / "dataset_cards" / "swim_ir_dataset_card.md.jinja"
    assert source.read_text() == template_path().read_text()
    assert "{{ card_data }}" in source.read_text()


def test_custom_template_is_used(tmp_path, write_records):
    custom = tmp_path / "card.md.jinja"
    custom.write_text("---\n{{ card_data }}\n---\n\n# {{ pretty_name }}: {{ total_rows }} pairs\n")
    result = build_dataset(write_records([make_record(0)]), tmp_path / "repo", BuildConfig(card_template=custom))
    assert "# SWIM-IR (hfswim): 1 pairs" in result.card_path.read_text()


@pytest.mark.parametrize(
    ("n", "label"), [(0, "n<1K"), (999, "n<1K"), (1_000, "1K<n<10K"), (5_000_000, "1M<n<10M"), (10**13, "n>1T")]
)
def test_size_category(n, label):
    assert size_category(n) == label


def test_quality_report_shapes():
    flat = {"filters": {"dedup": {"rejected": 5, "in": 100}, "langid": {"dropped": 2}}}
    assert [(r["language"], r["filter"], r["rejected"]) for r in summarize_quality_report(flat)] == [
        ("all", "dedup", 5),
        ("all", "langid", 2),
    ]
    listed = {"per_language": [{"language": "yo", "filters": [{"filter": "safety", "n_rejected": 3, "kept": 7}]}]}
    assert summarize_quality_report(listed) == [
        {"language": "yo", "filter": "safety", "in": None, "rejected": 3, "kept": 7, "reasons": "–"}
    ]
    assert summarize_quality_report(None) == []


def test_hfswim_filter_quality_report_is_read_as_documented():
    # The structure documented in hfswim/filters/report.py.
    report = {
        "filters": ["parse", "langid", "dedup"],
        "config": {"filters": [{"name": "langid", "threshold": 0.5}]},
        "totals": {"in": 1000, "kept": 812, "rejected": 188, "kept_fraction": 0.812},
        "per_filter": {
            "parse": {"phase": "row", "in": 1000, "rejected": 10, "out": 990, "reasons": {"no_question": 10}},
            "langid": {
                "phase": "row",
                "in": 990,
                "rejected": 41,
                "out": 949,
                "reasons": {"wrong_language": 30, "english_query": 11},
            },
        },
        "per_language": {
            "sw": {
                "in": 100,
                "kept": 80,
                "rejected": 20,
                "by_filter": {"langid": {"in": 99, "rejected": 12, "out": 87}},
            }
        },
        "samples": {"langid": [{"record_id": "r1", "query": "x", "reason": "wrong_language"}]},
    }
    rows = summarize_quality_report(report)
    assert [(r["language"], r["filter"], r["in"], r["rejected"], r["kept"]) for r in rows] == [
        ("all", "parse", 1000, 10, 990),
        ("all", "langid", 990, 41, 949),
        ("sw", "langid", 99, 12, 87),
        ("all", "all filters", 1000, 188, 812),
    ]
    assert rows[1]["reasons"] == "wrong_language (30), english_query (11)"
