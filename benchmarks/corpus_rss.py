"""Peak RSS while streaming a 1M-passage synthetic corpus through sampling and SAP prompt rendering.

Issue 2, benchmark 4 (goal: <= 1 GB). A synthetic multilingual corpus (English 70 %, German, Swahili
and Chinese 10 % each; every document two paragraphs, so exactly two passages) is written once as
Parquet. Each measurement then runs in a fresh subprocess, which reports its own peak RSS
(``VmHWM`` from ``/proc/self/status``: ``ru_maxrss`` would
include the parent's peak, as Linux keeps it across fork and exec):

* ``imports``: Python with hfswim.corpus and hfswim.prompts imported (the floor);
* ``sample``: ``hfswim.corpus.sample_passages`` with a sample size (so a first pass counts the corpus);
* ``sample+cap+render``: the same plus a per-language cap, and for every kept English passage the
  cross-lingual SAP summary prompt and one query prompt per target language (5 languages);
* ``materialise``: for reference, ``list(iter_passages(...))``, i.e. what holding the corpus would cost.

Run from the repository root::

    .venv/bin/python -m benchmarks.corpus_rss                   # 1M passages
    .venv/bin/python -m benchmarks.corpus_rss --passages 20000  # a quick check
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "corpus_rss.md"
LANG_SHARES = {"en": 0.7, "de": 0.1, "sw": 0.1, "zh": 0.1}
_LATIN = {
    "en": "the river city capital museum history science music water energy planet ocean forest mountain school "
    "language book king queen war peace island bridge market harbour village temple railway".split(),
    "de": "der die das und ist fluss stadt hauptstadt museum geschichte wissenschaft musik wasser berg schule "
    "sprache buch könig krieg frieden insel brücke markt hafen dorf".split(),
    "sw": "mto mji mkuu ni wa na katika historia sayansi muziki maji mlima shule lugha kitabu mfalme vita amani "
    "kisiwa daraja soko bandari kijiji hekalu reli".split(),
}
_HAN = (
    "长城是中国古代修建的大型军事防御工程东西绵延数千公里早在春秋战国时期各诸侯国就开始修筑城墙以防御邻国和北方游牧民族"
)


def _paragraph(rng: random.Random, lang: str) -> str:
    if lang == "zh":  # 90-140 Han characters: 60-93 words at 1.5 characters per word
        n = rng.randint(90, 140)
        chars = [rng.choice(_HAN) for _ in range(n)]
        for i in range(20, n, rng.randint(18, 30)):
            chars[i] = "。"
        return "".join(chars) + "。"
    words, sentences = rng.randint(60, 95), []
    vocab = _LATIN[lang]
    while words > 0:
        k = min(words, rng.randint(8, 20))
        sentences.append(" ".join(rng.choice(vocab) for _ in range(k)).capitalize() + ".")
        words -= k
    return " ".join(sentences)


def make_corpus(path: Path, passages: int, seed: int = 0) -> None:
    """Write ``passages / 2`` two-paragraph documents as Parquet, in batches (never all in memory)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = random.Random(seed)
    langs, weights = zip(*LANG_SHARES.items(), strict=True)
    docs, batch = passages // 2, 20_000
    with pq.ParquetWriter(path, pa.schema([(n, pa.string()) for n in ("doc_id", "lang", "title", "text")])) as w:
        for start in range(0, docs, batch):
            rows = []
            for i in range(start, min(docs, start + batch)):
                lang = rng.choices(langs, weights)[0]
                text = _paragraph(rng, lang) + "\n\n" + _paragraph(rng, lang)
                rows.append({"doc_id": f"doc{i}", "lang": lang, "title": f"Title {i}", "text": text})
            w.write_table(pa.Table.from_pylist(rows))


def _peak_rss_mib() -> float:
    """This process's peak RSS. Linux's ``ru_maxrss`` survives fork+exec (a child would report the parent's
    peak), so read the high-water mark of this process's own address space, VmHWM, where there is one."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(mode: str, corpus: str, sample_size: int, cap: int, query_langs: list[str]) -> dict:
    """One measurement in this (fresh) process."""
    from hfswim.corpus import CorpusConfig, iter_passages, sample_passages
    from hfswim.prompts import get_prompt_strategy

    started = time.perf_counter()
    kept = prompts = prompt_chars = 0
    if mode == "sample":
        for _ in sample_passages(CorpusConfig(source=corpus, sample_size=sample_size)):
            kept += 1
    elif mode == "sample+cap+render":
        strategy = get_prompt_strategy("sap", "cross-lingual")
        config = CorpusConfig(source=corpus, sample_size=sample_size, cap_per_language=cap)
        for passage in sample_passages(config):
            kept += 1
            if passage.passage_language != "en":
                continue  # cross-lingual SAP: English passages, queries in other languages
            prompt_chars += len(strategy.summary_prompt(passage))
            summary = passage["text"][:200]  # stands in for the LLM's summary
            for lang in query_langs:
                prompt_chars += len(strategy.query_prompt(passage, lang, summary))
            prompts += 1 + len(query_langs)
    elif mode == "materialise":
        kept = len(list(iter_passages(CorpusConfig(source=corpus))))
    elapsed = time.perf_counter() - started
    return {
        "mode": mode,
        "peak_rss_mib": _peak_rss_mib(),
        "seconds": elapsed,
        "kept": kept,
        "prompts": prompts,
        "prompt_chars": prompt_chars,
    }


def _run_child(mode: str, args: argparse.Namespace, corpus: Path) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.corpus_rss", "--child", mode, "--corpus", str(corpus)]
    cmd += ["--sample-size", str(args.sample_size), "--cap", str(args.cap), "--query-langs", args.query_langs]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passages", type=int, default=1_000_000)
    parser.add_argument("--sample-size", type=int, default=200_000)
    parser.add_argument("--cap", type=int, default=50_000, help="cap per language")
    parser.add_argument("--query-langs", default="sw,yo,hi,zh,ar", help="the 5 cross-lingual query languages")
    parser.add_argument("--modes", default="imports,sample,sample+cap+render,materialise")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--corpus", help=argparse.SUPPRESS)
    parser.add_argument("--no-write", action="store_true", help="print only; do not write results/corpus_rss.md")
    args = parser.parse_args()
    query_langs = args.query_langs.split(",")

    if args.child:
        print(json.dumps(_child(args.child, args.corpus, args.sample_size, args.cap, query_langs)))
        return

    with tempfile.TemporaryDirectory(prefix="hfswim-corpus-rss-") as tmp:
        corpus = Path(tmp) / "synthetic.parquet"
        started = time.perf_counter()
        make_corpus(corpus, args.passages)
        made = time.perf_counter() - started
        size_mib = corpus.stat().st_size / 2**20
        print(f"corpus: {args.passages} passages, {size_mib:.0f} MiB Parquet, made in {made:.0f} s", flush=True)
        rows = []
        for mode in args.modes.split(","):
            result = _run_child(mode, args, corpus)
            print(json.dumps(result), flush=True)
            rows.append(result)

    command = "    .venv/bin/python -m benchmarks.corpus_rss" + (
        f" --passages {args.passages}" if args.passages != 1_000_000 else ""
    )
    lines = [
        "## Corpus stage: peak RSS streaming 1M passages through sampling and prompt rendering",
        "",
        "Command (from the repository root):",
        "",
        command,
        "",
        f"Machine: {platform.machine()}, 2 cores (shared with other jobs), no GPU; Python {platform.python_version()}.",
        f"Corpus: {args.passages:,} synthetic passages ({args.passages // 2:,} two-paragraph documents; en 70 %, "
        f"de/sw/zh 10 % each), {size_mib:.0f} MiB of Parquet. Sampling: sample_size {args.sample_size:,} "
        f"(threshold from a first counting pass), seed 0. Rendering: cross-lingual SAP, one summary prompt and "
        f"query prompts in {', '.join(query_langs)} for every kept English passage.",
        "Each row is a fresh subprocess; peak RSS is its own high-water mark (`VmHWM`). Goal: <= 1 GB (1024 MiB).",
        "",
        "| run | peak RSS (MiB) | time (s) | passages kept | prompts rendered | goal |",
        "|---|---:|---:|---:|---:|---|",
    ]
    describe = {
        "imports": "imports only (floor)",
        "sample": f"sample (sample_size {args.sample_size:,}, no cap)",
        "sample+cap+render": f"sample + cap {args.cap:,}/language + SAP prompts",
        "materialise": "reference: list(iter_passages()) (no streaming)",
    }
    for r in rows:
        goal = "" if r["mode"] in ("imports", "materialise") else ("met" if r["peak_rss_mib"] <= 1024 else "MISSED")
        lines.append(
            f"| {describe[r['mode']]} | {r['peak_rss_mib']:.0f} | {r['seconds']:.0f} | {r['kept']:,} | "
            f"{r['prompts']:,} | {goal} |"
        )
    lines += [
        "",
        "Times cover two passes over the corpus (a counting pass for the threshold, then the sampling pass) and "
        "were taken while other jobs shared the 2 cores. The capped run holds up to the cap per language in memory "
        "by design (the lowest draws); streaming rows hold nothing. The reference row shows what holding the "
        "corpus costs: it grows with the corpus (SWIM-IR-scale corpora have tens of millions of passages).",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
