"""Bad inputs: one clear error line each, through the real CLI entry point."""

from __future__ import annotations

import json
import socket

import pytest

from hfswim.cli import main
from tests.generation.conftest import make_passages


def _run(capsys, *args: str) -> tuple[int, str]:
    code = main(["generate", *args, "--no-progress"])
    err = capsys.readouterr().err.strip()
    return code, err


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_missing_corpus(tmp_path, capsys, loopback):
    code, err = _run(capsys, str(tmp_path / "nope.parquet"), "-o", str(tmp_path / "out"), "-e", loopback.url)
    assert code == 2 and err.startswith("hfswim: error:") and "nope.parquet: no such file" in err
    assert len(err.splitlines()) == 1


def test_empty_passage(tmp_path, capsys, write_passages, loopback):
    rows = make_passages(3)
    rows[1]["text"] = "   "
    path = write_passages(rows)
    code, err = _run(capsys, str(path), "-o", str(tmp_path / "out"), "-e", loopback.url, "-l", "sw")
    assert code == 2 and "row 2 (passage_id 'doc1#0'): empty passage text" in err and len(err.splitlines()) == 1


def test_unknown_language(tmp_path, capsys, write_passages, loopback):
    path = write_passages(make_passages(1))
    code, err = _run(capsys, str(path), "-o", str(tmp_path / "out"), "-e", loopback.url, "-l", "sw,swahilli")
    assert code == 2 and "languages" in err and "Unknown language 'swahilli'" in err and "sw (Swahili)" in err
    assert loopback.state.requests == 0


def test_unknown_passage_language(tmp_path, capsys, write_passages, loopback):
    rows = make_passages(2)
    rows[1]["passage_language"] = "xx"
    path = write_passages(rows, "passages.jsonl")
    code, err = _run(capsys, str(path), "-o", str(tmp_path / "out"), "-e", loopback.url, "-l", "sw")
    assert code == 2 and "row 2" in err and "unknown passage language 'xx'" in err


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"passage_id": "a#0", "text": "fine"}\n{"passage_id": "b#0", "text": \n', "passages.jsonl:2: malformed JSON"),
        ('{"passage_id": "a#0", "text": "fine"}\n{"text": "no id"}\n', "row 2: missing or non-string 'passage_id'"),
        ('{"passage_id": "a#0", "body": "no text column"}\n', "row 1 (passage_id 'a#0'): missing or non-string 'text'"),
    ],
)
def test_malformed_rows(tmp_path, capsys, loopback, content, expected):
    path = tmp_path / "passages.jsonl"
    path.write_text(content)
    code, err = _run(capsys, str(path), "-o", str(tmp_path / "out"), "-e", loopback.url, "-l", "sw")
    assert code == 2 and expected in err and len(err.splitlines()) == 1
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["status"] == "error"


def test_unreachable_endpoint(tmp_path, capsys, write_passages):
    path = write_passages(make_passages(1))
    url = f"http://127.0.0.1:{_closed_port()}"
    code, err = _run(capsys, str(path), "-o", str(tmp_path / "out"), "-e", url, "-l", "sw")
    assert code == 2 and f"Cannot reach the LLM endpoint {url}" in err and len(err.splitlines()) == 1


def test_bad_shard_options(tmp_path, capsys, write_passages, loopback):
    path = write_passages(make_passages(1))
    code, err = _run(capsys, str(path), "-o", str(tmp_path / "o"), "-e", loopback.url, "--num-shards", "2",
                     "--shard-index", "2")  # fmt: skip
    assert code == 2 and "shard_index 2 must be < num_shards 2" in err


def test_inference_endpoint_name_offline_is_one_clear_error(tmp_path, capsys, write_passages):
    # HF_HUB_OFFLINE=1 in the test session: looking a named Inference Endpoint up on the Hub cannot work.
    path = write_passages(make_passages(1))
    code, err = _run(capsys, str(path), "-o", str(tmp_path / "out"), "-e", "my-endpoint", "--namespace", "my-org")
    assert code == 2 and "Inference Endpoint 'my-endpoint' in namespace 'my-org'" in err and len(err.splitlines()) == 1


def test_inference_endpoint_name_resolves_to_its_url(monkeypatch, loopback):
    import huggingface_hub

    from hfswim.generation import discover_endpoint

    class Running:  # what huggingface_hub.get_inference_endpoint returns for a running endpoint
        url = loopback.url + "/"
        status = "running"

    seen = {}

    def get_inference_endpoint(name, namespace=None, token=None):
        seen.update(name=name, namespace=namespace)
        return Running()

    monkeypatch.setattr(huggingface_hub, "get_inference_endpoint", get_inference_endpoint)
    endpoint = discover_endpoint("my-endpoint", namespace="my-org")
    assert seen == {"name": "my-endpoint", "namespace": "my-org"}
    assert endpoint.url == loopback.url and endpoint.kind == "tgi" and endpoint.max_concurrency == 8


def test_a_cross_lingual_run_says_when_a_selected_language_is_the_passages_own(tmp_path, write_passages):
    """`--languages de,en` on English passages gives no English queries (cross-lingual = another language): the
    user is told once, on stderr, and the run succeeds with the German ones."""
    import subprocess
    import sys

    from hfswim.testing.loopback import LoopbackLLM
    from tests.generation.conftest import make_passages

    passages = write_passages(make_passages(2))
    with LoopbackLLM(kind="tgi") as server:
        proc = subprocess.run(
            [sys.executable, "-m", "hfswim", "generate", str(passages), "-o", str(tmp_path / "run"), "--endpoint",
             server.url, "--languages", "de,en", "--max-new-tokens", "16", "--quiet"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "2 passage(s) are in en, a selected query language" in proc.stderr
    assert "--setting monolingual" in proc.stderr and proc.stdout.startswith("2 accepted")
