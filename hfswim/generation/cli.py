"""`hfswim generate`: synthesize (summary, query) records for passages with an LLM endpoint."""

from __future__ import annotations

import typer

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
    "  hfswim generate passages.parquet -o runs/gen --provider auto --model Qwen/Qwen3-32B   (Inference Providers)\n\n"
    "  OPENAI_API_KEY=... hfswim generate passages.parquet -o runs/gen -e https://api.openai.com/v1 "
    "--api-key-env OPENAI_API_KEY -m gpt-4o-mini --dry-run --price-in 0.15 --price-out 0.6"
)


def generate(
    passages: str = typer.Argument(..., help="Passages: a Parquet/JSONL file or folder (PASSAGE_SCHEMA)."),
    output: str = typer.Option(..., "--output", "-o", help="Run folder (created; rerun the command to resume)."),
    endpoint: list[str] = typer.Option(
        None, "--endpoint", "-e", help="Endpoint URL or Inference Endpoint name; repeat to drive several at once."
    ),
    endpoint_kind: str = typer.Option(
        "auto", "--endpoint-kind", help="auto (probe /info, then /v1/models), tgi, openai."
    ),
    namespace: str = typer.Option(None, "--namespace", help="Namespace of Inference Endpoints given by name."),
    provider: str = typer.Option(
        None,
        "--provider",
        help="Hugging Face Inference Providers: a provider name (together, novita, groq, ...) or auto; with "
        "--model ORG/MODEL and your HF token, no --endpoint.",
    ),
    api_key_env: str = typer.Option(
        None,
        "--api-key-env",
        help="Hosted OpenAI-compatible API: the NAME of the environment variable holding its key (sent to the "
        "--endpoint URL only, never written).",
    ),
    structured_output: str = typer.Option(
        "auto",
        "--structured-output",
        help="auto (JSON via TGI >= 1.4.3 grammar), json (ask every server for JSON: TGI grammar, OpenAI "
        "response_format), text.",
    ),
    price_in: float = typer.Option(None, "--price-in", help="USD per million prompt tokens (cost estimate)."),
    price_out: float = typer.Option(None, "--price-out", help="USD per million completion tokens (cost estimate)."),
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        help="Send nothing: render every prompt of the job and print the token and cost estimate (upper bounds).",
    ),
    model: str = typer.Option(
        None,
        "--model",
        "-m",
        help="No endpoint: a local model folder or Hub id to serve instead of the packaged Gemma. "
        "With endpoints: the model name for OpenAI-compatible servers. With --provider: the Hub model id.",
    ),
    strategy: str = typer.Option("sap", "--strategy", help="sap, sap-naive, inpars-vanilla, inpars-gbq, promptagator."),
    setting: str = typer.Option("cross-lingual", "--setting", help="cross-lingual or monolingual."),
    languages: str = typer.Option(
        None,
        "--languages",
        "-l",
        help="Query languages: 'sw,yo' or xor, miracl, indic (default: xor cross-lingual, miracl monolingual).",
    ),
    template_dir: str = typer.Option(None, "--template-dir", help="Folder of .jinja files overriding the templates."),
    num_exemplars: int = typer.Option(3, "--num-exemplars", help="Few-shot exemplars per prompt."),
    examples: str = typer.Option(None, "--examples", help="Promptagator: JSONL of {text, query[, title]} examples."),
    max_new_tokens: int = typer.Option(96, "--max-new-tokens", help="Token limit of each completion."),
    temperature: float = typer.Option(0.0, "--temperature", help="0 = greedy."),
    top_p: float = typer.Option(None, "--top-p", help="Nucleus sampling (with --temperature > 0)."),
    seed: int = typer.Option(0, "--seed", help="Sampling seed sent to the server."),
    concurrency: int = typer.Option(
        None,
        "--concurrency",
        "-c",
        help="Requests in flight per endpoint (default: TGI max_concurrent_requests, or 16).",
    ),
    max_retries: int = typer.Option(
        8, "--max-retries", help="Retries per request on 429/5xx/timeouts/connection errors."
    ),
    timeout: float = typer.Option(
        None,
        "--timeout",
        help="Seconds for a whole request (connect, wait, read the answer) before it times out "
        "(default 300; embedded: from the server's speed).",
    ),
    num_shards: int = typer.Option(1, "--num-shards", help="Split the passages over N client jobs (stable hash)."),
    shard_index: int = typer.Option(0, "--shard-index", help="Which of the N jobs this is (0-based)."),
    max_passages: int = typer.Option(None, "--max-passages", help="Stop after this many passages of this shard."),
    device: str = typer.Option("cpu", "--device", help="Embedded server only: cpu, cuda, auto."),
    embedded_server: str = typer.Option(
        "hfswim",
        "--embedded-server",
        help="No endpoint: hfswim (batched, prefix KV cache) or transformers (`transformers serve`).",
    ),
    no_progress: bool = typer.Option(False, "--no-progress", help="No progress bar."),
    merge: bool = typer.Option(
        False,
        "--merge",
        help="Only merge the finished shards of --output (written by --num-shards N jobs) into generated.parquet "
        "and manifest.json; the last shard to finish does this by itself.",
    ),
) -> None:
    from hfswim.generation.config import load_config
    from hfswim.generation.runner import generate as run_generate

    # SIGTERM (a job scheduler stopping us) unwinds like Ctrl-C (hfswim.cli installs the handler and exits
    # 143): the embedded server is stopped and the manifest written. SIGKILL needs nothing: every finished
    # record is already on disk.
    config = load_config(
        passages=passages,
        output_dir=output,
        endpoints=list(endpoint or []),
        endpoint_kind=endpoint_kind,
        namespace=namespace,
        provider=provider,
        api_key_env=api_key_env,
        structured_output=structured_output,
        price_in=price_in,
        price_out=price_out,
        model=model,
        strategy=strategy,
        setting=setting,
        languages=languages,
        template_dir=template_dir,
        num_exemplars=num_exemplars,
        examples=examples,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        top_p=top_p,
        seed=seed,
        concurrency=concurrency,
        max_retries=max_retries,
        **({"request_timeout": timeout} if timeout is not None else {}),
        num_shards=num_shards,
        shard_index=shard_index,
        max_passages=max_passages,
        embedded_device=device,
        embedded_server=embedded_server,
        progress=not no_progress,
    )
    if dry_run:
        from hfswim.generation.cost import estimate_job, format_estimate

        typer.echo(format_estimate(estimate_job(config)))
        return
    if merge:
        from hfswim.generation.rundir import merge_shards

        merged = merge_shards(output, num_shards)
        r = merged["records"]
        typer.echo(
            f"merged {num_shards} shards: {r['total']} records ({r['accepted']} accepted, {r['rejected']} rejected, "
            f"{r['failed']} failed) in {output}/generated.parquet"
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
    if result.failed:
        typer.echo(f"{result.failed} requests failed after retries (see {result.failures_path}); rerun to retry them.")
        raise typer.Exit(3)


generate.__doc__ = _HELP + "\n\n" + _EPILOG
