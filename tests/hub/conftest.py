"""Fixtures for the hub tests: records written with the real schema, and a recording stand-in for HfApi.

The Hub cannot be reached from the tests. ``RecordingHfApi`` stands in for :class:`huggingface_hub.HfApi`
only: it records every call (arguments bound against the real method signatures, so a renamed or
misspelled argument fails), and keeps an in-memory "remote" of the files each ``upload_folder`` would
commit — selected with huggingface_hub's own ``filter_repo_objects`` and described with its own
``RepoFile`` — so that pushing again, adding a language or pruning shards can be checked end to end.
"""

from __future__ import annotations

import hashlib
import inspect
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import HfApi
from huggingface_hub.hf_api import RepoFile, RepoUrl
from huggingface_hub.utils import filter_repo_objects

from hfswim.io import AtomicParquetWriter
from hfswim.records import FILTERED_SCHEMA, GENERATED_SCHEMA, record_key

SECRET_TOKEN = "hf_TESTtokenNEVERprinted0123456789"


def make_record(i: int, query_language: str = "sw", setting: str = "cross-lingual", **overrides: Any) -> dict[str, Any]:
    passage_language = "en" if setting == "cross-lingual" else query_language
    passage_id = overrides.pop("passage_id", f"doc{i}#0")
    params = {"temperature": 0.0}
    row = {
        "record_id": record_key(passage_id, query_language, "h4sh", "gemma-3-270m", params) + (setting or "-")[0],
        "passage_id": passage_id,
        "doc_id": f"doc{i}",
        "title": f"Title {i}",
        "text": f"Passage {i} written in {passage_language}.",
        "passage_language": passage_language,
        "query_language": query_language,
        "setting": setting,
        "summary": f"Summary {i}.",
        "query": f"Query {i} in {query_language}?",
        "parse_status": "ok",
        "raw_output": "x" * 50,
        "template": "sap",
        "template_hash": "h4sh",
        "model": "gemma-3-270m",
        "endpoint_kind": "openai",
        "params": '{"temperature":0.0}',
        "query_logprob": -0.5 - i / 100,
        "query_tokens": 7,
        "created_at": 1.7e9,
    }
    row.update(overrides)
    return row


@pytest.fixture
def write_records(tmp_path):
    """``write_records(rows, name="records.parquet", filtered=False) -> Path`` with the real record schema."""

    def write(rows: list[dict[str, Any]], name: str = "records.parquet", filtered: bool = False) -> Path:
        path = tmp_path / "in" / name
        with AtomicParquetWriter(path, FILTERED_SCHEMA if filtered else GENERATED_SCHEMA) as writer:
            writer.write_rows(rows)
        return path

    return write


def _bind(method: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Bind a call against the real HfApi method: a wrong argument name raises TypeError here."""
    bound = inspect.signature(getattr(HfApi, method)).bind(None, *args, **kwargs)
    return {k: v for k, v in bound.arguments.items() if k != "self"}


def hf_api_standing_in(api: object) -> type:
    """A class to monkeypatch over ``huggingface_hub.HfApi`` whose every instance is ``api``.

    A class, not a lambda: modules imported after the patch (transformers' ``utils/hub.py``) evaluate
    ``HfApi | None`` at import time, which a function does not support.
    """
    return type("HfApiStandIn", (), {"__new__": lambda cls, *args, **kwargs: api})


class RecordingHfApi:
    """Stands in for HfApi: records calls and keeps the files a real push would have committed."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.remote: dict[str, dict[str, RepoFile]] = {}  # revision -> path -> RepoFile
        self.contents: dict[str, dict[str, bytes]] = {}

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def last(self, name: str) -> dict[str, Any]:
        return [kw for n, kw in self.calls if n == name][-1]

    def create_repo(self, *args: Any, **kwargs: Any) -> RepoUrl:
        call = _bind("create_repo", *args, **kwargs)
        self.calls.append(("create_repo", call))
        self.remote.setdefault("main", {})
        self.contents.setdefault("main", {})
        repo_id = call["repo_id"] if "/" in call["repo_id"] else f"me/{call['repo_id']}"
        return RepoUrl(f"https://huggingface.co/datasets/{repo_id}")

    def create_branch(self, *args: Any, **kwargs: Any) -> None:
        call = _bind("create_branch", *args, **kwargs)
        self.calls.append(("create_branch", call))
        self.remote.setdefault(call["branch"], dict(self.remote.get("main", {})))
        self.contents.setdefault(call["branch"], dict(self.contents.get("main", {})))

    def list_repo_tree(self, *args: Any, **kwargs: Any) -> list[RepoFile]:
        call = _bind("list_repo_tree", *args, **kwargs)
        self.calls.append(("list_repo_tree", call))
        return list(self.remote.get(call.get("revision") or "main", {}).values())

    def upload_folder(self, *args: Any, **kwargs: Any) -> Any:
        call = _bind("upload_folder", *args, **kwargs)
        self.calls.append(("upload_folder", call))
        revision = call.get("revision") or "main"
        remote = self.remote.setdefault(revision, {})
        contents = self.contents.setdefault(revision, {})
        folder = Path(call["folder_path"])
        files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
        selected = list(
            filter_repo_objects(
                files, allow_patterns=call.get("allow_patterns"), ignore_patterns=call.get("ignore_patterns")
            )
        )
        for path in filter_repo_objects(list(remote), allow_patterns=call.get("delete_patterns") or []):
            remote.pop(path, None)
            contents.pop(path, None)
        for path in selected:
            data = (folder / path).read_bytes()
            contents[path] = data
            remote[path] = _repo_file(path, data)
        call["_uploaded"] = selected
        return None


def _repo_file(path: str, data: bytes) -> RepoFile:
    """What the Hub reports: Parquet goes to LFS (sha256), text files are git blobs (sha1)."""
    if path.endswith(".parquet"):
        return RepoFile(
            path=path,
            size=len(data),
            oid="0" * 40,
            lfs={"size": len(data), "oid": hashlib.sha256(data).hexdigest(), "pointerSize": 134},
        )
    blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
    return RepoFile(path=path, size=len(data), oid=blob)


@pytest.fixture(autouse=True)
def _private_datasets_cache(tmp_path, monkeypatch):
    """Each test loads through its own `datasets` cache: folders named alike must not share cached tables."""
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-datasets-cache")


@pytest.fixture
def recording_api() -> RecordingHfApi:
    return RecordingHfApi()
