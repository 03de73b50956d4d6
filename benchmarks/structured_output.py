"""Benchmark: parse failures of the embedded Gemma 3 270M with and without a JSON constraint.

The same prompts hfswim sends (its SAP strategies, packaged exemplars), greedy, the same token limit, on the
embedded model (Gemma 3 270M, the packaged GGUF converted to safetensors), two ways:

* **text**: free decoding with the strategy's stop sequences, parsed by hfswim's text parsers
  (``parse_sap_output`` / ``parse_query_output``), as today with a server that does not constrain;
* **json**: decoding constrained to ``{"summary": ..., "query": ...}`` (one-step SAP) or ``{"query": ...}``
  (the query step of two-step SAP) with the schema hfswim sends (``maxLength`` = the parser's limits) by
  :mod:`hfswim.generation.json_constraint` (what TGI's ``grammar`` / OpenAI ``response_format`` do on a
  server), parsed by ``parse_json_output``; an answer cut by the token limit (not valid JSON) is a failure.

A parse failure is any status other than "ok" (empty, missing query, too long, repetitive, multiple queries...).
Two-step SAP's query step gets a fixed extractive summary (the passage's first sentences), so both modes see
identical query prompts. Passages: XQuAD English (when ../shared is there) or synthetic ones.

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.structured_output [--passages 12] [--languages sw,hi]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections import Counter
from pathlib import Path

from benchmarks.token_cost import _first_sentences

RESULTS = Path(__file__).resolve().parent / "results" / "generation_structured_output.md"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--passages", type=int, default=12)
    parser.add_argument("--languages", default="sw,hi")
    parser.add_argument("--max-new-tokens", type=int, default=96)
    args = parser.parse_args()

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from benchmarks.generation_throughput import _passages
    from hfswim.generation.client import json_output_schema, strip_stop
    from hfswim.generation.embedded import embedded_model_path
    from hfswim.generation.json_constraint import JsonFieldsConstraint, JsonLogitsProcessor, token_texts_of
    from hfswim.prompts import get_prompt_strategy
    from hfswim.prompts.parser import parse_json_output

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    path = embedded_model_path()
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    texts = token_texts_of(tokenizer)
    configured = model.generation_config.eos_token_id
    configured = configured if isinstance(configured, list) else [configured]
    eos = sorted({i for i in [tokenizer.eos_token_id, *configured] if isinstance(i, int)})
    languages = args.languages.split(",")
    passages = _passages(args.passages)
    naive = get_prompt_strategy("sap-naive", "cross-lingual")
    sap = get_prompt_strategy("sap", "cross-lingual")

    def ids_of(prompt: str) -> list[int]:
        chat = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                             add_generation_prompt=True)  # fmt: skip
        return tokenizer(chat, add_special_tokens=False)["input_ids"]

    def run(prompt: str, stop: list[str], fields: tuple[str, ...] | None) -> tuple[str, int, float]:
        ids = torch.tensor([ids_of(prompt)])
        kwargs = {"max_new_tokens": args.max_new_tokens, "do_sample": False, "eos_token_id": eos}
        if fields:
            limits = {name: spec.get("maxLength") for name, spec in json_output_schema(fields)["properties"].items()}
            constraint = JsonFieldsConstraint(texts, fields, eos, max_lengths=limits)
            kwargs["logits_processor"] = [JsonLogitsProcessor(constraint, ids.shape[1])]
        else:
            kwargs.update(stop_strings=stop, tokenizer=tokenizer)
        start = time.perf_counter()
        with torch.inference_mode():
            out = model.generate(ids, attention_mask=torch.ones_like(ids), **kwargs)
        new = out[0, ids.shape[1] :].tolist()
        new = [i for i in new if i not in eos]
        return tokenizer.decode(new, skip_special_tokens=True), len(new), time.perf_counter() - start

    cases = []  # (setup, prompt, stop, fields, text parser)
    for passage in passages:
        summary = _first_sentences(passage["text"])
        for lang in languages:
            cases.append(("one-step SAP (summary + query)", naive.query_prompt(passage, lang), naive.stop,
                          ("summary", "query"), lambda t: naive.parse_query(t, with_summary=True)))  # fmt: skip
            cases.append(("two-step SAP, query step", sap.query_prompt(passage, lang, summary=summary), sap.stop,
                          ("query",), lambda t: sap.parse_query(t, with_summary=False)))  # fmt: skip
    results: dict[tuple[str, str], list[dict]] = {}
    examples: dict[tuple[str, str], str] = {}
    for i, (setup, prompt, stop, fields, text_parse) in enumerate(cases):
        for mode in ("text", "json") if i % 2 == 0 else ("json", "text"):  # interleaved
            text, n_tokens, seconds = run(prompt, stop, fields if mode == "json" else None)
            if mode == "json":
                parsed = parse_json_output(text, fields)
                status = parsed.status if parsed is not None else "invalid_json"
            else:
                status = text_parse(strip_stop(text, stop)).status
            results.setdefault((setup, mode), []).append({"status": status, "tokens": n_tokens, "s": seconds})
            examples.setdefault((setup, mode), text)
            print(setup, mode, status, n_tokens, f"{seconds:.1f}s", repr(text[:120]), flush=True)

    rows = []
    for (setup, mode), runs in results.items():
        statuses = Counter(r["status"] for r in runs)
        failed = sum(n for s, n in statuses.items() if s != "ok")
        rows.append(
            f"| {setup} | {mode} | {len(runs)} | **{failed / len(runs):.0%}** ({failed}) | "
            f"{', '.join(f'{s} {n}' for s, n in statuses.most_common() if s != 'ok') or '-'} | "
            f"{statistics.mean(r['tokens'] for r in runs):.1f} | {statistics.median(r['s'] for r in runs):.1f} |"
        )
    lines = [
        "## Generation: structured output (JSON constraint) vs free text on the embedded Gemma 3 270M",
        "",
        "Command (from the repository root):",
        "",
        f"    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.structured_output --passages {args.passages} "
        f"--languages {args.languages} --max-new-tokens {args.max_new_tokens}",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with other jobs, no GPU; torch "
        f"{torch.__version__}, 1 thread. Model: the embedded Gemma 3 270M (packaged Q4_K_M GGUF, dequantized). "
        f"{len(passages)} XQuAD English passages x {len(languages)} languages ({args.languages}), greedy, "
        f"max {args.max_new_tokens} new tokens, the same prompts in both modes (hfswim's packaged exemplars, "
        "text format); modes interleaved per prompt.",
        "text = free decoding + hfswim's text parser; json = decoding constrained to the JSON object "
        "(`hfswim.generation.json_constraint`, what TGI `grammar` / OpenAI `response_format` do on a server) + "
        "`parse_json_output`. Failure = any parse status other than ok (same checks on both: length, repetition, "
        "multiple questions, copies; `invalid_json` = the answer ran out of tokens inside the object).",
        "",
        "| setup | mode | answers | parse failures | failure kinds | mean completion tokens | median s per answer |",
        "|---|---|---:|---:|---|---:|---:|",
        *rows,
        "",
        "First answer of each (setup, mode), as generated:",
        "",
        *(f"- {setup}, {mode}: `{text[:200]!r}`" for (setup, mode), text in examples.items()),
        "",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
