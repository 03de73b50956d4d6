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
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hfswim.corpus.reading import read_passages
from hfswim.errors import ConfigError, EndpointError, InputError
from hfswim.gc_tuning import fewer_gc_passes
from hfswim.generation.backpressure import (
    EndpointHealth,
    EndpointPool,
    EndpointSlot,
    OverloadGate,
    RequestCounters,
    RetryPolicy,
)
from hfswim.generation.client import LLMClient
from hfswim.generation.config import DEFAULT_CONCURRENCY, GenerateConfig
from hfswim.generation.cost import actual_cost
from hfswim.generation.endpoints import (
    Endpoint,
    discover_endpoint,
    is_hf_hosted,
    resolve_endpoint_url,
    split_userinfo,
)
from hfswim.generation.engine import GenerationEngine, RecordPlan, check_strategy_languages
from hfswim.generation.progress import ProgressBar, RunStats, write_manifest
from hfswim.generation.rundir import RunFiles, failed_per_language, merge_shards, prune_failures, recover
from hfswim.generation.store import RecordStore
from hfswim.io import make_dir
from hfswim.redact import redact, redact_url, register_secret, register_url_secrets

if TYPE_CHECKING:
    from hfswim.prompts.strategies import PromptStrategy

logger = logging.getLogger(__name__)


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


def load_strategy(config: GenerateConfig) -> PromptStrategy:
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
        query_context=config.query_context,
    )


def _estimate_total(config: GenerateConfig, passage_files: list[Path], n_languages: int) -> int | None:
    """Records this job will handle, from Parquet metadata (JSONL: unknown), for the progress bar."""
    from hfswim.io import open_parquet

    total = 0
    for file in passage_files:
        if not file.name.endswith(".parquet"):
            return None
        total += open_parquet(file).metadata.num_rows
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

    _register_secrets(config)
    passage_files = resolve_files(config.passages)  # once per run; a missing corpus fails before any server starts
    languages = config.language_codes()
    total = _estimate_total(config, passage_files, len(languages))  # so does a file that is not Parquet
    out = Path(config.output_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"--output {out}: exists and is not a folder; give a run folder (created if missing).")
    strategy = load_strategy(config)
    check_strategy_languages(strategy, languages, config.is_monolingual)

    with contextlib.ExitStack() as stack:
        down: set[int] = set()
        endpoints: list[Endpoint] | None
        if config.provider:
            from hfswim.generation.providers import provider_endpoint

            endpoint = await asyncio.to_thread(
                provider_endpoint, config.model, config.provider, token=config.token,
                router_url=config.provider_router_url, structured_output=config.structured_output,
            )  # fmt: skip
            endpoints, model_name = [endpoint], str(endpoint.model_id)
        elif config.endpoints:
            endpoints, down = await _discover_endpoints(config)
            model_name = _model_name([ep for i, ep in enumerate(endpoints) if i not in down], config)
        else:  # the embedded server: started by _run only when a record of this job is missing
            from hfswim.generation.embedded import embedded_model_name

            endpoints, model_name = None, embedded_model_name(config.model)
        with fewer_gc_passes():  # ~10% of the client's CPU per completion went to collector passes
            return await _run(
                config, strategy, endpoints, model_name, passage_files, down, total,
                start_embedded=lambda: _start_embedded(config, stack),
            )  # fmt: skip


async def _start_embedded(config: GenerateConfig, stack: contextlib.ExitStack) -> list[Endpoint]:
    """Start the embedded server (stopped when ``stack`` closes); its endpoint, with its batch as the concurrency
    and its measured speed as the request timeout (unless the config sets them)."""
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
    timeout = server.request_timeout(max(config.max_new_tokens, config.summary_max_new_tokens or 0))
    info = {"embedded": True, "backend": server.backend, "started": True, "server_info": server.info}
    if timeout is not None and "request_timeout" not in config.model_fields_set:
        info["request_timeout"] = timeout
    endpoint = Endpoint(
        url=url, kind="openai", model_id=server.served_model, max_concurrency=server.max_concurrency, info=info
    )
    return [endpoint]


def _embedded_not_started(config: GenerateConfig) -> list[Endpoint]:
    """The embedded endpoint of a job whose records are all in the store: no server, so no request can go out
    (the engine asks for nothing: it skips every finished record)."""
    info = {"embedded": True, "backend": config.embedded_server, "started": False}
    return [Endpoint(url="http://127.0.0.1:0", kind="openai", model_id=None, max_concurrency=1, info=info)]


def _register_secrets(config: GenerateConfig) -> None:
    """Every credential this run could hold is masked in whatever it writes (see :mod:`hfswim.redact`)."""
    from huggingface_hub import get_token

    for name in config.endpoints:
        register_url_secrets(name)
    register_secret(config.token)
    with contextlib.suppress(Exception):
        register_secret(get_token())
    if config.api_key_env:  # registered before anything can fail and quote it
        register_secret(os.environ.get(config.api_key_env))


async def _discover_endpoints(config: GenerateConfig) -> tuple[list[Endpoint], set[int]]:
    """Discover every endpoint; with several, one that does not answer is kept out of the pool (probed later)
    as long as another answers. Returns the endpoints and the indices of those that are down."""
    from huggingface_hub import get_token

    token = config.token
    if config.api_key_env:
        from hfswim.generation.providers import api_key_from_env, check_key_hosts

        check_key_hosts(config.endpoints)
        token = api_key_from_env(config.api_key_env)  # sent to these URLs only, in place of any HF token
    found: list[Endpoint | None] = []
    errors: list[str] = []
    for name in config.endpoints:
        try:
            endpoint = await asyncio.to_thread(
                discover_endpoint, name, kind=config.endpoint_kind, model=config.model,
                namespace=config.namespace, token=token, structured_output=config.structured_output,
            )  # fmt: skip
            found.append(endpoint)
        except EndpointError as err:
            if len(config.endpoints) == 1:
                raise
            found.append(None)
            errors.append(str(err))
    live = [ep for ep in found if ep is not None]
    if not live:
        raise EndpointError(redact(f"none of the {len(config.endpoints)} endpoints answered: " + " | ".join(errors)))
    down = {i for i, ep in enumerate(found) if ep is None}
    for i in sorted(down):
        shown = redact_url(config.endpoints[i])
        logger.warning(
            "%s", redact(f"hfswim: warning: endpoint {shown} does not answer; starting without it (it is probed "
                         "and joins the pool when it answers).")
        )  # fmt: skip
        # Assume it serves what the others serve: a probe that succeeds proves it reachable, and the records
        # are keyed by the model name, which all endpoints must share.
        ref = live[0]
        try:
            url = resolve_endpoint_url(config.endpoints[i], namespace=config.namespace, token=token)
        except EndpointError:  # an Inference Endpoint name the Hub cannot resolve: nothing to probe
            continue
        url, basic_auth = split_userinfo(url)
        found[i] = Endpoint(
            url=url, kind=ref.kind, model_id=ref.model_id, max_concurrency=ref.max_concurrency,
            token=token or (get_token() if is_hf_hosted(url) else None), basic_auth=basic_auth,
            structured_output=ref.structured_output, api_prefix=ref.api_prefix,
        )  # fmt: skip
    kept: list[Endpoint] = []
    down_kept: set[int] = set()
    for i, ep in enumerate(found):
        if ep is not None:
            if i in down:
                down_kept.add(len(kept))
            kept.append(ep)
    return kept, down_kept


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
    config: GenerateConfig,
    strategy: PromptStrategy,
    endpoints: list[Endpoint] | None,
    model_name: str,
    passage_files: list[Path],
    down: set[int] | None = None,
    total: int | None = None,
    start_embedded: Callable[[], Awaitable[list[Endpoint]]] | None = None,
) -> GenerationResult:
    """Open the store, build the endpoint pool, run the engine over the passages, then export.

    ``endpoints`` None: the embedded server's, which ``start_embedded`` starts, only when the store lacks a record
    of this job (a re-run of a finished job exports and reports without loading a model)."""
    out = make_dir(config.output_dir)
    files = RunFiles.for_job(out, config.shard_index, config.num_shards)
    store, recovered = _open_store(out, files, config)
    try:
        endpoints = await _endpoints_for(config, strategy, endpoints, model_name, passage_files, store, start_embedded)
    except BaseException:
        store.close()
        raise
    pool, clients = _endpoint_pool(config, endpoints, down or set())
    stats = RunStats()
    report = _RunManifest(
        config, strategy, endpoints, pool, model_name, store, files, stats, recovered,
        done_before=store.num_done, open_failures=prune_failures(files.failures, store.is_done), clients=clients,
    )  # fmt: skip
    progress = ProgressBar(total, enabled=config.progress, initial=min(report.done_before, total or report.done_before))
    engine = GenerationEngine(
        config, strategy, pool, store, model_name=model_name, endpoint_kind=endpoints[0].kind,
        failures_path=files.failures, stats=stats, progress=progress,
        on_tick=lambda: write_manifest(files.manifest, report.build("running")),
    )  # fmt: skip
    status = "error"
    try:
        write_manifest(files.manifest, report.build("running"))
        await engine.run(read_passages(passage_files))
        status = "complete" if stats.failed == 0 else "incomplete"
        _warn_own_language(engine.own_language_skipped)
    except (KeyboardInterrupt, asyncio.CancelledError):
        status = "interrupted"
        raise
    finally:
        try:
            progress.close()
            for client in clients:
                with contextlib.suppress(Exception):
                    await client.aclose()
            final, records_total = await _finish(report, status)
        finally:
            store.close()  # releases the job's lock: the run folder is final
    return GenerationResult(
        output_dir=out,
        parquet_path=files.parquet,
        manifest_path=files.manifest,
        failures_path=files.failures,
        accepted=stats.accepted,
        rejected=stats.rejected,
        failed=stats.failed,
        records_total=records_total,
        manifest=final,
    )


async def _endpoints_for(
    config: GenerateConfig,
    strategy: PromptStrategy,
    endpoints: list[Endpoint] | None,
    model_name: str,
    passage_files: list[Path],
    store: RecordStore,
    start_embedded: Callable[[], Awaitable[list[Endpoint]]] | None,
) -> list[Endpoint]:
    """The given endpoints; or the embedded server's: started when a record of this job is missing from the
    store, else a placeholder that is never called (the record keys need the model's name only, not the model)."""
    if endpoints is not None:
        return endpoints
    assert start_embedded is not None
    plan = RecordPlan(config, strategy, model_name)
    missing = await asyncio.to_thread(plan.first_missing, read_passages(passage_files), store.is_done)
    if missing is None:
        logger.info("every record of this job is in the store: the embedded server is not started")
        return _embedded_not_started(config)
    return await start_embedded()


def _warn_own_language(skipped: dict[str, int]) -> None:
    """A cross-lingual run asks each passage in the *other* selected languages: say so when a selected language
    got no query for the passages written in it (`--languages de,en` on English passages gives no English)."""
    for lang, n in sorted(skipped.items()):
        logger.warning(
            "hfswim: warning: %d passage(s) are in %s, a selected query language: cross-lingual queries are asked "
            "in the other languages only (use --setting monolingual for %s queries on %s passages).",
            n, lang, lang, lang,
        )  # fmt: skip


def _open_store(out: Path, files: RunFiles, config: GenerateConfig) -> tuple[RecordStore, dict[str, Any]]:
    """The job's store, locked from here until the export and the final manifest are written, and what was
    recovered from an interrupted run's leftovers."""
    store = RecordStore(out / "store", num_files=config.store_files, fsync_interval=None, job=files.job)
    try:
        return store, recover(files, store.is_done)
    except BaseException:
        store.close()
        raise


def _endpoint_pool(config: GenerateConfig, endpoints: list[Endpoint], down: set[int]) -> tuple[EndpointPool, list]:
    """One slot per endpoint (its client, capacity, overload gate and health), pooled with retries; the
    endpoints in ``down`` start out of the pool until a probe answers. Returns the pool and the clients
    (closed by the caller)."""
    clients = []
    slots = []
    for i, ep in enumerate(endpoints):
        capacity = config.concurrency or ep.max_concurrency or DEFAULT_CONCURRENCY
        timeout = ep.info.get("request_timeout", config.request_timeout)  # embedded: derived from its speed
        client = LLMClient(ep, timeout=timeout, max_connections=capacity)
        clients.append(client)
        slot = EndpointSlot(
            name=ep.public_info()["url"],
            capacity=capacity,
            call=_bind(client, ep, timeout),
            gate=OverloadGate(config.overload_threshold, config.overload_pause),
            health=EndpointHealth(config.unreachable_threshold, config.probe_interval),
        )
        if i in down:
            slot.health.mark_down()
        slots.append(slot)

    def health_changed(slot: EndpointSlot, change: str) -> None:
        what = "does not answer: out of the pool until a probe succeeds" if change == "down" else "answers again"
        logger.warning("%s", redact(f"hfswim: warning: endpoint {slot.name} {what}."))

    pool = EndpointPool(
        slots,
        RetryPolicy(config.max_retries, config.backoff_base, config.backoff_max),
        counters=RequestCounters(),
        give_up_after=config.unreachable_timeout,
        on_health_change=health_changed,
    )
    return pool, clients


@dataclass
class _RunManifest:
    """What ``manifest.json`` reports: totals over everything this job's store holds (all runs), and under
    ``this_run`` what this process did."""

    config: GenerateConfig
    strategy: PromptStrategy
    endpoints: list[Endpoint]
    pool: EndpointPool
    model_name: str
    store: RecordStore
    files: RunFiles
    stats: RunStats
    recovered: dict[str, Any]
    done_before: int
    open_failures: list[dict[str, Any]]
    clients: list[LLMClient] = field(default_factory=list)

    def build(self, status: str, failures: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        config, stats, store, counters = self.config, self.stats, self.store, self.pool.counters
        tally = store.tally(self.files.job if config.num_shards > 1 else None)
        failed = len(failures) if failures is not None else len(self.open_failures) + stats.failed
        failed_by_lang = failed_per_language(failures) if failures is not None else {}
        per_language = {lang: dict(c) for lang, c in tally.per_language.items()}
        for lang, n in failed_by_lang.items():
            per_language.setdefault(lang, {})["failed"] = n
        return {
            "status": status,
            "model": self.model_name,
            "endpoints": [
                {
                    **ep.public_info(),
                    "concurrency": slot.capacity,
                    "request_timeout": ep.info.get("request_timeout", config.request_timeout),
                    "up": not slot.health.down,
                }
                for ep, slot in zip(self.endpoints, self.pool.slots, strict=True)
            ],
            **({"api_key_env": config.api_key_env} if config.api_key_env else {}),  # the variable's name only
            **_embedded_report(self.endpoints),
            "strategy": self.strategy.name,
            "setting": self.strategy.setting,
            "template_hash": self.strategy.template_hash,
            "languages": config.language_codes(),
            "params": config.generation_params(),
            "passages_path": str(config.passages),
            "passages": stats.summary()["passages"],  # this run's passage counts
            "shard": {"index": config.shard_index, "num_shards": config.num_shards},
            "store": {"records_before_run": self.done_before, "records_now": store.num_done, "repairs": store.repaired},
            "recovered": self.recovered,
            "records": {
                "total": tally.accepted + tally.rejected,
                "accepted": tally.accepted,
                "rejected": tally.rejected,
                "failed": failed,
                "already_done": stats.records_skipped_done,
            },
            "per_language": {lang: per_language[lang] for lang in sorted(per_language)},
            "reject_reasons": dict(tally.reject_reasons.most_common()),
            "tokens": tally.tokens(),
            "cost": actual_cost(tally.tokens(), config),
            "structured_output": {
                "mode": config.structured_output,
                "rejected_by_server": sum(client.structured_rejected for client in self.clients),
            },
            "this_run": {
                **stats.summary(),
                "cost": actual_cost(stats.summary()["tokens"], config),
                "requests": counters.requests,
                "retries_by_kind": dict(counters.retries),
                "failures_by_kind": dict(counters.failures),
                "overload_pauses": counters.overload_pauses,
                "endpoints_down": counters.endpoints_down,
                "endpoints_back": counters.endpoints_back,
                "probes": counters.probes,
            },
            # kept at the top level too: scripts read them there
            "requests": counters.requests,
            "retries_by_kind": dict(counters.retries),
            "failures_by_kind": dict(counters.failures),
            "overload_pauses": counters.overload_pauses,
        }


def _embedded_report(endpoints: list[Endpoint]) -> dict[str, Any]:
    """``{"embedded_server": {"backend": ..., "started": ...}}`` for a run on the embedded server, else {}:
    ``started`` is false when every record was in the store and no model was loaded."""
    info = endpoints[0].info if len(endpoints) == 1 else {}
    if not info.get("embedded"):
        return {}
    return {"embedded_server": {"backend": info.get("backend"), "started": bool(info.get("started"))}}


async def _finish(report: _RunManifest, status: str) -> tuple[dict[str, Any], int]:
    """After the engine: the export (finished runs only: an interrupted or failed run leaves its store to be
    resumed, no half-made export), the final manifest, and for a sharded job the folder's merged export
    once every shard is done. Returns the final manifest and the number of records exported."""
    config, store, files = report.config, report.store, report.files
    sharded = config.num_shards > 1
    store.fsync()
    failures = prune_failures(files.failures, store.is_done)
    finished = status in ("complete", "incomplete")
    records_total = 0
    if finished:
        records_total = await asyncio.to_thread(store.export_parquet, files.parquet, files.job if sharded else None)
    final = report.build(status, failures)
    if finished:
        final["generated_parquet"] = {"path": files.parquet.name, "records": records_total}
    write_manifest(files.manifest, final)
    if finished and sharded:  # the last shard to finish writes the folder's generated.parquet
        merged = await asyncio.to_thread(merge_shards, files.root, config.num_shards, require_all=False)
        if merged is not None:
            final["merged"] = {"path": "generated.parquet", "records": merged["records"]["total"]}
    return final, records_total


def _bind(client: LLMClient, endpoint: Endpoint, timeout: float | None = None):
    """One request to one endpoint, bounded as a whole: connecting, sending, waiting AND reading the body
    (a server trickling a byte a second defeats per-read timeouts)."""

    async def call(prompt: str, **kwargs: Any):
        if timeout is None:
            return await client.complete(prompt, **kwargs)
        if _ASYNCIO_TIMEOUT:
            async with asyncio.timeout(timeout):
                return await client.complete(prompt, **kwargs)
        return await asyncio.wait_for(client.complete(prompt, **kwargs), timeout)

    return call


# asyncio.timeout (3.11+) bounds the request in its own task; on Python 3.10, which hfswim supports as the HF
# stack does (transformers 5 requires >= 3.10), wait_for does the same at the cost of one more task per request.
# Both raise a TimeoutError that backpressure.classify counts as a retryable timeout.
_ASYNCIO_TIMEOUT = sys.version_info >= (3, 11)


__all__ = ["EndpointError", "GenerationResult", "agenerate", "generate", "load_strategy", "merge_shards"]
