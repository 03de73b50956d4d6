"""CLI commands of the evaluation stage: ``hfswim evaluate``, ``hfswim index``, ``hfswim search``.

Heavy libraries (mteb, faiss, torch) are imported inside the commands so ``hfswim --help`` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from hfswim.evaluation.config import EvaluateConfig, IndexConfig
from hfswim.options import short_flag, stage_command


def _evaluate(config: EvaluateConfig, quiet: bool = False) -> None:
    """Evaluate a retriever with mteb on official tasks and hfswim's own (local BEIR, XOR-Retrieve, XTREME-UP).

    Writes to --output: mteb result JSON under results/, summary.md (a row per task and language), model-index.json (for the model card; give it to `hfswim push-model --eval-results`) and scores.json. With --reranker: the first stage's run under first-stage-runs/, the re-ranked scores (scores-reranked.json, model-index-reranked.json), and summary.md opens with first stage vs + reranker side by side.

    Examples:

      hfswim evaluate ./my-model --tasks local:./heldout --output eval/

      hfswim evaluate bm25 --tasks local:./xquad/beir --languages de,zh

      hfswim evaluate intfloat/multilingual-e5-small --tasks MIRACLRetrieval,xor-retrieve --index-kind hnsw

      hfswim evaluate bm25 --tasks local:./xquad/beir_xling --languages de-en --reranker runs/reranker --rerank-top-k 100
    """
    from hfswim.evaluation.evaluate import evaluate as run_evaluation

    run = run_evaluation(config, show_progress_bar=not quiet)
    typer.echo(run.summary)
    typer.echo(f"\nwrote {run.output}/summary.md, model-index.json and mteb results under {run.output}/results/")


evaluate = stage_command(EvaluateConfig, _evaluate, arguments=("model",), section="evaluate")


def _index(config: IndexConfig, quiet: bool = False) -> None:
    """Encode passages and save a faiss index with them (faiss-gpu is used when CUDA is there).

    Writes OUTPUT/index.faiss, OUTPUT/passages.parquet and OUTPUT/index.json (model, dim, metric, kind, count).

    Example:

      hfswim index passages.parquet --output my-index                    # default encoder (USE Multilingual v3)

      hfswim index passages.parquet --model ./my-model --output my-index --index-kind hnsw
    """
    from hfswim.evaluation.index import IndexParams
    from hfswim.evaluation.search import build_index

    params = IndexParams(hnsw_m=config.hnsw_m, hnsw_ef_search=config.ef_search, ivf_nprobe=config.nprobe)
    saved = build_index(
        config.passages, config.model, config.output, kind=config.index_kind, params=params, device=config.device,
        show_progress_bar=not quiet, batch_size=config.batch_size,
    )  # fmt: skip
    typer.echo(
        f"indexed {saved.metadata.count} passages ({saved.metadata.dim}-d, {config.index_kind}) into {config.output}"
    )


index = stage_command(IndexConfig, _index, arguments=("passages",), section="index")


def search(
    index_dir: Path = typer.Argument(..., metavar="INDEX", help="Index folder written by `hfswim index`."),
    query: str = typer.Argument(..., help="The query text, in any language the model knows."),
    k: int = typer.Option(10, *short_flag("--k"), help="Number of passages to return."),
    model: str | None = typer.Option(
        None, *short_flag("--model"), help="Encoder (default: the one recorded in index.json)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON lines instead of a table."),
    ef_search: int | None = typer.Option(None, "--ef-search", help="HNSW only: search beam width (default: as built)."),
) -> None:
    """Search an index built by `hfswim index` and print the top-k passages with their scores.

    Example:

      hfswim search my-index "Wo liegt der Eiffelturm?" --k 5
    """
    from hfswim.evaluation.search import Searcher

    hits = Searcher.load(index_dir, model=model, ef_search=ef_search).search(query, k=k)
    for hit in hits:
        if as_json:
            typer.echo(json.dumps(hit.__dict__, ensure_ascii=False))
        else:
            text = hit.text if len(hit.text) <= 160 else hit.text[:157] + "..."
            title = f"[{hit.title}] " if hit.title else ""
            typer.echo(f"{hit.rank:>3}  {hit.score:.4f}  {hit.passage_id}  {title}{text}")
