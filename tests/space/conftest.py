"""Fixtures of the Space tests: one demo Space built with the real CLI and served by its own app.py."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HFSWIM = Path(sys.executable).with_name("hfswim")
# English-only encoders: cross-lingual questions cannot find their passage with them.
ENGLISH_ONLY_MODELS = ("all-MiniLM-L6-v2",)


def run_cli(*args: str, timeout: float = 600, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``hfswim ARGS`` as a subprocess, with this checkout first on the path and ``env`` added."""
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        "HF_HUB_OFFLINE": "1",
        **(env or {}),
    }
    return subprocess.run([str(HFSWIM), *args], capture_output=True, text=True, env=env, timeout=timeout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def demo_space(tmp_path_factory) -> Path:
    """``hfswim space build`` on the packaged demo corpus with the default encoder (checked by the build)."""
    folder = tmp_path_factory.mktemp("space") / "demo-space"
    done = run_cli("space", "build", str(folder))
    assert done.returncode == 0, done.stderr
    assert "checked: it loads and answers" in done.stdout
    return folder


@pytest.fixture(scope="session")
def served_space(demo_space) -> Iterator[str]:
    """The built Space started as the Hub starts it (``python app.py`` in its folder); yields its URL."""
    port = free_port()
    env = {
        **os.environ,
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": "",  # the app must not need hfswim
    }
    log = open(demo_space.parent / "app.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=demo_space, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"the built Space exited with {proc.returncode}: {(demo_space.parent / 'app.log').read_text()}"
                )
            try:
                urllib.request.urlopen(url, timeout=2).read(1)
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("the built Space did not answer within 180 s")
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def space_model_name(folder: Path) -> str:
    import json

    return json.loads((folder / "space.json").read_text(encoding="utf-8"))["model_name"]
