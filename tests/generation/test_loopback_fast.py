"""The fast loopback server the client-overhead benchmark runs: its latency option and its request counter."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest


@pytest.fixture
def fast_server():
    """``start(kind, delay)`` -> URL of a ``python -m hfswim.testing.loopback --fast`` process (stopped after)."""
    procs = []

    def start(kind: str = "tgi", delay: float = 0.0) -> str:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        cmd = [sys.executable, "-m", "hfswim.testing.loopback", "--fast", "--port", str(port), "--kind", kind]
        proc = subprocess.Popen([*cmd, "--delay", str(delay)], stdout=subprocess.PIPE)
        procs.append(proc)
        proc.stdout.readline()
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                _get(url + "/health")
                return url
            except OSError:
                time.sleep(0.05)
        raise AssertionError("the fast loopback server did not start")

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(10)


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_stats_count_completion_requests_only(fast_server):
    url = fast_server("openai")
    assert _get(url + "/stats") == {"completions": 0}
    body = {"model": "m", "messages": [{"role": "user", "content": "Title: Nile\nSummary:"}], "max_tokens": 16}
    answers = [_post(url + "/v1/chat/completions", body) for _ in range(3)]
    _get(url + "/v1/models")
    assert all(a["choices"][0]["message"]["content"] for a in answers)
    assert _get(url + "/stats") == {"completions": 3}


def test_delay_holds_each_answer_but_not_the_others(fast_server):
    url = fast_server("tgi", delay=1.0)
    body = {"inputs": "Title: Nile\nSummary:", "parameters": {"max_new_tokens": 16, "details": True}}
    start = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: _post(url + "/generate", body), range(4)))
    elapsed = time.perf_counter() - start
    assert all(a[0]["generated_text"] for a in answers)
    assert 1.0 <= elapsed < 3.0  # four at once: about one latency (slack for a loaded machine), not four (4 s)
    assert _get(url + "/stats") == {"completions": 4}
