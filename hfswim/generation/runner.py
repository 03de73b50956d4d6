"""``generate(config)``: the Python API behind ``hfswim generate``.

It resolves the endpoints (or starts the embedded server), builds the prompt strategy, opens the durable
store, runs the engine, exports ``generated.parquet`` and writes ``manifest.json``.

Output folder::

    DIR/store/            records-*.jsonl and summaries-*.jsonl (durable, resumable)
    DIR/generated.parquet every stored record, deduplicated, in records.GENERATED_SCHEMA
    DIR/failures.jsonl    requests that failed for good (retried by the next run)
    DIR/manifest.json     model, endpoints, strategy, params, tokens, per-language counts, failures, retries

Example::

    from hfswim.generation import GenerateConfig, generate
    result = generate(GenerateConfig(passages="passages.parquet", output_dir="runs/gen", languages="sw,yo",
                                     endpoints=["http://localhost:8080"]))
    print(result.accepted, result.parquet_path)
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hfswim.errors import ConfigError, EndpointError
from hfswim.generation.backpressure import EndpointPool, EndpointSlot, OverloadGate, RequestCounters, RetryPolicy
from hfswim.generation.config import DEFAULT_CONCURRENCY, GenerateConfig
from hfswim.generation.endpoints import Endpoint, discover_endpoint, make_client, request_completion
from hfswim.generation.engine import GenerationEngine, check_strategy_languages, read_passages
from hfswim.generation.progress import ProgressBar, RunStats, write_manifest
from hfswim.generation.store import RecordStore


@dataclass
class GenerationResult:
    """What a run produced; ``manifest`` is the content of ``manifest.json``."""

    output_dir: Path
    parquet_path: Path
    manifest_path: Path
    failures_path: Path
    accepted: int
    rejected: int
    failed: int
    records_total: int
    manifest: dict[str, Any] = field(repr=False, default_factory=dict)


def load_strategy(config: GenerateConfig) -> Any:
    """The prompt strategy of the config (examples for Promptagator read from a JSONL file)."""
    from hfswim.prompts import get_prompt_strategy

    examples = None
    if config.examples:
        from hfswim.io import iter_jsonl

        examples = list(iter_jsonl(config.examples))
    return get_prompt_strategy(
        config.strategy,
        config.setting,
        template_dir=config.template_dir,
        num_exemplars=config.num_exemplars,
        examples=examples,
    )


def _estimate_total(config: GenerateConfig, n_languages: int) -> int | None:
    """Records this job will handle, from Parquet metadata (JSONL: unknown), for the progress bar."""
    import pyarrow.parquet as pq

    from hfswim.io import resolve_files

    total = 0
    for file in resolve_files(config.passages):
        if not file.name.endswith(".parquet"):
            return None
        total += pq.ParquetFile(file).metadata.num_rows
    total = -(-total // config.num_shards)
    if config.max_passages is not None:
        total = min(total, config.max_passages)
    return total * (1 if config.is_monolingual else n_languages)


def generate(config: GenerateConfig) -> GenerationResult:
    """Run one generation job (see the module docstring); resumable: rerun the same config to finish it.

    The event loop is uvloop's when it is installed (its socket and callback handling costs a client about
    a third less CPU per request at high rates), asyncio's otherwise.
    """
    return _event_loop_runner(agenerate(config))


def _event_loop_runner(coro: Any) -> Any:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


async def agenerate(config: GenerateConfig) -> GenerationResult:
    """The async form of :func:`generate`, for callers that already run an event loop."""
    from hfswim.io import resolve_files

    resolve_files(config.passages)  # a missing corpus fails before any server starts
    strategy = load_strategy(config)
    languages = config.language_codes()
    check_strategy_languages(strategy, languages, config.is_monolingual)

    with contextlib.ExitStack() as stack:
        if config.endpoints:
            endpoints = [
                await asyncio.to_thread(
                    discover_endpoint,
                    name,
                    kind=config.endpoint_kind,
                    model=config.model,
                    namespace=config.namespace,
                    token=config.token,
                )
                for name in config.endpoints
            ]
            model_name = _model_name(endpoints, config)
        else:
            from hfswim.generation.embedded import EmbeddedServer
            from hfswim.generation.progress import PhaseStatus

            status = PhaseStatus(enabled=config.progress)
            server = EmbeddedServer(
                config.model,
                backend=config.embedded_server,
                device=config.embedded_device,
                continuous_batching=config.embedded_continuous_batching,
                max_batch=config.embedded_max_batch,
                on_phase=status,
            )
            try:
                url = await asyncio.to_thread(stack.enter_context, server)
            finally:
                status.close()
            # the server's batch is the concurrency, its measured speed the timeout (unless the config sets them)
            timeout = server.request_timeout(max(config.max_new_tokens, config.summary_max_new_tokens or 0))
            info = {"embedded": True, "backend": server.backend, "server_info": server.info}
            if timeout is not None and "request_timeout" not in config.model_fields_set:
                info["request_timeout"] = timeout
            endpoint = Endpoint(
                url=url, kind="openai", model_id=server.served_model, max_concurrency=server.max_concurrency, info=info
            )
            endpoints = [endpoint]
            model_name = server.model_name
        return await _run(config, strategy, languages, endpoints, model_name)


def _model_name(endpoints: list[Endpoint], config: GenerateConfig) -> str:
    names = {ep.model_id or config.model for ep in endpoints}
    if None in names:
        raise ConfigError(
            "The model name is unknown for an OpenAI-compatible endpoint that does not list exactly one model: "
            "pass --model NAME (it is sent to the server and is part of every record's key)."
        )
    if len(names) > 1:
        raise ConfigError(f"All endpoints must serve the same model; they serve {sorted(names)}.")
    return names.pop()  # type: ignore[return-value]


async def _run(
    config: GenerateConfig, strategy: Any, languages: list[str], endpoints: list[Endpoint], model_name: str
) -> GenerationResult:
    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    manifest_path, failures_path, parquet_path = (
        out / "manifest.json",
        out / "failures.jsonl",
        out / "generated.parquet",
    )
    job = f"s{config.shard_index}of{config.num_shards}" if config.num_shards > 1 else "all"
    store = RecordStore(out / "store", num_files=config.store_files, fsync_interval=None, job=job)
    params = config.generation_params()
    counters = RequestCounters()
    clients = []
    slots = []
    for ep in endpoints:
        capacity = config.concurrency or ep.max_concurrency or DEFAULT_CONCURRENCY
        timeout = ep.info.get("request_timeout", config.request_timeout)  # embedded: derived from its speed
        client = make_client(ep, timeout=timeout, max_connections=capacity, http_backend=config.http_backend)
        clients.append(client)
        slots.append(
            EndpointSlot(
                name=ep.public_info()["url"],
                capacity=capacity,
                call=_bind(client, ep),
                gate=OverloadGate(config.overload_threshold, config.overload_pause),
            )
        )
    pool = EndpointPool(
        slots, RetryPolicy(config.max_retries, config.backoff_base, config.backoff_max), counters=counters
    )
    stats = RunStats()
    done_before = store.num_done
    total = _estimate_total(config, len(languages))
    progress = ProgressBar(total, enabled=config.progress)
    if total is not None and done_before:
        progress.update(stats, n=0)

    def manifest(status: str) -> dict[str, Any]:
        return {
            "status": status,
            "model": model_name,
            "endpoints": [
                {
                    **ep.public_info(),
                    "concurrency": slot.capacity,
                    "request_timeout": ep.info.get("request_timeout", config.request_timeout),
                }
                for ep, slot in zip(endpoints, slots, strict=True)
            ],
            "strategy": strategy.name,
            "setting": strategy.setting,
            "template_hash": strategy.template_hash,
            "languages": languages,
            "params": params,
            "passages": str(config.passages),
            "shard": {"index": config.shard_index, "num_shards": config.num_shards},
            "store": {"records_before_run": done_before, "records_now": store.num_done, "repairs": store.repaired},
            **stats.summary(),
            "requests": counters.requests,
            "retries_by_kind": dict(counters.retries),
            "failures_by_kind": dict(counters.failures),
            "overload_pauses": counters.overload_pauses,
        }

    engine = GenerationEngine(
        strategy,
        pool,
        store,
        model_name=model_name,
        endpoint_kind=endpoints[0].kind,
        languages=languages,
        params=params,
        failures_path=failures_path,
        num_shards=config.num_shards,
        shard_index=config.shard_index,
        max_passages=config.max_passages,
        stats=stats,
        progress=progress,
        on_tick=lambda: write_manifest(manifest_path, manifest("running")),
        tick_interval=config.manifest_interval,
        fsync_interval=config.fsync_interval,
    )
    status = "error"
    try:
        write_manifest(manifest_path, manifest("running"))
        await engine.run(read_passages(config.passages))
        status = "complete" if stats.failed == 0 else "incomplete"
    except (KeyboardInterrupt, asyncio.CancelledError):
        status = "interrupted"
        raise
    finally:
        progress.close()
        store.close()
        for client in clients:
            with contextlib.suppress(Exception):
                await client.close()
        finished = status in ("complete", "incomplete")
        if finished:  # an interrupted or failed run leaves its store to be resumed; no half-made export
            records_total = await asyncio.to_thread(store.export_parquet, parquet_path)
        final = manifest(status)
        if finished:
            final["generated_parquet"] = {"path": parquet_path.name, "records": records_total}
        write_manifest(manifest_path, final)
    return GenerationResult(
        output_dir=out,
        parquet_path=parquet_path,
        manifest_path=manifest_path,
        failures_path=failures_path,
        accepted=stats.accepted,
        rejected=stats.rejected,
        failed=stats.failed,
        records_total=records_total,
        manifest=final,
    )


def _bind(client: Any, endpoint: Endpoint):
    async def call(prompt: str, **kwargs: Any):
        return await request_completion(client, endpoint, prompt, **kwargs)

    return call


__all__ = ["EndpointError", "GenerationResult", "agenerate", "generate", "load_strategy"]
