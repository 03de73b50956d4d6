"""Assemble BENCHMARKS.md from the sections each benchmark writes to benchmarks/results/.

python -m benchmarks.report
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"

# Pipeline order; anything else follows alphabetically.
ORDER = [
    "generation_throughput",
    "embedded_generation",
    "generation_client_overhead",
    "generation_client_cpu",
    "generation_token_cost",
    "generation_structured_output",
    "generation_lowest_dependencies",
    "fault_drills",
    "corpus_rss",
    "langid_accuracy",
    "filters_throughput",
    "filters_scale",
    "small_llm_filters",
    "hub_build",
    "quality",
    "monolingual_xquad",
    "train_xquad",
    "eval_xquad",
    "inpars_interpolation",
    "inpars_xquad",
    "inpars_xquad_corpus",
    "inpars_xquad_heldout",
    "inpars_xquad_gbq",
    "inpars_xquad_no_logprob",
    "xor_tokenization",
    "encoder_usem3",
    "faiss_latency",
    "space_latency",
    "space_install",
    "cli_startup",
    "run_resume",
    "generate_rerun",
]

HEADER = """# Benchmarks

Each section below was written by the benchmark named in it, and gives the exact command that produced
its figures. Unless a section says otherwise: the shared 2-core, 24 GiB CPU machine with no GPU, so
absolute timings are noisy; ratios are measured side by side in one run. Re-run everything with
`make benchmarks` (which calls each `python -m benchmarks.<name>` and then `python -m benchmarks.report`).
"""


def main() -> None:
    sections = {p.stem: p for p in RESULTS.glob("*.md")}
    names = [n for n in ORDER if n in sections] + sorted(set(sections) - set(ORDER))
    parts = [HEADER] + [sections[n].read_text(encoding="utf-8").strip() + "\n" for n in names]
    (ROOT / "BENCHMARKS.md").write_text("\n".join(parts), encoding="utf-8")
    print(f"BENCHMARKS.md: {len(names)} sections")


if __name__ == "__main__":
    main()
