"""Benchmark 1: throughput of ``hfswim generate`` against a raw asyncio load generator, same real server.

Both clients send the SAME requests (one-step SAP prompts rendered by hfswim's strategy, one per
(passage, language), identical max_tokens/stop/temperature) at the SAME concurrency to the SAME
``transformers serve`` process (default: the embedded Gemma 3 270M on CPU). The raw client is a plain aiohttp
loop that only posts and reads JSON; hfswim does everything it normally does (AsyncInferenceClient, retries
bookkeeping, parsing, durable writes, Parquet export). Runs go in ABBA order (raw, hfswim, hfswim, raw, ...) so
that load from other jobs and the server's own slow-down over a session hit both alike; the ratio of medians is
reported. Goal >= 0.9x.

    .venv/bin/python -m benchmarks.generation_throughput [--tiny] [--passages 4] [--rounds 2] [--concurrency 4]

``--tiny`` serves a tiny random Llama (built on the spot) instead of Gemma: each request is then cheap for
the server, which makes the client's own overhead as visible as it can be.
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
        {"passage_id": f"d{i}#0", "doc_id": f"d{i}", "lang": "en", "title": f"Topic {i}",
         "text": f"Passage {i}: the river flows north through the old city to the sea.", "source": "synthetic"}
        for i in range(n)
    ]  # fmt: skip


async def _raw(url: str, model: str, prompts: list[str], args: argparse.Namespace, stop: list[str]) -> float:
    import aiohttp

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
            async with sem, session.post(url + "/v1/chat/completions", json=body) as response:
                response.raise_for_status()
                await response.json()

        start = time.perf_counter()
        await asyncio.gather(*(one(p) for p in prompts))
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--passages", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--model", default=None, help="model folder to serve instead of the embedded Gemma")
    parser.add_argument("--tiny", action="store_true", help="serve a tiny random Llama built on the spot")
    args = parser.parse_args()

    from hfswim.generation import EmbeddedServer, GenerateConfig, generate
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
    raw_times, hf_times = [], []
    if args.tiny:
        args.model = str(build_tiny_llama(work / "tiny-llama"))
    server = EmbeddedServer(model=args.model)
    try:
        url = server.start()
        model = server.served_model
        for i in range(args.rounds):
            # ABBA order: transformers serve gets slower over a session, so whoever always ran second would lose.
            for client in ("raw", "hfswim") if i % 2 == 0 else ("hfswim", "raw"):
                if client == "raw":
                    raw_times.append(asyncio.run(_raw(url, model, prompts, args, list(strategy.stop))))
                    print("raw", raw_times[-1], flush=True)
                    continue
                start = time.perf_counter()
                result = generate(
                    GenerateConfig(passages=str(passages), output_dir=str(work / f"run{i}"), endpoints=[url],
                                   model=model, strategy="sap-naive", languages=LANGS,
                                   max_new_tokens=args.max_new_tokens, concurrency=args.concurrency, progress=False)
                )  # fmt: skip
                hf_times.append(time.perf_counter() - start)
                assert result.manifest["requests"] == len(prompts) and result.failed == 0
                print("hfswim", hf_times[-1], flush=True)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)

    n = len(prompts)
    raw_rate, hf_rate = n / statistics.median(raw_times), n / statistics.median(hf_times)
    ratio = hf_rate / raw_rate
    lines = [
        "## Generation: hfswim generate vs a raw asyncio load generator (same server, same requests)",
        "",
        "Command (from the repository root):",
        "",
        f"    .venv/bin/python -m benchmarks.generation_throughput --passages {args.passages} --rounds {args.rounds} "
        f"--concurrency {args.concurrency} --max-new-tokens {args.max_new_tokens}"
        + (" --tiny" if args.tiny else f" --model {args.model}" if args.model else ""),
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with other jobs (1-min load average at the end: "
        f"{os.getloadavg()[0]:.1f}), no GPU; Python {platform.python_version()}.",
        f"Server: transformers serve ({'tiny random Llama' if args.tiny else args.model or 'embedded Gemma 3 270M'}, "
        "CPU), one process "
        f"for both clients. Requests: {n} one-step SAP prompts ({args.passages} passages x {len(langs)} languages), "
        f"max_tokens {args.max_new_tokens}, greedy, concurrency {args.concurrency}. hfswim's wall time includes its "
        "endpoint discovery, durable writes, Parquet export and manifest; runs in ABBA order (raw, hfswim, hfswim, "
        "raw, ...) because the server slows down over a session.",
        "",
        "| client | runs (s) | median (s) | requests/s |",
        "|---|---|---:|---:|",
        f"| raw aiohttp loop | {', '.join(f'{t:.1f}' for t in raw_times)} | {statistics.median(raw_times):.1f} | "
        f"{raw_rate:.3f} |",
        f"| hfswim generate | {', '.join(f'{t:.1f}' for t in hf_times)} | {statistics.median(hf_times):.1f} | "
        f"{hf_rate:.3f} |",
        "",
        f"**Ratio hfswim / raw: {ratio:.2f}x** (goal >= 0.9x: {'met' if ratio >= 0.9 else 'not met'}).",
        "",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
