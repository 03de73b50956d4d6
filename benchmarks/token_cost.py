"""Benchmark 3: LLM tokens per accepted cross-lingual query, two-step SAP (summary reuse) vs naive SAP.

Two modes, same passages, 5 target languages:

* ``--mode tokenizer`` (default): the exact prompts hfswim sends for each strategy, counted with Gemma 3's
  real tokenizer (plus BOS), and reference completions counted the same way: an extractive summary (the
  passage's first sentences, as in SAP) and, per language, a real query from hfswim's exemplars. Every
  output counts as accepted. Cheap and deterministic; isolates what the strategy itself costs.
* ``--mode server``: both strategies run through ``hfswim generate`` against the embedded Gemma 3 270M
  (``transformers serve``, greedy), and the counts are the server's usage figures; accepted = parser "ok".
  Minutes per request on a busy 2-core CPU, so only a few passages.

Goal: sap / sap-naive <= 0.6 tokens per accepted query.

    .venv/bin/python -m benchmarks.token_cost [--mode tokenizer|server] [--passages 50] [--languages sw,yo,hi,zh,ar]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

XQUAD_EN = Path(__file__).resolve().parents[2] / "shared" / "data" / "xquad" / "beir" / "en" / "corpus.jsonl"
RESULTS = Path(__file__).resolve().parent / "results" / "generation_token_cost.md"


def _passages(n: int, max_words: int) -> list[dict]:
    rows = []
    with open(XQUAD_EN, encoding="utf-8") as fh:
        for line in fh:
            doc = json.loads(line)
            words = doc["text"].split()
            if len(words) > max_words:  # SWIM-IR passages are at most 100 words: keep whole sentences only
                text = " ".join(words[:max_words])
                text = text[: text.rfind(".") + 1] or text
            else:
                text = doc["text"]
            rows.append(
                {"passage_id": doc["_id"], "doc_id": doc["_id"], "passage_language": "en", "title": doc.get("title") or "",
                 "text": text, "source": "xquad/en"}
            )  # fmt: skip
            if len(rows) >= n:
                break
    return rows


def _first_sentences(text: str, max_words: int = 35) -> str:
    import re

    out: list[str] = []
    for sentence in re.split(r"(?<=[.!?])\s+", text.strip()):
        if out and len(" ".join([*out, sentence]).split()) > max_words:
            break
        out.append(sentence)
    return " ".join(out)


def tokenizer_counts(rows: list[dict], languages: list[str]) -> dict[str, dict]:
    """Exact prompt tokens of hfswim's prompts + reference completions, with Gemma 3's tokenizer."""
    from transformers import AutoTokenizer

    from hfswim.generation.embedded import embedded_model_path
    from hfswim.languages import get_language
    from hfswim.prompts import get_prompt_strategy, load_exemplars

    tokenizer = AutoTokenizer.from_pretrained(embedded_model_path())

    def n(text: str, bos: bool = False) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"]) + int(bos)

    queries = {lang: [ex.query for ex in load_exemplars(lang, "cross-lingual", 3)] for lang in languages}
    sap, naive = get_prompt_strategy("sap", "cross-lingual"), get_prompt_strategy("sap-naive", "cross-lingual")
    out = {name: {"requests": 0, "prompt": 0, "completion": 0} for name in ("sap", "sap-naive")}
    for i, passage in enumerate(rows):
        summary = _first_sentences(passage["text"])
        out["sap"]["requests"] += 1
        out["sap"]["prompt"] += n(sap.summary_prompt(passage), bos=True)
        out["sap"]["completion"] += n(" " + summary)
        for lang in languages:
            query = queries[lang][i % len(queries[lang])]
            out["sap"]["requests"] += 1
            out["sap"]["prompt"] += n(sap.query_prompt(passage, lang, summary=summary), bos=True)
            out["sap"]["completion"] += n(" " + query)
            out["sap-naive"]["requests"] += 1
            out["sap-naive"]["prompt"] += n(naive.query_prompt(passage, lang), bos=True)
            name = get_language(lang).english_name
            out["sap-naive"]["completion"] += n(f" {summary}\nQuery ({name}): {query}")
    for r in out.values():
        r["total"] = r["prompt"] + r["completion"]
        r["records"] = r["accepted"] = len(rows) * len(languages)
        r["estimated"] = 0
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=["tokenizer", "server"], default="tokenizer")
    parser.add_argument("--passages", type=int, default=None, help="default: 50 (tokenizer), 3 (server)")
    parser.add_argument("--languages", default="sw,yo,hi,zh,ar")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--endpoint", default=None, help="reuse a running server instead of the embedded Gemma")
    args = parser.parse_args()

    from hfswim.generation import EmbeddedServer, GenerateConfig, generate
    from hfswim.io import AtomicParquetWriter
    from hfswim.records import PASSAGE_SCHEMA

    if args.passages is None:
        args.passages = 50 if args.mode == "tokenizer" else 3
    rows = _passages(args.passages, 100)
    work = Path(tempfile.mkdtemp(prefix="hfswim-token-cost-"))
    passages = work / "passages.parquet"
    with AtomicParquetWriter(passages, PASSAGE_SCHEMA) as writer:
        writer.write_rows(rows)
    results = {}
    server = None
    try:
        if args.mode == "tokenizer":
            results = tokenizer_counts(rows, args.languages.split(","))
            return_early = True
        else:
            return_early = False
        if return_early:
            pass
        elif args.endpoint:
            url, model = args.endpoint, None
        else:
            server = EmbeddedServer()
            url = server.start()
            model = server.served_model
        for strategy in () if return_early else ("sap", "sap-naive"):
            start = time.perf_counter()
            result = generate(
                GenerateConfig(
                    passages=str(passages), output_dir=str(work / strategy), endpoints=[url], model=model,
                    strategy=strategy, languages=args.languages, max_new_tokens=args.max_new_tokens,
                    concurrency=4, progress=False,
                )
            )  # fmt: skip
            m = result.manifest
            results[strategy] = {
                "requests": m["requests"],
                "prompt": m["tokens"]["prompt"],
                "completion": m["tokens"]["completion"],
                "total": m["tokens"]["total"],
                "accepted": result.accepted,
                "records": result.accepted + result.rejected,
                "estimated": m["tokens"]["estimated_requests"],
                "seconds": time.perf_counter() - start,
            }
            print(strategy, json.dumps(results[strategy]), flush=True)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)

    def per(r: dict, key: str) -> float:
        return r[key] / r["accepted"] if r["accepted"] else float("nan")

    sap, naive = results["sap"], results["sap-naive"]
    ratio_accepted = per(sap, "total") / per(naive, "total")
    ratio_records = (sap["total"] / sap["records"]) / (naive["total"] / naive["records"])
    n_langs = len(args.languages.split(","))
    lines = [
        "## Generation: LLM tokens per accepted cross-lingual query, summary reuse (sap) vs naive SAP",
        "",
        "Command (from the repository root):",
        "",
        f"    .venv/bin/python -m benchmarks.token_cost --mode {args.mode} --passages {args.passages} "
        f"--languages {args.languages}" + (f" --max-new-tokens {args.max_new_tokens}" if args.mode == "server" else ""),
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared with other jobs), no GPU; "
        f"Python {platform.python_version()}.",
        (
            "Counting: exact prompts of both strategies tokenized with Gemma 3's tokenizer (+1 BOS per request); "
            "completions = reference texts tokenized the same way: an extractive summary (the passage's first "
            "sentences, <= 35 words) and a real query per language from hfswim's exemplars; every output counts "
            "as accepted. No server: the ratio measures the strategy, not one model's parse rate."
            if args.mode == "tokenizer"
            else f"Server: {'the embedded Gemma 3 270M (transformers serve, CPU, greedy)' if not args.endpoint else args.endpoint}; "
            "token counts are the server's usage figures for every request (summaries included), not estimates. "
            "Accepted = the parser's status is 'ok'."
        ),
        f"Passages: the first {args.passages} English XQuAD paragraphs (cut to <= 100 words on a sentence end); "
        f"{n_langs} target languages ({args.languages})"
        + (f"; max_new_tokens {args.max_new_tokens}." if args.mode == "server" else "."),
        "",
        "| strategy | requests | prompt tokens | completion tokens | total | records | accepted | tokens / accepted query | tokens / record |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['requests']} | {r['prompt']:,} | {r['completion']:,} | {r['total']:,} | {r['records']} | "
            f"{r['accepted']} | {per(r, 'total'):,.0f} | {r['total'] / r['records']:,.0f} |"
        )
    verdict = "met" if ratio_accepted <= 0.6 else "not met"
    lines += [
        "",
        f"**Ratio sap / sap-naive, tokens per accepted query: {ratio_accepted:.2f}** (goal <= 0.6: {verdict}); "
        f"per record (accepted or not): {ratio_records:.2f}.",
        "",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    path = RESULTS if args.mode == "tokenizer" else RESULTS.with_name("generation_token_cost_server.md")
    path.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
