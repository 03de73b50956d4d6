"""Benchmark 1: throughput of ``hfswim generate`` against a raw asyncio load generator, same real server.

Both clients send the SAME requests (one-step SAP prompts rendered by hfswim's strategy, one per
(passage, language), identical max_tokens/stop/temperature/seed) at the SAME concurrency to the SAME
``transformers serve`` process (default: a tiny random Llama built on the spot, ``--gemma`` for the embedded
Gemma 3 270M). The raw client is a plain aiohttp loop that only posts and reads JSON; hfswim runs its whole
``generate()`` (its own aiohttp client, backpressure, parsing, durable writes, Parquet export, manifest).

What is compared: steady-state request throughput = requests / (end of the last answer - start of the first
request), measured the same way for both clients from per-request timestamps taken around the HTTP call
(inside hfswim's in-flight bound, so start-up, endpoint discovery, Parquet export and manifest are NOT in the
span; hfswim's whole-call wall time is reported next to it). From the same timestamps: the mean number of
requests in flight over the span and the share of the span with fewer than ``--concurrency`` in flight while
requests were still waiting to be sent (a dip there would be the client starving the server).
Runs go in ABBA order (raw, hfswim, hfswim, raw, ...) so that load from other jobs and the server's drift hit
both alike; the ratio of medians and every run are reported. Goal >= 0.9x.

    .venv/bin/python -m benchmarks.generation_throughput [--passages 16] [--rounds 4] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "generation_throughput.md"
LANGS = "sw,yo,hi,zh,ar"


def build_tiny_llama(path: Path) -> Path:
    """A 2-layer random Llama with a byte-level BPE tokenizer and a pass-through chat template."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from hfswim.generation.embedded import PASSTHROUGH_CHAT_TEMPLATE

    torch.manual_seed(0)
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<pad>", "<s>", "</s>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(["Title: Passage: Summary: Query (Swahili): the river flows to the sea?"] * 20, trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    tokenizer.chat_template = PASSTHROUGH_CHAT_TEMPLATE
    config = LlamaConfig(
        vocab_size=tok.get_vocab_size(), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=4096,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )  # fmt: skip
    LlamaForCausalLM(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def _passages(n: int) -> list[dict]:
    from benchmarks.token_cost import XQUAD_EN
    from benchmarks.token_cost import _passages as xquad_passages

    if XQUAD_EN.is_file():
        return xquad_passages(n, 100)
    return [
        {"passage_id": f"d{i}#0", "doc_id": f"d{i}", "passage_language": "en", "title": f"Topic {i}",
         "text": f"Passage {i}: the river flows north through the old city to the sea.", "source": "synthetic"}
        for i in range(n)
    ]  # fmt: skip


def span_stats(trace: list[tuple[float, float]], concurrency: int) -> dict[str, float]:
    """Steady-state figures from per-request (start, end) times: rate, mean in flight, starved share."""
    start = min(t0 for t0, _ in trace)
    end = max(t1 for _, t1 in trace)
    last_start = max(t0 for t0, _ in trace)
    span = end - start
    events = sorted([(t0, 1) for t0, _ in trace] + [(t1, -1) for _, t1 in trace])
    in_flight, prev, starved = 0, start, 0.0
    for t, delta in events:
        if prev < last_start and in_flight < concurrency:  # fewer in flight while work was still waiting
            starved += min(t, last_start) - prev
        in_flight += delta
        prev = t
    busy = sum(t1 - t0 for t0, t1 in trace)
    return {
        "requests": len(trace),
        "span": span,
        "rate": len(trace) / span,
        "mean_in_flight": busy / span,
        "starved_share": starved / max(last_start - start, 1e-9),
    }


async def _raw(url: str, model: str, prompts: list[str], args: argparse.Namespace, stop: list[str]) -> list:
    import aiohttp

    trace: list[tuple[float, float]] = []
    sem = asyncio.Semaphore(args.concurrency)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=args.concurrency)) as session:

        async def one(prompt: str) -> None:
            body = {
                "model": model,
                "messages": [{"role": "user", "content": prompt}],
                "max_tokens": args.max_new_tokens,
                "stop": stop,
                "temperature": 0.0,
                "seed": 0,
            }
            async with sem:
                t0 = time.perf_counter()
                async with session.post(url + "/v1/chat/completions", json=body) as response:
                    response.raise_for_status()
                    await response.json()
                trace.append((t0, time.perf_counter()))

        await asyncio.gather(*(one(p) for p in prompts))
    return trace


def _traced_bind(trace: list[tuple[float, float]]):
    """Wrap hfswim's per-endpoint call (it runs inside the in-flight semaphore) to time every HTTP request."""
    from hfswim.generation import runner

    original = runner._bind

    def bind(client, endpoint, timeout=None):
        call = original(client, endpoint, timeout)

        async def traced(prompt: str, **kwargs):
            t0 = time.perf_counter()
            try:
                return await call(prompt, **kwargs)
            finally:
                trace.append((t0, time.perf_counter()))

        return traced

    runner._bind = bind
    return original


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--passages", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=4, help="ABBA rounds; each runs both clients once")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--model", default=None, help="model folder to serve instead of the tiny Llama")
    parser.add_argument("--gemma", action="store_true", help="serve the embedded Gemma 3 270M")
    args = parser.parse_args()

    from hfswim.generation import EmbeddedServer, GenerateConfig, generate
    from hfswim.generation import runner as runner_module
    from hfswim.io import AtomicParquetWriter
    from hfswim.prompts import get_prompt_strategy
    from hfswim.records import PASSAGE_SCHEMA

    work = Path(tempfile.mkdtemp(prefix="hfswim-throughput-"))
    rows = _passages(args.passages)
    passages = work / "passages.parquet"
    with AtomicParquetWriter(passages, PASSAGE_SCHEMA) as writer:
        writer.write_rows(rows)
    strategy = get_prompt_strategy("sap-naive", "cross-lingual")
    langs = LANGS.split(",")
    prompts = [strategy.query_prompt(p, lang) for p in rows for lang in langs]
    runs: dict[str, list[dict]] = {"raw": [], "hfswim": []}
    loads: list[float] = []
    if not args.gemma and args.model is None:
        args.model = str(build_tiny_llama(work / "tiny-llama"))
    server = EmbeddedServer(model=None if args.gemma else args.model)
    try:
        url = server.start()
        model = server.served_model
        for i in range(args.rounds):
            # ABBA order: the server drifts over a session and other jobs come and go; alternate who goes first.
            for client in ("raw", "hfswim") if i % 2 == 0 else ("hfswim", "raw"):
                if client == "raw":
                    trace = asyncio.run(_raw(url, model, prompts, args, list(strategy.stop)))
                    stats = span_stats(trace, args.concurrency)
                else:
                    trace = []
                    original = _traced_bind(trace)
                    start = time.perf_counter()
                    try:
                        result = generate(
                            GenerateConfig(passages=str(passages), output_dir=str(work / f"run{i}"), endpoints=[url],
                                           model=model, strategy="sap-naive", languages=LANGS,
                                           max_new_tokens=args.max_new_tokens, concurrency=args.concurrency,
                                           progress=False)
                        )  # fmt: skip
                    finally:
                        runner_module._bind = original
                    wall = time.perf_counter() - start
                    assert result.manifest["requests"] == len(prompts) and result.failed == 0
                    stats = {**span_stats(trace, args.concurrency), "wall": wall}
                runs[client].append(stats)
                loads.append(os.getloadavg()[0])
                print(client, {k: round(v, 3) for k, v in stats.items()}, f"load {loads[-1]:.1f}", flush=True)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)

    n = len(prompts)
    raw_rate = statistics.median(r["rate"] for r in runs["raw"])
    hf_rate = statistics.median(r["rate"] for r in runs["hfswim"])
    ratio = hf_rate / raw_rate
    pairs = [h["rate"] / r["rate"] for h, r in zip(runs["hfswim"], runs["raw"], strict=True)]
    inflight_ratio = statistics.median(r["mean_in_flight"] for r in runs["hfswim"]) / statistics.median(
        r["mean_in_flight"] for r in runs["raw"]
    )
    served = "embedded Gemma 3 270M" if args.gemma else "tiny random Llama (2 layers, 32-d)"

    def row(name: str, rs: list[dict], wall: bool) -> str:
        walls = ", ".join(f"{r['wall']:.1f}" for r in rs) if wall else "-"
        spans = ", ".join(f"{r['span']:.1f}" for r in rs)
        rates = ", ".join(f"{r['rate']:.2f}" for r in rs)
        return (
            f"| {name} | {spans} | {rates} | **{statistics.median(r['rate'] for r in rs):.2f}** | "
            f"{statistics.median(r['mean_in_flight'] for r in rs):.2f} | "
            f"{100 * statistics.median(r['starved_share'] for r in rs):.1f}% | {walls} |"
        )

    lines = [
        "## Generation: hfswim generate vs a raw asyncio load generator (same server, same requests)",
        "",
        "Command (from the repository root):",
        "",
        f"    {_env_prefix()}.venv/bin/python -m benchmarks.generation_throughput --passages {args.passages} "
        f"--rounds {args.rounds} "
        f"--concurrency {args.concurrency} --max-new-tokens {args.max_new_tokens}" + (" --gemma" if args.gemma else ""),
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with other jobs (1-min load average during "
        f"the runs: {min(loads):.1f}-{max(loads):.1f}), no GPU; Python {platform.python_version()}.",
        f"Server: transformers serve ({served}, CPU), one process for both clients. Requests per run: {n} one-step "
        f"SAP prompts ({args.passages} passages x {len(langs)} languages), the same set for both clients, "
        f"max_tokens {args.max_new_tokens}, greedy, seed 0, concurrency {args.concurrency}; {args.rounds} runs per "
        "client in ABBA order.",
        "Measured: steady-state throughput = requests / (last answer - first request sent), from per-request "
        "timestamps around the HTTP call (for hfswim inside its in-flight bound): hfswim's start-up (endpoint "
        "discovery, store open), Parquet export and manifest are outside the span; its whole `generate()` wall "
        "time is the last column. Mean in flight = sum of request durations / span. Starved = share of the span, "
        "before the last request was sent, with fewer than `--concurrency` requests in flight.",
        "",
        "| client | span per run (s) | requests/s per run | median requests/s | mean in flight | starved | "
        "whole-call wall per run (s) |",
        "|---|---|---|---:|---:|---:|---|",
        row("raw aiohttp loop", runs["raw"], wall=False),
        row("hfswim generate", runs["hfswim"], wall=True),
        "",
        f"**Ratio hfswim / raw (medians of steady-state requests/s): {ratio:.2f}x** (goal >= 0.9x: "
        f"{'met' if ratio >= 0.9 else 'not met'}); per ABBA pair: {', '.join(f'{x:.2f}' for x in pairs)}.",
        f"Ratio of mean requests in flight (how well each client keeps the server fed, the part of throughput a "
        f"client controls; the rest is the server's per-request latency): {inflight_ratio:.2f}x.",
        "",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


def _env_prefix() -> str:
    # transformers serve inherits it: one torch thread keeps a CPU server from collapsing when other jobs
    # oversubscribe the cores (with 2 threads, runs of the same requests varied up to 25x on a shared machine).
    value = os.environ.get("OMP_NUM_THREADS")
    return f"OMP_NUM_THREADS={value} " if value else ""


if __name__ == "__main__":
    main()
