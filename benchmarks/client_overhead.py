"""Benchmark 2: client overhead of ``hfswim generate`` against a zero-latency loopback server.

The loopback LLM (``hfswim.generation.loopback``, aiohttp) runs in ANOTHER process and answers instantly, so
what is measured is hfswim's own end-to-end cost per completion: render the prompt, send it through
``AsyncInferenceClient``, parse the answer, append the record durably (plus the Parquet export at the end).
Two-step SAP, 5 target languages: 6 completions per passage. Reported: completions/s (wall clock, client and
server sharing the machine's 2 cores) and the client's CPU time per completion (``time.process_time``), whose
inverse is what one client core sustains. A raw aiohttp loop posting the same kind of request (no rendering,
parsing or writing) is the floor. Goal: >= 2,000 completions/s on 2 cores.

    .venv/bin/python -m benchmarks.client_overhead [--passages 500] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "generation_client_overhead.md"
LANGS = "sw,yo,hi,zh,ar"
NOTE = (
    "**Goal >= 2,000 completions/s on 2 cores: {verdict}** (best wall-clock figure {wall:,.0f}/s, with the server "
    "and other jobs on the same 2 cores; one client core sustains {core:,.0f}/s from its CPU time). The aiohttp "
    "transport halves the client's CPU per completion against httpx2's own network layer. cProfile of the rest: "
    "most of it is huggingface_hub's generic request/response machinery (httpx2 client, one output dataclass per "
    "generated token, a thread hop per text_generation call); hfswim's own render/parse/durable write is a small "
    "share."
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_server(kind: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "hfswim.generation.loopback", "--port", str(port), "--kind", kind],
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


def _run_hfswim(url: str, passages: Path, out: Path, backend: str, concurrency: int) -> dict:
    from hfswim.generation import GenerateConfig, generate

    cpu, wall = time.process_time(), time.perf_counter()
    result = generate(
        GenerateConfig(passages=str(passages), output_dir=str(out), endpoints=[url], languages=LANGS,
                       concurrency=concurrency, http_backend=backend, progress=False)
    )  # fmt: skip
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    n = result.manifest["requests"]
    assert result.failed == 0 and result.accepted == result.records_total
    return {"completions": n, "wall": wall, "cpu": cpu}


async def _raw_aiohttp(url: str, kind: str, n: int, concurrency: int) -> dict:
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

        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(one() for _ in range(n)))
        return {"completions": n, "wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--passages", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()

    from hfswim.io import AtomicParquetWriter
    from hfswim.records import PASSAGE_SCHEMA

    work = Path(tempfile.mkdtemp(prefix="hfswim-overhead-"))
    passages = work / "passages.parquet"
    rows = [
        {"passage_id": f"d{i}#0", "doc_id": f"d{i}", "lang": "en", "title": f"Topic {i}",
         "text": f"Passage {i}: the river flows north through the old city and reaches the sea after 6,650 km.",
         "source": "synthetic"}
        for i in range(args.passages)
    ]  # fmt: skip
    with AtomicParquetWriter(passages, PASSAGE_SCHEMA) as writer:
        writer.write_rows(rows)
    table = []
    try:
        for kind in ("tgi", "openai"):
            proc, url = _start_server(kind)
            try:
                for backend in ("aiohttp", "httpx"):
                    r = _run_hfswim(url, passages, work / f"{kind}-{backend}", backend, args.concurrency)
                    table.append((f"hfswim generate ({kind}, {backend} transport)", r))
                    print(table[-1], flush=True)
                n = table[-1][1]["completions"]
                r = asyncio.run(_raw_aiohttp(url, kind, n, args.concurrency))
                table.append((f"raw aiohttp loop ({kind}; no render/parse/write)", r))
                print(table[-1], flush=True)
            finally:
                proc.terminate()
                proc.wait(10)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    load = os.getloadavg()[0]
    lines = [
        "## Generation: client overhead against a zero-latency loopback server",
        "",
        "Command (from the repository root):",
        "",
        f"    .venv/bin/python -m benchmarks.client_overhead --passages {args.passages} --concurrency {args.concurrency}",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with other jobs (1-min load average at the end: "
        f"{load:.1f}), no GPU; Python {platform.python_version()}. The loopback server (aiohttp) runs in its own "
        "process on the same cores.",
        f"Work: {args.passages} passages x (1 summary + {len(LANGS.split(','))} queries) = "
        f"{args.passages * 6} completions per run, two-step SAP, concurrency {args.concurrency}; end to end = render, "
        "request (huggingface_hub AsyncInferenceClient), parse, durable JSONL append, Parquet export, manifest.",
        "",
        "| client | completions | wall (s) | completions/s (wall) | client CPU per completion (us) | completions/s per client core (1e6 / CPU us) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, r in table:
        us = r["cpu"] / r["completions"] * 1e6
        lines.append(
            f"| {name} | {r['completions']} | {r['wall']:.2f} | {r['completions'] / r['wall']:,.0f} | {us:,.0f} | "
            f"{1e6 / us:,.0f} |"
        )
    hf_rows = [r for name, r in table if name.startswith("hfswim")]
    best_wall = max(r["completions"] / r["wall"] for r in hf_rows)
    best_core = max(r["completions"] / r["cpu"] for r in hf_rows)
    lines += ["", NOTE.format(verdict="met" if best_wall >= 2000 else "not met", wall=best_wall, core=best_core), ""]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    print(json.dumps({"done": True}))


if __name__ == "__main__":
    main()
