"""XOR-Retrieve's token unit on real Wikipedia text: NLTK word_tokenize vs preserve_line=True vs whitespace words.

    .venv/bin/python -m benchmarks.xor_tokenization [--data ../shared/data/xquad] [--orders 200] [--repeats 5]

Reads XQuAD's 240 English paragraphs (SQuAD v1.1 dev, English Wikipedia) and reports, per tokeniser: tokens per
whitespace word, how many paragraphs ``preserve_line=True`` tokenises differently from the official
``word_tokenize``, how many ranked paragraphs a 5000- and 2000-token window reaches (median over random
orders), and tokenising throughput (cold memo, interleaved runs, median), which bounds the cost of scoring
Recall@kt officially. Writes benchmarks/results/xor_tokenization.md.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "xor_tokenization.md"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "xquad"))
    parser.add_argument("--orders", type=int, default=200, help="random paragraph orders for the window depth")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved throughput runs per tokeniser")
    args = parser.parse_args()
    from hfswim.evaluation import tokenization

    corpus = Path(args.data) / "beir" / "en" / "corpus.jsonl"
    with open(corpus, encoding="utf-8") as fh:
        texts = [json.loads(line)["text"] for line in fh]
    tokenizers = {
        "nltk word_tokenize (official)": tokenization.nltk_word_tokenize,
        "nltk preserve_line=True": tokenization.nltk_line_tokenize,
        "whitespace words": tokenization.whitespace_tokenize,
    }
    counts = {name: [len(tok(t)) for t in texts] for name, tok in tokenizers.items()}
    words = sum(counts["whitespace words"])
    differ = sum(tokenization.nltk_word_tokenize(t) != tokenization.nltk_line_tokenize(t) for t in texts)

    def depth(lengths: list[int], budget: int) -> int:
        total = 0
        for n, length in enumerate(lengths, 1):
            total += length
            if total >= budget:
                return n
        return len(lengths)

    depths: dict[tuple[str, int], int] = {}
    for name, lengths in counts.items():
        for budget in (5000, 2000):
            runs = []
            for seed in range(args.orders):
                order = list(range(len(texts)))
                random.Random(seed).shuffle(order)
                runs.append(depth([lengths[i] for i in order], budget))
            depths[name, budget] = int(statistics.median(runs))

    # Throughput: cold memo each run, tokenisers interleaved (ABCABC...), median passages per second.
    speed: dict[str, list[float]] = {name: [] for name in tokenizers}
    for _ in range(args.repeats):
        for name, tok in tokenizers.items():
            tokenization._word_tokenize.cache_clear()
            start = time.perf_counter()
            for t in texts:
                tok(t)
            speed[name].append(len(texts) / (time.perf_counter() - start))
    write_report(len(texts), words, counts, differ, depths, {n: statistics.median(v) for n, v in speed.items()}, args)


def write_report(n_texts, words, counts, differ, depths, speed, args) -> None:
    lines = [
        "## Evaluation: XOR-Retrieve's token unit (NLTK word_tokenize) on real Wikipedia paragraphs",
        "",
        f"Command: `.venv/bin/python -m benchmarks.xor_tokenization --orders {args.orders} --repeats {args.repeats}`"
        " (data: `../shared/data/xquad/beir/en/corpus.jsonl`,",
        f"{n_texts} English Wikipedia paragraphs from SQuAD v1.1 dev, {words} whitespace words). Machine: 2 shared"
        " cores.",
        "",
        "XOR-Retrieve's official Recall@kt counts `nltk.word_tokenize` tokens; hfswim used to count whitespace",
        "words, which lets a 5000-token window reach more passages (a biased-upward recall). `preserve_line=True`",
        "needs no Punkt model but keeps sentence-final periods glued to words, so it is not the official unit either:",
        "hfswim ships the Punkt English model and uses the full `word_tokenize`.",
        "",
        "| tokeniser | tokens / whitespace word | paragraphs in a 5000-token window | in a 2000-token window"
        " | paragraphs / s (cold) |",
        "|---|---|---|---|---|",
    ]
    for name, lengths in counts.items():
        lines.append(
            f"| {name} | {sum(lengths) / words:.3f} | {depths[name, 5000]} | {depths[name, 2000]}"
            f" | {speed[name]:,.0f} |"
        )
    lines += [
        "",
        f"`preserve_line=True` tokenises {differ} of the {n_texts} paragraphs differently from `word_tokenize`.",
        f"Window depths are medians over {args.orders} random paragraph orders. Throughput is the median of"
        f" {args.repeats} interleaved runs with the",
        "tokenisation memo cleared; at that rate the official scoring of XOR-Retrieve dev (2,000 questions, about",
        "50 top passages each, mostly distinct) tokenises for "
        f"~{2000 * 50 / speed['nltk word_tokenize (official)']:.0f} s on one core.",
        "",
    ]
    RESULTS.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
