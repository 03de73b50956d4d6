"""`hfswim build-dataset` / `hfswim push-dataset` from the command line.

The hub modules' docstring examples run as tests through pytest's ``--doctest-modules`` (pyproject.toml).
"""

from __future__ import annotations

import datasets
import huggingface_hub

from hfswim.cli import main
from tests.hub.conftest import SECRET_TOKEN, hf_api_standing_in, make_record


def test_build_dataset_command_picks_up_side_files(tmp_path, write_records, capsys):
    src = write_records([make_record(i) for i in range(6)] + [make_record(i, "yo") for i in range(3)])
    (src.parent / "quality_report.json").write_text('{"filters": {"langid": {"in": 9, "rejected": 0}}}')

    code = main(["build-dataset", str(src), "--output", str(tmp_path / "repo"), "--heldout-fraction", "0.3"])

    out = capsys.readouterr().out
    assert code == 0
    assert "Using quality report:" in out and "No manifest given" in out
    assert "built sw" in out and "Read 9 records, published 9." in out
    assert "sw-qrels" in datasets.get_dataset_config_names(str(tmp_path / "repo"))
    assert "| all | langid | 9 | 0 |" in (tmp_path / "repo" / "README.md").read_text()


def test_build_dataset_bad_input_is_one_line(tmp_path, write_records, capsys):
    src = write_records([make_record(0)])
    code = main(["build-dataset", str(src), "-o", str(tmp_path / "repo"), "--languages", "sw,yo"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("hfswim: error: ") and "empty language" in err

    code = main(["build-dataset", str(src), "-o", str(tmp_path / "repo"), "--license", "nope"])
    assert code == 2 and "unknown license id 'nope'" in capsys.readouterr().err


def test_push_dataset_command_builds_pushes_and_never_prints_the_token(
    tmp_path, write_records, recording_api, monkeypatch, capsys
):
    monkeypatch.setenv("HF_TOKEN", SECRET_TOKEN)
    monkeypatch.setenv("HFSWIM_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(huggingface_hub, "HfApi", hf_api_standing_in(recording_api))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)  # the stand-in API is "online"
    src = write_records([make_record(i) for i in range(4)])

    code = main(["push-dataset", "my-org/swim-ir", "--records", str(src), "--private", "--commit-message", "first"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Pushed 3 file(s)" in out and "my-org/swim-ir@main" in out
    upload = recording_api.last("upload_folder")
    assert upload["token"] == SECRET_TOKEN and upload["commit_message"] == "first"
    assert (tmp_path / "cache" / "datasets" / "my-org--swim-ir" / "data" / "sw").is_dir()

    code = main(
        ["push-dataset", "my-org/swim-ir", "--folder", str(tmp_path / "cache" / "datasets" / "my-org--swim-ir")]
    )
    out, err = capsys.readouterr()
    assert code == 0 and "already up to date" in out
    assert SECRET_TOKEN not in out + err
    for path in (tmp_path / "cache").rglob("*"):
        if path.is_file():
            assert SECRET_TOKEN.encode() not in path.read_bytes()


def test_push_dataset_invalid_repo_id_is_one_line(tmp_path, capsys):
    code = main(["push-dataset", "org/bad--name", "--folder", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "invalid Hub repo id 'org/bad--name'" in err


def test_help_texts(capsys):
    for command in ("build-dataset", "push-dataset"):
        assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "--heldout-fraction" in out and "--revision" in out and "HF_TOKEN" in out
