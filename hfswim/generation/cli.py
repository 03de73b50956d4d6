"""`hfswim generate`: synthesize (summary, query) records for passages with an LLM endpoint."""

from __future__ import annotations

import typer

from hfswim.generation.config import GenerateConfig
from hfswim.options import stage_command

_HELP = (
    "Generate synthetic queries for PASSAGES with an LLM (Parquet/JSONL in the PASSAGE_SCHEMA, e.g. from "
    "`hfswim sample`).\n\n"
    "Default strategy 'sap' (summarize-then-ask, two steps): one English summary per passage, then one query per "
    "target language that reuses it ('sap-naive' asks for both in one request per language). With no --endpoint, "
    "hfswim serves the packaged Gemma 3 270M itself (its embedded server on a loopback port: shared prompt "
    "prefixes computed once, requests decoded in batches; converted once into "
    "~/.cache/hfswim). Endpoints: TGI (native /generate, with token log-probs) or any OpenAI-compatible server "
    "(TGI, vLLM, SGLang, llama.cpp, transformers serve), by URL or Inference Endpoint name.\n\n"
    "Writes to --output DIR: store/ (durable JSONL, one line per finished record), generated.parquet "
    "(GENERATED_SCHEMA), failures.jsonl (requests that failed after all retries), manifest.json (model, endpoints, "
    "params, token totals, per-language counts, failures and retries by kind). With --num-shards N each job writes "
    "generated-I-of-N.parquet and manifest-I-of-N.json; the last one to finish merges them into generated.parquet "
    "(or run again with --merge). A killed or failed run resumes: run the same command again; finished records are "
    "never requested or written twice. Exit code 3: some requests failed after all retries."
)
_EPILOG = (
    "Examples:\n\n"
    "  hfswim generate passages.parquet -o runs/gen --languages sw,yo   (embedded Gemma 3 270M)\n\n"
    "  hfswim generate passages.parquet -o runs/gen --endpoint http://localhost:8080 --languages xor\n\n"
    "  hfswim generate passages.parquet -o runs/gen -e my-endpoint --namespace my-org --num-shards 4 --shard-index 0\n\n"
    "  hfswim generate mono.parquet -o runs/mono --setting monolingual --languages miracl\n\n"
    "  hfswim generate passages.parquet -o runs/gen --provider auto --model Qwen/Qwen2.5-72B-Instruct -l sw\n\n"
    "  hfswim generate passages.parquet -o runs/gen --dry-run --price-in 0.6 --price-out 0.6 -l xor"
)


def _generate(
    config: GenerateConfig,
    merge: bool = typer.Option(
        False,
        "--merge",
        help="Only merge the finished shards of --output (written by --num-shards N jobs) into generated.parquet "
        "and manifest.json; the last shard to finish does this by itself.",
    ),
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        help="Send nothing: render every prompt of the job and print the token and cost estimate (upper bounds; "
        "with --price-in/--price-out, the cost).",
    ),
    quiet: bool = False,
) -> None:
    from hfswim.generation.runner import generate as run_generate

    if quiet:
        config.progress = False
    # SIGTERM (a job scheduler stopping us) unwinds like Ctrl-C (hfswim.cli installs the handler and exits
    # 143): the embedded server is stopped and the manifest written. SIGKILL needs nothing: every finished
    # record is already on disk.
    if dry_run:
        from hfswim.generation.cost import estimate_job, format_estimate

        typer.echo(format_estimate(estimate_job(config)))
        return
    if merge:
        from hfswim.generation.rundir import merge_shards

        merged = merge_shards(config.output_dir, config.num_shards)
        r = merged["records"]
        typer.echo(
            f"merged {config.num_shards} shards: {r['total']} records ({r['accepted']} accepted, "
            f"{r['rejected']} rejected, {r['failed']} failed) in {config.output_dir}/generated.parquet"
        )
        raise typer.Exit(3 if r["failed"] else 0)
    result = run_generate(config)
    m = result.manifest
    tokens = m.get("this_run", {}).get("tokens", {})
    typer.echo(
        f"{result.accepted} accepted, {result.rejected} rejected, {result.failed} failed "
        f"({m['records']['already_done']} already done); {tokens.get('total', 0)} LLM tokens; "
        f"{result.records_total} records in {result.parquet_path}"
    )
    if m.get("embedded_server", {}).get("started") is False:
        typer.echo("every record was already in the store: the embedded server was not started")
    if result.failed:
        typer.echo(f"{result.failed} requests failed after retries (see {result.failures_path}); rerun to retry them.")
        raise typer.Exit(3)


generate = stage_command(
    GenerateConfig, _generate, arguments=("passages",), section="generate", help=_HELP + "\n\n" + _EPILOG
)
