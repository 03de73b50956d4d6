"""Pushing: everything up to the HfApi calls runs for real on a built folder; the calls go to a recording stand-in."""

from __future__ import annotations

import pytest

from hfswim.errors import ConfigError, InputError
from hfswim.hub.build import build_dataset, load_state
from hfswim.hub.config import BuildConfig
from hfswim.hub.push import push_dataset
from hfswim.hub.upload import push_folder
from tests.hub.conftest import SECRET_TOKEN, make_record


@pytest.fixture
def repo(tmp_path, write_records):
    build_dataset(write_records([make_record(i) for i in range(12)], name="sw.parquet"), tmp_path / "repo")
    return tmp_path / "repo"


def test_first_push_creates_the_repo_and_uploads_every_file_in_one_call(repo, recording_api, write_records):
    result = push_dataset(
        repo, "my-org/swim-ir", private=True, commit_message="v1", token=SECRET_TOKEN, api=recording_api
    )

    assert recording_api.names() == ["create_repo", "list_repo_tree", "upload_folder"]
    created = recording_api.last("create_repo")
    assert (created["repo_id"], created["repo_type"], created["private"], created["exist_ok"]) == (
        "my-org/swim-ir",
        "dataset",
        True,
        True,
    )
    upload = recording_api.last("upload_folder")
    assert upload["repo_id"] == "my-org/swim-ir" and upload["repo_type"] == "dataset"
    assert upload["folder_path"] == str(repo) and upload["commit_message"] == "v1"
    assert upload["revision"] == "main" and upload["token"] == SECRET_TOKEN
    assert upload["_uploaded"] == ["README.md", "data/sw/train-00000-of-00001.parquet", "hfswim.json"]
    assert result.changed and result.uploaded == upload["_uploaded"] and result.deleted == []
    assert result.repo_id == "my-org/swim-ir"
    # The card's snippets name the repo it was pushed to.
    assert 'load_dataset("my-org/swim-ir", "sw", split="train")' in (repo / "README.md").read_text()
    # The folder remembers it (a model trained from the folder names it in `datasets:`), and a rebuild keeps it.
    assert load_state(repo)["repo_id"] == "my-org/swim-ir"
    build_dataset(write_records([make_record(i, "yo") for i in range(5)], name="yo.parquet"), repo)
    assert 'load_dataset("my-org/swim-ir", "sw", split="train")' in (repo / "README.md").read_text()


def test_pushing_the_same_folder_again_is_a_no_op(repo, recording_api):
    push_dataset(repo, "my-org/swim-ir", token=SECRET_TOKEN, api=recording_api)
    recording_api.calls.clear()

    result = push_dataset(repo, "my-org/swim-ir", token=SECRET_TOKEN, api=recording_api)

    assert "upload_folder" not in recording_api.names()
    assert not result.changed and len(result.unchanged) == 3 and result.commit_url is None


def test_adding_a_language_uploads_only_it_and_the_card(repo, recording_api, write_records):
    push_dataset(repo, "my-org/swim-ir", token=SECRET_TOKEN, api=recording_api)
    build_dataset(write_records([make_record(i, "yo") for i in range(5)], name="yo.parquet"), repo)

    result = push_dataset(repo, "my-org/swim-ir", token=SECRET_TOKEN, api=recording_api)

    assert recording_api.last("upload_folder")["_uploaded"] == [
        "README.md",
        "data/yo/train-00000-of-00001.parquet",
        "hfswim.json",
    ]
    assert result.unchanged == ["data/sw/train-00000-of-00001.parquet"]
    assert "data/sw/train-00000-of-00001.parquet" in recording_api.remote["main"]


def test_stale_shards_of_a_rebuilt_language_are_deleted_in_the_same_commit(tmp_path, recording_api, write_records):
    repo = tmp_path / "repo"
    build_dataset(write_records([make_record(i) for i in range(30)]), repo, BuildConfig(shard_rows=10))
    push_dataset(repo, "my-org/swim-ir", token=SECRET_TOKEN, api=recording_api)
    build_dataset(write_records([make_record(i) for i in range(8)]), repo, BuildConfig(shard_rows=10))

    result = push_dataset(repo, "my-org/swim-ir", token=SECRET_TOKEN, api=recording_api)

    assert result.deleted == [f"data/sw/train-0000{i}-of-00003.parquet" for i in range(3)]
    assert sorted(p for p in recording_api.remote["main"] if p.startswith("data/")) == [
        "data/sw/train-00000-of-00001.parquet"
    ]
    assert recording_api.names().count("upload_folder") == 2  # deletions ride the same single call


def test_a_new_revision_is_created_as_a_branch(repo, recording_api):
    push_dataset(repo, "my-org/swim-ir", revision="v1.0", token=SECRET_TOKEN, api=recording_api)
    branch = recording_api.last("create_branch")
    assert (branch["repo_id"], branch["branch"], branch["exist_ok"], branch["repo_type"]) == (
        "my-org/swim-ir",
        "v1.0",
        True,
        "dataset",
    )
    assert recording_api.last("upload_folder")["revision"] == "v1.0"
    assert recording_api.last("list_repo_tree")["revision"] == "v1.0"


def test_bare_repo_name_resolves_to_the_namespace_the_hub_returns(repo, recording_api):
    result = push_dataset(repo, "swim-ir", token=SECRET_TOKEN, api=recording_api)
    assert result.repo_id == "me/swim-ir" and recording_api.last("upload_folder")["repo_id"] == "me/swim-ir"


@pytest.mark.parametrize("bad", ["datasets/org/name/extra", "org/na--me", "-org/name", "org/name.git", "org name"])
def test_invalid_repo_id_is_a_config_error_before_any_call(repo, recording_api, bad):
    with pytest.raises(ConfigError, match="invalid Hub repo id"):
        push_dataset(repo, bad, token=SECRET_TOKEN, api=recording_api)
    assert recording_api.calls == []


def test_missing_token_is_a_config_error(repo, monkeypatch, tmp_path):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setattr("huggingface_hub.constants.HF_TOKEN_PATH", str(tmp_path / "hf-home" / "token"))
    monkeypatch.setattr("huggingface_hub.constants.HF_STORED_TOKENS_PATH", str(tmp_path / "hf-home" / "tokens"))
    with pytest.raises(ConfigError, match="HF_TOKEN or run `hf auth login`"):
        push_folder(repo, "my-org/swim-ir")


def test_missing_or_empty_folder_is_an_input_error(tmp_path, recording_api):
    with pytest.raises(InputError, match="no such"):
        push_folder(tmp_path / "nope", "my-org/x", api=recording_api)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no file to push"):
        push_folder(tmp_path / "empty", "my-org/x", api=recording_api)


def test_hidden_files_are_never_pushed(repo, recording_api):
    (repo / "data" / ".sw-abc.staging").mkdir()
    (repo / "data" / ".sw-abc.staging" / "part-00000.parquet").write_bytes(b"half")
    result = push_folder(repo, "my-org/x", repo_type="model", api=recording_api)
    assert all(not p.startswith("data/.") for p in result.uploaded)
    assert recording_api.last("upload_folder")["repo_type"] == "model"
    assert ".*" in recording_api.last("upload_folder")["ignore_patterns"]
