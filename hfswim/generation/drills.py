"""Fault drills: real ``hfswim generate`` processes against the loopback server, killed and faulted on purpose.

Each drill returns plain counts, so the tests assert on them and ``benchmarks/fault_drills.py`` tabulates
them:

* :func:`kill_resume_drill` — SIGKILL a run at random points several times while the server injects faults of
  every kind, then resume to the end; counts records lost, duplicated, and finished records requested again
  (the server counts real answers per prompt), faults injected by kind and retries.
* :func:`shard_drill` — two shard jobs writing into one folder at once; the last one merges.
* :func:`dead_endpoint_drill` — two endpoints, one killed mid-run (and one dead from the start).
* :func:`find_secrets` — every file under a folder and every captured output, searched for secrets.

Example (a few seconds)::

    from hfswim.generation.drills import kill_resume_drill
    print(kill_resume_drill("/tmp/drill", n_passages=20, kills=2))
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hfswim.records import PASSAGE_LANGUAGE, QUERY_LANGUAGE
from hfswim.testing.loopback import Fault, LoopbackLLM

#: The fault mix of the drills: (action, period in requests). Periods are primes, so the kinds interleave.
FAULT_MIX: tuple[tuple[str | int, int], ...] = (
    (503, 7),
    (429, 11),
    ("drop", 13),
    ("garbage", 17),
    ("empty", 19),
    ("nul", 23),
    (500, 29),
    ("trickle", 53),
)
#: The client-side retry kind each injected fault shows up as.
RETRY_KIND = {
    "503": "http_5xx",
    "500": "http_5xx",
    "429": "http_429",
    "drop": "connection",
    "garbage": "bad_response",
    "empty": "empty_answer",
    "nul": "empty_answer",
    "trickle": "timeout",
}
DRILL_USER, DRILL_PASSWORD = "drill", "Dr1llPassw0rd-9f3k"
DRILL_TOKEN = "hf_DrillTokenNeverWrittenAnywhere42"


def hfswim_command() -> list[str]:
    """How to start the CLI in a subprocess: the console script next to this Python, else ``-m hfswim.cli``."""
    script = Path(sys.executable).with_name("hfswim")
    return [str(script)] if script.exists() else [sys.executable, "-m", "hfswim.cli"]


def drill_env() -> dict[str, str]:
    """The environment of drill processes: offline, and an HF token set (it must never be written anywhere).

    ``HFSWIM_DRILL_PYTHONPATH`` (if set) becomes the processes' ``PYTHONPATH``: the drills then measure another
    checkout of hfswim (a baseline) with this one's server and counters."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_TOKEN": DRILL_TOKEN, "PYTHONUNBUFFERED": "1"}
    if os.environ.get("HFSWIM_DRILL_PYTHONPATH"):
        env["PYTHONPATH"] = os.environ["HFSWIM_DRILL_PYTHONPATH"]
    return env


def _run(command: list[str], timeout: float) -> tuple[int, str]:
    """Run to the end, or kill after ``timeout`` seconds (exit code 124, as timeout(1) reports it)."""
    proc = subprocess.Popen(command, env=drill_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        stdout, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, _ = proc.communicate()
        return 124, stdout.decode("utf-8", "replace")
    return proc.returncode, stdout.decode("utf-8", "replace")


def _manifest(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}


def with_credentials(url: str) -> str:
    return url.replace("http://", f"http://{DRILL_USER}:{DRILL_PASSWORD}@", 1)


def write_passages(path: Path, n: int, prefix: str = "doc") -> Path:
    from hfswim.io import AtomicParquetWriter
    from hfswim.records import PASSAGE_SCHEMA

    rows = [
        {
            "passage_id": f"{prefix}{i}#0",
            "doc_id": f"{prefix}{i}",
            PASSAGE_LANGUAGE: "en",
            "title": f"Topic {prefix}{i}",
            "text": f"Passage {i} tells how the river {prefix}{i} flows through the old city to the sea.",
            "source": "drill",
        }
        for i in range(n)
    ]
    with AtomicParquetWriter(path, PASSAGE_SCHEMA) as writer:
        writer.write_rows(rows)
    return path


def fault_schedule(n_requests: int, mix: tuple[tuple[str | int, int], ...] = FAULT_MIX) -> dict[int, Fault]:
    """Request number (1-based) -> fault: each kind every ``period`` requests (the first kind wins a tie)."""
    schedule: dict[int, Fault] = {}
    for action, period in mix:
        for n in range(period, n_requests + 1, period):
            schedule.setdefault(n, Fault(action, delay=0.2 if action == "trickle" else 0.0))
    return schedule


def store_rows(store: Path, prefix: str) -> list[dict[str, Any]]:
    """The complete lines of a store's files (a line being written right now is left out)."""
    rows = []
    for path in sorted(store.glob(f"{prefix}-*.jsonl")):
        for line in path.read_text(encoding="utf-8").split("\n")[:-1]:
            if line.strip():
                rows.append(json.loads(line))
    return rows


def _sha(prompt: str) -> str:
    return hashlib.sha1(prompt.encode("utf-8")).hexdigest()


@dataclass
class KillDrill:
    """What a kill-and-resume drill saw."""

    passages: int
    records_expected: int
    kills: int = 0
    kills_survived: int = 0
    records_final: int = 0
    lost: int = 0
    duplicated: int = 0
    resent: int = 0  # records or summaries finished before a kill, answered again after it
    exported: int = 0
    failed: int = 0
    faults_injected: dict[str, int] = field(default_factory=dict)
    retries_last_run: dict[str, int] = field(default_factory=dict)
    server_requests: int = 0
    exit_codes: list[int] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list, repr=False)
    wall_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("outputs")
        return out


def kill_resume_drill(
    workdir: str | os.PathLike,
    *,
    n_passages: int = 30,
    languages: str = "sw,de",
    kills: int = 3,
    delay: float = 0.02,
    seed: int = 0,
    faults: bool = True,
    timeout: float = 120.0,
) -> KillDrill:
    """SIGKILL ``hfswim generate`` ``kills`` times at random points (with faults injected), then resume to the end."""
    from hfswim.corpus.reading import read_passages
    from hfswim.prompts import get_prompt_strategy

    rng = random.Random(seed)
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    passages = write_passages(work / "passages.parquet", n_passages)
    out = work / "out"
    langs = languages.split(",")
    drill = KillDrill(passages=n_passages, records_expected=n_passages * len(langs))
    start = time.monotonic()
    with LoopbackLLM(kind="tgi", max_concurrent_requests=8) as server:
        server.state.delay = delay
        if faults:
            server.state.fault_every = fault_schedule(20 * drill.records_expected)
        command = [
            *hfswim_command(), "generate", str(passages), "-o", str(out), "-e", with_credentials(server.url),
            "-l", languages, "--concurrency", "4", "-q", "--request-timeout", "3",
        ]  # fmt: skip
        finished_before: list[tuple[float, list[dict], list[dict]]] = []
        for _ in range(kills):
            # Kill somewhere in the next slice of the remaining work (never at a record boundary on purpose).
            done = len(store_rows(out / "store", "records"))
            remaining = drill.records_expected - done
            target = done + max(1, int(remaining * rng.uniform(0.15, 0.5)))
            proc = subprocess.Popen(command, env=drill_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and proc.poll() is None:
                if len(store_rows(out / "store", "records")) >= target:
                    break
                time.sleep(0.005 + rng.random() * 0.01)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                drill.kills += 1
            proc.wait(30)
            killed_at = time.monotonic()  # the process is gone: any later answer went to a resumed run
            drill.exit_codes.append(proc.returncode)
            drill.outputs.append(proc.stdout.read().decode("utf-8", "replace") if proc.stdout else "")
            finished_before.append(
                (killed_at, store_rows(out / "store", "records"), store_rows(out / "store", "summaries"))
            )
        returncode, output = _run(command, timeout)
        drill.exit_codes.append(returncode)
        drill.outputs.append(output)
        if returncode == 0:
            drill.kills_survived = drill.kills

        records = store_rows(out / "store", "records")
        ids = [r["record_id"] for r in records]
        pairs = {(r["passage_id"], r[QUERY_LANGUAGE]) for r in records}
        expected = {(f"doc{i}#0", lang) for i in range(n_passages) for lang in langs}
        drill.records_final = len(set(ids))
        drill.lost = len(expected - pairs)
        drill.duplicated = len(ids) - len(set(ids))
        if (out / "generated.parquet").exists():
            import pyarrow.parquet as pq

            exported = pq.read_table(out / "generated.parquet", columns=["record_id"]).column("record_id").to_pylist()
            drill.exported = len(exported)
            drill.duplicated += len(exported) - len(set(exported))
        manifest = _manifest(out / "manifest.json")
        drill.failed = int(manifest.get("records", {}).get("failed", -1))
        drill.retries_last_run = dict(manifest.get("retries_by_kind", {}))

        # Server side: a record or summary stored before a kill is never answered again after that kill. (Before
        # it, an answer may legitimately come twice: a request timed out on the client after the server answered.)
        strategy = get_prompt_strategy("sap", "cross-lingual")
        by_id = {p.passage_id: p for p in read_passages(passages)}
        all_summaries = {s["passage_id"]: s["summary"] for s in store_rows(out / "store", "summaries")}
        seen: set[str] = set()

        def resent_after(prompt: str, killed_at: float) -> int:
            sha = _sha(prompt)
            if sha in seen:  # counted at the first kill it survived
                return 0
            seen.add(sha)
            return sum(1 for t in server.state.answered_at.get(sha, []) if t > killed_at)

        for killed_at, before_records, before_summaries in finished_before:
            for s in before_summaries:
                drill.resent += resent_after(strategy.summary_prompt(by_id[s["passage_id"]]), killed_at)
            for r in before_records:
                summary = all_summaries.get(r["passage_id"])
                if r["parse_status"].startswith("summary_") or summary is None:
                    continue
                prompt = strategy.query_prompt(by_id[r["passage_id"]], r[QUERY_LANGUAGE], summary=summary)
                drill.resent += resent_after(prompt, killed_at)
        drill.faults_injected = dict(server.state.injected)
        drill.server_requests = server.state.requests
    drill.wall_s = round(time.monotonic() - start, 2)
    return drill


@dataclass
class ShardDrill:
    shards: int
    records_expected: int
    store_records: int = 0
    shard_exports: list[int] = field(default_factory=list)
    merged_records: int = 0
    merged_manifest_total: int = 0
    duplicated: int = 0
    exit_codes: list[int] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list, repr=False)


def shard_drill(
    workdir: str | os.PathLike, *, n_passages: int = 40, shards: int = 2, timeout: float = 120.0
) -> ShardDrill:
    """``shards`` shard jobs started together into one folder; the last to finish merges."""
    import pyarrow.parquet as pq

    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    passages = write_passages(work / "passages.parquet", n_passages)
    out = work / "out"
    drill = ShardDrill(shards=shards, records_expected=n_passages * 2)
    with LoopbackLLM(kind="tgi", max_concurrent_requests=16) as server:
        server.state.delay = 0.005
        procs = []
        for i in range(shards):
            command = [
                *hfswim_command(), "generate", str(passages), "-o", str(out), "-e", with_credentials(server.url),
                "-l", "sw,de", "--num-shards", str(shards), "--shard-index", str(i), "-q",
            ]  # fmt: skip
            procs.append(subprocess.Popen(command, env=drill_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
        for proc in procs:
            try:
                stdout, _ = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                stdout, _ = proc.communicate()
            drill.exit_codes.append(proc.returncode)
            drill.outputs.append(stdout.decode("utf-8", "replace"))
    ids = [r["record_id"] for r in store_rows(out / "store", "records")]
    drill.store_records = len(set(ids))
    drill.duplicated = len(ids) - len(set(ids))
    for i in range(shards):
        path = out / f"generated-{i}-of-{shards}.parquet"
        drill.shard_exports.append(pq.read_metadata(path).num_rows if path.exists() else -1)
    if (out / "generated.parquet").exists():
        merged = pq.read_table(out / "generated.parquet", columns=["record_id"]).column("record_id").to_pylist()
        drill.merged_records = len(merged)
        drill.duplicated += len(merged) - len(set(merged))
    drill.merged_manifest_total = _manifest(out / "manifest.json").get("records", {}).get("total", -1)
    return drill


@dataclass
class DeadEndpointDrill:
    records_expected: int
    failed: int = -1
    records_final: int = 0
    endpoints_down: int = 0
    endpoints_back: int = 0
    connection_retries: int = 0  # attempts that hit the dead endpoint and were retried
    exit_code: int | None = None
    dead_at_start_exit_code: int | None = None
    dead_at_start_failed: int = -1
    outputs: list[str] = field(default_factory=list, repr=False)


def dead_endpoint_drill(
    workdir: str | os.PathLike, *, n_passages: int = 60, timeout: float = 120.0
) -> DeadEndpointDrill:
    """Two endpoints, one killed mid-run; then a run whose second endpoint is dead from the start."""
    import socket

    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    passages = write_passages(work / "passages.parquet", n_passages)
    drill = DeadEndpointDrill(records_expected=n_passages * 2)
    with LoopbackLLM(kind="tgi", max_concurrent_requests=4) as alive:
        victim = LoopbackLLM(kind="tgi", max_concurrent_requests=4).start()
        alive.state.delay = victim.state.delay = 0.01
        command = [
            # The victim first: when both look equally idle, a tie goes to the first endpoint.
            *hfswim_command(), "generate", str(passages), "-o", str(work / "out"), "-e", with_credentials(victim.url),
            "-e", with_credentials(alive.url), "-l", "sw,de", "-q", "--concurrency", "4",
        ]  # fmt: skip
        proc = subprocess.Popen(command, env=drill_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and victim.state.answered < drill.records_expected // 4:
            time.sleep(0.01)
        victim.stop()
        try:
            stdout, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, _ = proc.communicate()
        drill.exit_code = proc.returncode
        drill.outputs.append(stdout.decode("utf-8", "replace"))
        manifest = _manifest(work / "out" / "manifest.json")
        drill.failed = manifest.get("records", {}).get("failed", -1)
        drill.records_final = len({r["record_id"] for r in store_rows(work / "out" / "store", "records")})
        drill.endpoints_down = manifest.get("this_run", {}).get("endpoints_down", 0)
        drill.connection_retries = manifest.get("retries_by_kind", {}).get("connection", 0)

        with socket.socket() as sock:  # a port nobody listens on
            sock.bind(("127.0.0.1", 0))
            dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
        command = [
            *hfswim_command(), "generate", str(passages), "-o", str(work / "out2"), "-e", with_credentials(dead),
            "-e", with_credentials(alive.url), "-l", "sw,de", "-q", "--concurrency", "4",
        ]  # fmt: skip
        drill.dead_at_start_exit_code, output = _run(command, timeout)
        drill.outputs.append(output)
        drill.dead_at_start_failed = _manifest(work / "out2" / "manifest.json").get("records", {}).get("failed", -1)
    return drill


def find_secrets(
    folders: list[Path], outputs: list[str], secrets: tuple[str, ...] = (DRILL_PASSWORD, DRILL_TOKEN)
) -> list[str]:
    """Where any secret appears: file paths under ``folders`` (any file, binary included) and output indices."""
    found = []
    needles = [s.encode() for s in secrets]
    for folder in folders:
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file():
                data = path.read_bytes()
                if any(n in data for n in needles):
                    found.append(str(path))
    for i, text in enumerate(outputs):
        if any(s in text for s in secrets):
            found.append(f"output #{i}")
    return found


def faults_by_retry_kind(injected: dict[str, int]) -> Counter:
    """Injected faults (server actions) grouped as the retry kinds the client counts them under."""
    grouped: Counter = Counter()
    for action, n in injected.items():
        grouped[RETRY_KIND.get(action, action)] += n
    return grouped
