"""Benchmark 2: client overhead of ``hfswim generate`` against a zero-latency loopback server.

The loopback LLM runs in ANOTHER process (``python -m hfswim.testing.loopback --fast``: a raw asyncio
protocol on uvloop, answering instantly with TGI- or Messages-API-shaped completions), so what is measured is
hfswim's own end-to-end cost per completion: render the prompt, send it through hfswim's client
(:class:`hfswim.generation.client.LLMClient`, aiohttp), parse the answer, append the record durably (one ``os.write`` per record before it counts as done), plus the
run's start-up, Parquet export and manifest. Two-step SAP, 5 target languages: 6 completions per passage.

Reported per run, side by side in one process: completions/s on the wall clock (client and server sharing the
machine's cores, with whatever else runs there), the client's CPU per completion (``time.process_time``) and
the server's (from ``/proc``), and what one client core sustains (1e6 / client CPU us). A raw aiohttp loop
posting a similar request (no rendering, parsing or writing) is the floor; a loop over huggingface_hub's public
``AsyncInferenceClient`` (``text_generation(details=True)`` / ``chat_completion``, no rendering, parsing or
writing either) is what the public-API alternative to hfswim's own client would cost. Runs are interleaved
and the median is reported. Goal: >= 2,000 completions/s on 2 cores.

    .venv/bin/python -m benchmarks.client_overhead [--passages 1000] [--concurrency 64] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "generation_client_overhead.md"
LANGS = "sw,yo,hi,zh,ar"
_TICK = os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_server(kind: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "hfswim.testing.loopback", "--fast", "--port", str(port), "--kind", kind],
        stdout=subprocess.PIPE,
    )
    proc.stdout.readline()
    url = f"http://127.0.0.1:{port}"
    import httpx

    for _ in range(100):
        try:
            httpx.get(url + "/health", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    return proc, url


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by process ``pid``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def _run_hfswim(url: str, passages: Path, out: Path, concurrency: int, server_pid: int) -> dict:
    from hfswim.generation import GenerateConfig, generate

    srv, cpu, wall = _proc_cpu(server_pid), time.process_time(), time.perf_counter()
    result = generate(
        GenerateConfig(passages=str(passages), output_dir=str(out), endpoints=[url], languages=LANGS,
                       concurrency=concurrency, progress=False)
    )  # fmt: skip
    wall, cpu, srv = time.perf_counter() - wall, time.process_time() - cpu, _proc_cpu(server_pid) - srv
    n = result.manifest["requests"]
    assert result.failed == 0 and result.accepted == result.records_total
    return {"completions": n, "wall": wall, "cpu": cpu, "server_cpu": srv}


async def _timed(one, n: int, server_pid: int) -> dict:
    """Run ``n`` calls of ``one`` at once; wall time, this process's CPU and the server's CPU."""
    srv, cpu, wall = _proc_cpu(server_pid), time.process_time(), time.perf_counter()
    await asyncio.gather(*(one() for _ in range(n)))
    return {
        "completions": n,
        "wall": time.perf_counter() - wall,
        "cpu": time.process_time() - cpu,
        "server_cpu": _proc_cpu(server_pid) - srv,
    }


async def _raw_aiohttp(url: str, kind: str, n: int, concurrency: int, server_pid: int) -> dict:
    import aiohttp

    prompt = "Title: Nile\nPassage: The Nile is a major north-flowing river in northeastern Africa.\nSummary:" * 8
    if kind == "tgi":
        path, body = "/generate", {"inputs": prompt, "parameters": {"max_new_tokens": 96, "details": True}}
    else:
        path, body = "/v1/chat/completions", {"model": "m", "messages": [{"role": "user", "content": prompt}]}
    sem = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def one() -> None:
            async with sem, session.post(url + path, json=body) as response:
                await response.json()

        return await _timed(one, n, server_pid)


async def _hub_client_loop(url: str, kind: str, n: int, concurrency: int, server_pid: int) -> dict:
    from huggingface_hub import AsyncInferenceClient

    prompt = "Title: Nile\nPassage: The Nile is a major north-flowing river in northeastern Africa.\nSummary:" * 8
    sem = asyncio.Semaphore(concurrency)
    async with AsyncInferenceClient(base_url=url, api_key="unused") as client:

        async def one() -> None:
            async with sem:
                if kind == "tgi":
                    await client.text_generation(prompt, details=True, max_new_tokens=96)
                else:
                    await client.chat_completion([{"role": "user", "content": prompt}], max_tokens=96)

        return await _timed(one, n, server_pid)


def _run_hub(url: str, kind: str, n: int, concurrency: int, server_pid: int) -> dict:
    from hfswim.generation.runner import _event_loop_runner

    return _event_loop_runner(_hub_client_loop(url, kind, n, concurrency, server_pid))


def _run_raw(url: str, kind: str, n: int, concurrency: int, server_pid: int) -> dict:
    from hfswim.generation.runner import _event_loop_runner

    return _event_loop_runner(_raw_aiohttp(url, kind, n, concurrency, server_pid))  # same loop as hfswim's


def _row(name: str, runs: list[dict]) -> str:
    rates = [r["completions"] / r["wall"] for r in runs]
    cpu_us = statistics.median(r["cpu"] / r["completions"] * 1e6 for r in runs)
    srv_us = statistics.median(r["server_cpu"] / r["completions"] * 1e6 for r in runs)
    return (
        f"| {name} | {runs[0]['completions']} | {', '.join(f'{x:,.0f}' for x in rates)} | "
        f"**{statistics.median(rates):,.0f}** | {cpu_us:,.0f} | {1e6 / cpu_us:,.0f} | {srv_us:,.0f} | "
        f"{1e6 / (cpu_us + srv_us):,.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--passages", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--kinds", default="tgi,openai")
    args = parser.parse_args()

    from hfswim.io import AtomicParquetWriter
    from hfswim.records import PASSAGE_SCHEMA

    work = Path(tempfile.mkdtemp(prefix="hfswim-overhead-"))
    passages = work / "passages.parquet"
    rows = [
        {"passage_id": f"d{i}#0", "doc_id": f"d{i}", "passage_language": "en", "title": f"Topic {i}",
         "text": f"Passage {i}: the river flows north through the old city and reaches the sea after 6,650 km.",
         "source": "synthetic"}
        for i in range(args.passages)
    ]  # fmt: skip
    with AtomicParquetWriter(passages, PASSAGE_SCHEMA) as writer:
        writer.write_rows(rows)
    loads = []
    table: dict[str, list[dict]] = {}
    try:
        for kind in args.kinds.split(","):
            proc, url = _start_server(kind)
            try:
                for i in range(args.rounds):
                    order = ("hfswim", "raw", "hub") if i % 2 == 0 else ("hub", "raw", "hfswim")
                    for client in order:
                        if client == "hfswim":
                            r = _run_hfswim(url, passages, work / f"{kind}-{i}", args.concurrency, proc.pid)
                            name = f"hfswim generate ({kind})"
                        elif client == "hub":
                            r = _run_hub(url, kind, args.passages * 6, args.concurrency, proc.pid)
                            name = (
                                f"huggingface_hub AsyncInferenceClient loop ({kind}; public API, no render/parse/write)"
                            )
                        else:
                            n = args.passages * 6
                            r = _run_raw(url, kind, n, args.concurrency, proc.pid)
                            name = f"raw aiohttp loop ({kind}; no render/parse/write)"
                        table.setdefault(name, []).append(r)
                        loads.append(os.getloadavg()[0])
                        print(name, r, f"load {loads[-1]:.1f}", flush=True)
            finally:
                proc.terminate()
                proc.wait(10)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    hf_rows = {k: v for k, v in table.items() if k.startswith("hfswim")}
    best_wall = max(statistics.median(r["completions"] / r["wall"] for r in v) for v in hf_rows.values())
    best_core = max(statistics.median(r["completions"] / r["cpu"] for r in v) for v in hf_rows.values())
    verdict = "met" if best_wall >= 2000 else "not met"
    lines = [
        "## Generation: client overhead against a zero-latency loopback server",
        "",
        "Command (from the repository root):",
        "",
        f"    .venv/bin/python -m benchmarks.client_overhead --passages {args.passages} "
        f"--concurrency {args.concurrency} --rounds {args.rounds}",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with other jobs (1-min load average during "
        f"the runs: {min(loads):.1f}-{max(loads):.1f}), no GPU; Python {platform.python_version()}, event loop: "
        f"{_loop_name()}. The loopback server (`python -m hfswim.testing.loopback --fast`: raw asyncio protocol, "
        "orjson) runs in its own process on the same cores.",
        f"Work per run: {args.passages} passages x (1 summary + {len(LANGS.split(','))} queries) = "
        f"{args.passages * 6} completions, two-step SAP, concurrency {args.concurrency}. hfswim's wall time is the "
        "whole `generate()` call: endpoint discovery, render, request (hfswim's own aiohttp client, "
        "`hfswim.generation.client`), parse, durable JSONL append (each record's line reaches the OS before it counts), "
        "Parquet export and manifest. Runs interleaved (hfswim, raw, hub, hub, raw, hfswim, ...); medians in bold.",
        "",
        "| client | completions per run | completions/s, each run (wall) | median completions/s (wall) | "
        "client CPU per completion (us) | completions/s per client core | server CPU per completion (us) | "
        "completions/s per core, client + server |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
        *(_row(name, runs) for name, runs in table.items()),
        "",
        f"**Goal >= 2,000 completions/s on 2 cores: {verdict}** (best median wall-clock figure {best_wall:,.0f}/s "
        f"with the server and other jobs on the same 2 cores; one client core sustains {best_core:,.0f}/s from its "
        "CPU time). The last column, 1e6 / (client + server CPU us), is what client and server together would do on "
        "ONE otherwise idle core; on two idle cores the client's own core is the bound (the per-client-core column).",
        "",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    print(json.dumps({"done": True}))


def _loop_name() -> str:
    try:
        import uvloop

        return f"uvloop {uvloop.__version__}"
    except ImportError:
        return "asyncio"


if __name__ == "__main__":
    main()
