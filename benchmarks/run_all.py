"""Run every benchmark with the arguments its BENCHMARKS.md figures came from, then rebuild BENCHMARKS.md.

    python -m benchmarks.run_all                 # everything (an hour or more on 2 CPU cores)
    python -m benchmarks.run_all corpus_rss hub_build

The XQuAD benchmarks read ``../shared/data/xquad`` (not shipped with hfswim).
"""

from __future__ import annotations

import os
import subprocess
import sys

# The InPars benchmark's setting, shared by its main run and its ablation (the log-prob filter off).
INPARS_XQUAD = ["--max-passages", "120", "--max-queries", "1000", "--batching", "single-language"]
INPARS_XQUAD += ["--batch-size", "16", "--rerank-top-k", "100"]
# The prompt per language with the higher kept rate before the log-prob filter (vanilla for de, GBQ for es).
INPARS_PROMPTS = ["--strategy", "inpars-gbq", "--language-strategies", "de=inpars-vanilla"]

# (module, arguments, extra environment): the commands recorded in benchmarks/results/*.md.
BENCHMARKS: list[tuple[str, list[str], dict[str, str]]] = [
    (
        "generation_throughput",
        ["--passages", "16", "--rounds", "4", "--concurrency", "8", "--max-new-tokens", "32"],
        {"OMP_NUM_THREADS": "1"},
    ),
    (
        "embedded_generation",
        [
            "--part",
            "paths",
            "--passages",
            "40",
            "--rounds",
            "2",
            "--old-per-round",
            "3",
            "--summary-sources",
            "lead,centroid",
        ],
        {"OMP_NUM_THREADS": "1"},
    ),
    ("embedded_generation", ["--part", "exemplars", "--passages", "16"], {"OMP_NUM_THREADS": "1"}),
    (
        "embedded_generation",
        ["--part", "demo", "--repeats", "1", "--summary-sources", "lead"],
        {"OMP_NUM_THREADS": "1"},
    ),
    (
        "embedded_generation",
        ["--part", "cascade", "--passages", "8", "--batch", "16", "--repeats", "2"],
        {"OMP_NUM_THREADS": "1"},
    ),
    (
        "embedded_generation",
        ["--part", "step", "--repeats", "2", "--batch", "8", "--steps", "4"],
        {"OMP_NUM_THREADS": "1"},
    ),
    ("client_overhead", ["--passages", "600", "--delay-passages", "200", "--concurrency", "64", "--rounds", "3"], {}),
    ("client_cpu", ["--baseline", "978b66a", "--rounds", "4", "--runs", "3"], {"OMP_NUM_THREADS": "1"}),
    ("structured_output", ["--passages", "12", "--languages", "sw,hi"], {"OMP_NUM_THREADS": "1"}),
    ("lowest_dependencies", ["--python", "python3.10"], {}),
    (
        "fault_drills",
        ["--passages", "60", "--kills", "5", "--rounds", "3", "--baseline-commit", "ac1b52f"],
        {"OMP_NUM_THREADS": "1"},
    ),
    ("token_cost", ["--mode", "tokenizer", "--passages", "50", "--languages", "sw,yo,hi,zh,ar"], {}),
    ("corpus_rss", [], {}),
    ("langid_accuracy", [], {"OMP_NUM_THREADS": "1"}),
    (
        "filters_throughput",
        ["--n", "100000", "--model-n", "500", "--baseline", "5b13175", "--repeats", "3"],
        {"OMP_NUM_THREADS": "1"},
    ),
    ("filters_scale", ["--sizes", "100000,300000,1000000", "--repeats", "2"], {"OMP_NUM_THREADS": "1"}),
    ("small_llm_filters", [], {"OMP_NUM_THREADS": "1"}),
    ("hub_build", [], {"OMP_NUM_THREADS": "1"}),
    ("quality", [], {"OMP_NUM_THREADS": "2"}),
    (
        "monolingual_xquad",
        ["--languages", "vi,hi,el,ro", "--passages", "120", "--inverse-cloze", "1"],
        {"OMP_NUM_THREADS": "2"},
    ),
    ("train_xquad", ["--languages", "de", "--max-passages", "40", "--eval-languages", "de,es,en,ru,zh"], {}),
    ("eval_xquad", [], {}),
    ("inpars_interpolation", ["--top-k", "100"], {"OMP_NUM_THREADS": "2"}),
    (
        "inpars_xquad",
        ["--work", "runs/bench-inpars-xquad-mixed", *INPARS_XQUAD, *INPARS_PROMPTS],
        {"OMP_NUM_THREADS": "2"},
    ),
    (
        "inpars_xquad",
        [
            "--work",
            "runs/bench-inpars-xquad-corpus",
            "--generate-from",
            "all",
            *INPARS_XQUAD,
            *INPARS_PROMPTS,
            "--results",
            "benchmarks/results/inpars_xquad_corpus.md",
        ],
        {"OMP_NUM_THREADS": "2"},
    ),
    (
        "inpars_xquad",
        [
            "--work",
            "runs/bench-inpars-xquad-heldout",
            "--generate-from",
            "held-out",
            *INPARS_XQUAD,
            *INPARS_PROMPTS,
            "--results",
            "benchmarks/results/inpars_xquad_heldout.md",
        ],
        {"OMP_NUM_THREADS": "2"},
    ),
    (
        "inpars_xquad",
        [
            "--work",
            "runs/bench-inpars-xquad-gbq",
            *INPARS_XQUAD,
            "--strategy",
            "inpars-gbq",
            "--results",
            "benchmarks/results/inpars_xquad_gbq.md",
        ],
        {"OMP_NUM_THREADS": "2"},
    ),
    (
        "inpars_xquad",
        [
            "--work",
            "runs/bench-inpars-xquad-mixed-all",
            *INPARS_XQUAD,
            *INPARS_PROMPTS,
            "--logprob-top-fraction",
            "1.0",
            "--results",
            "benchmarks/results/inpars_xquad_no_logprob.md",
        ],
        {"OMP_NUM_THREADS": "2"},
    ),
    ("xor_tokenization", ["--orders", "200", "--repeats", "5"], {"OMP_NUM_THREADS": "1"}),
    ("encoder_usem3", ["--indic-epochs", "1"], {"OMP_NUM_THREADS": "2"}),
    ("faiss_latency", ["--n", "1000000", "--threads", "2", "--m", "16", "--ef-construction", "48"], {}),
    ("space_latency", [], {"OMP_NUM_THREADS": "2"}),
    ("space_install", [], {}),
    ("cli_startup", ["--baseline", "d9bf26b", "--repeats", "7"], {}),
    ("run_resume", ["--baseline-commit", "d9bf26b"], {"OMP_NUM_THREADS": "2"}),
    ("generate_rerun", ["--baseline-commit", "978b66a", "--rounds", "3"], {"OMP_NUM_THREADS": "1"}),
]


def main(argv: list[str]) -> int:
    wanted = set(argv)
    unknown = wanted - {name for name, _, _ in BENCHMARKS}
    if unknown:
        print(f"unknown benchmark(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    failed = []
    for name, args, env in BENCHMARKS:
        if wanted and name not in wanted:
            continue
        command = [sys.executable, "-m", f"benchmarks.{name}", *args]
        print("+", " ".join(command), flush=True)
        if subprocess.run(command, env={**os.environ, **env}).returncode != 0:
            failed.append(name)
    subprocess.run([sys.executable, "-m", "benchmarks.report"], check=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
