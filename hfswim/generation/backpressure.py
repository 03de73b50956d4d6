"""Backpressure: bounded in-flight requests, retries with backoff, an overload pause, several endpoints.

* Each endpoint gets a semaphore sized from the endpoint (TGI ``max_concurrent_requests``) or the config:
  in-flight requests never exceed it, and queued work waits here, not inside the HTTP client.
* Requests that fail with 429, 5xx, a timeout, a dropped connection or a garbled answer are retried with
  exponential backoff and full jitter (``sleep ~ U(0, min(cap, base * 2**attempt))``), never earlier than
  the server's ``Retry-After``.
* :class:`OverloadGate` (a circuit breaker): after ``threshold`` consecutive 429/503 answers from one
  endpoint, every worker of that endpoint waits for a pause, then one probe request goes through; its
  success reopens the endpoint, its failure doubles the pause (up to a cap).
* :class:`EndpointHealth` (a second breaker, for dead endpoints): after ``threshold`` consecutive connection
  errors (refused, reset, connect timeout) an endpoint leaves the pool; every ``probe_interval`` (doubling up
  to a cap) one request probes it, and its success brings it back. A dead endpoint answers at once, so it
  always looks least busy: without this, its retries would all go back to it.
* :class:`EndpointPool` sends each request to the least busy endpoint that is up and not paused, and a
  retry to another endpoint than the one that just failed it, when there is one. When every endpoint is
  down for longer than ``give_up_after`` seconds, the run stops with one :class:`~hfswim.errors.EndpointError`
  (resume it once a server is back), instead of turning every remaining record into a failure.
* :class:`RequestCounters` counts every retry and every final failure by kind. A request that exhausts its
  retries raises :class:`RequestFailed`; the engine records it in ``failures.jsonl`` and the manifest, and
  the next run (resume) tries it again.

Example::

    >>> policy = RetryPolicy(max_retries=3, base_delay=0.5, max_delay=4.0)
    >>> 0.0 <= policy.delay(attempt=2) <= 2.0
    True
    >>> policy.delay(attempt=0, retry_after=3.0) >= 3.0
    True
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

T = TypeVar("T")

# Failure kinds, as counted in the manifest.
HTTP_429 = "http_429"
HTTP_5XX = "http_5xx"
HTTP_4XX = "http_4xx"
HTTP_REDIRECT = "http_redirect"
TIMEOUT = "timeout"
CONNECTION = "connection"
BAD_RESPONSE = "bad_response"


@dataclass(frozen=True)
class ErrorInfo:
    """How to treat one failed request."""

    kind: str  # counted kind: http_429, http_5xx, http_4xx, timeout, connection, bad_response
    retryable: bool
    overload: bool = False  # counts towards the overload pause (429/503)
    retry_after: float | None = None
    status: int | None = None
    message: str = ""
    unreachable: bool = False  # the server could not be reached at all (refused, reset, connect timeout)


def classify_error(err: BaseException) -> ErrorInfo:
    """Map an exception from :class:`~hfswim.generation.client.LLMClient` to a failure kind.

    The client raises :class:`~hfswim.generation.client.HTTPStatusError` (``status``, ``retry_after``) for HTTP
    errors, :class:`~hfswim.generation.client.ConnectTimeout` / ``ReadTimeout`` (``TimeoutError``) for
    timeouts, ``ConnectionError`` for refused or dropped connections and ``ValueError`` for a garbled 200.

    >>> from hfswim.generation.client import HTTPStatusError
    >>> info = classify_error(HTTPStatusError(429, "HTTP 429", retry_after=2.0))
    >>> info.kind, info.retryable, info.overload, info.retry_after
    ('http_429', True, True, 2.0)
    """
    from hfswim.generation.client import ConnectTimeout
    from hfswim.redact import redact

    # Client libraries quote the URL (user:password@ included) in their messages: redact before keeping it.
    message = redact(f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}")[:500]
    if isinstance(err, ConnectTimeout):
        return ErrorInfo(TIMEOUT, True, message=message, unreachable=True)
    if isinstance(err, asyncio.TimeoutError | TimeoutError):
        return ErrorInfo(TIMEOUT, True, message=message)
    status = getattr(err, "status", None)
    if isinstance(status, int) and status >= 300:
        retry_after = getattr(err, "retry_after", None)
        if status == 429:
            return ErrorInfo(HTTP_429, True, True, retry_after, status, message)
        if status >= 500:
            return ErrorInfo(HTTP_5XX, True, status == 503, retry_after, status, message)
        if status == 408:
            return ErrorInfo(TIMEOUT, True, False, retry_after, status, message)
        if status < 400:  # redirects are not followed: credentials never travel to where they point
            return ErrorInfo(HTTP_REDIRECT, False, False, None, status, message)
        return ErrorInfo(HTTP_4XX, False, False, None, status, message)
    if isinstance(err, ConnectionError):
        return ErrorInfo(CONNECTION, True, message=message, unreachable=True)
    if isinstance(err, ValueError | KeyError | TypeError | AttributeError | IndexError | json.JSONDecodeError):
        # a 200 with garbage (not JSON, missing fields): often a proxy or a restarting server; retry.
        return ErrorInfo(BAD_RESPONSE, True, message=message)
    return ErrorInfo(type(err).__name__.lower(), False, message=message)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date); None if absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return None


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And Jitter")."""

    max_retries: int = 8
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 300.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        jitter = random.uniform(0.0, min(self.max_delay, self.base_delay * (2.0**attempt)))
        if retry_after is not None:
            return max(min(retry_after, self.max_retry_after), jitter)
        return jitter


@dataclass
class RequestCounters:
    """Every request, retry and final failure, by kind."""

    requests: int = 0
    retries: Counter = field(default_factory=Counter)
    failures: Counter = field(default_factory=Counter)
    overload_pauses: int = 0
    endpoints_down: int = 0  # times an endpoint was taken out of the pool
    endpoints_back: int = 0  # times a probe brought one back
    probes: int = 0


class RequestFailed(Exception):
    """A request that failed for good (retries exhausted, or a non-retryable error)."""

    def __init__(self, info: ErrorInfo, attempts: int, endpoint: str):
        from hfswim.redact import redact

        super().__init__(redact(f"{info.kind} after {attempts} attempt(s) at {endpoint}: {info.message}"))
        self.info = info
        self.attempts = attempts
        self.endpoint = endpoint


class OverloadGate:
    """Circuit breaker that pauses an endpoint after sustained overload, then probes with one request.

    States: closed (requests flow), open (everyone waits until ``reopen_at``), half-open (one probe in
    flight; the others wait for its outcome).
    """

    def __init__(self, threshold: int = 8, pause: float = 2.0, max_pause: float = 60.0):
        self.threshold = max(1, threshold)
        self.base_pause = pause
        self.max_pause = max_pause
        self.pause = pause
        self.consecutive = 0
        self.reopen_at = 0.0
        self.probing = False
        self.pauses = 0
        self._changed = asyncio.Event()

    @property
    def is_open(self) -> bool:
        return self.reopen_at > time.monotonic() or self.probing

    async def wait(self) -> bool:
        """Wait until a request may go; returns True when the caller is the probe."""
        while True:
            now = time.monotonic()
            if self.reopen_at > now:
                await asyncio.sleep(self.reopen_at - now)
                continue
            if self.probing:
                self._changed.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout=self.pause)
                continue
            if self.reopen_at > 0.0:  # the pause just ended: this caller probes
                self.reopen_at = 0.0
                self.probing = True
                return True
            return False

    def record(self, *, overload: bool, probe: bool) -> None:
        if overload:
            self.consecutive += 1
            if probe or self.consecutive >= self.threshold:
                if probe:
                    self.pause = min(self.max_pause, self.pause * 2.0)
                self.reopen_at = time.monotonic() + self.pause
                self.pauses += 1
                self.consecutive = 0
        else:
            self.consecutive = 0
            if probe:
                self.pause = self.base_pause
        if probe:
            self.probing = False
            self._changed.set()


class EndpointHealth:
    """Circuit breaker for an endpoint that cannot be reached (see the module docstring).

    States: up; down (no traffic until ``next_probe_at``); probing (one request in flight decides).
    """

    def __init__(self, threshold: int = 3, probe_interval: float = 1.0, max_probe_interval: float = 15.0):
        self.threshold = max(1, threshold)
        self.base_interval = probe_interval
        self.max_interval = max_probe_interval
        self.interval = probe_interval
        self.consecutive = 0
        self.down = False
        self.down_since = 0.0
        self.next_probe_at = 0.0
        self.probing = False

    def probe_due(self, now: float) -> bool:
        return self.down and not self.probing and now >= self.next_probe_at

    def mark_down(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if not self.down:
            self.down_since = now
            self.interval = self.base_interval
        self.down = True
        self.next_probe_at = now + self.interval

    def record(self, *, unreachable: bool, probe: bool, sent_at: float | None = None) -> str | None:
        """Account one outcome; returns "down" or "up" when the state changed.

        ``sent_at`` (monotonic) is when the request left: an answer to a request sent before the endpoint was
        taken out says nothing about now (a server shutting down still finishes what it had), so only requests
        sent after that moment (the probes) can bring it back.
        """
        if probe:
            self.probing = False
        if self.down and not probe and sent_at is not None and sent_at < self.down_since:
            return None
        if unreachable:
            self.consecutive += 1
            if probe:  # still dead: probe again later, less often
                self.interval = min(self.max_interval, self.interval * 2.0)
                self.next_probe_at = time.monotonic() + self.interval
                return None
            if not self.down and self.consecutive >= self.threshold:
                self.mark_down()
                return "down"
            return None
        self.consecutive = 0
        if self.down:  # any answer (even an HTTP error) means the server is reachable again
            self.down = False
            self.interval = self.base_interval
            return "up"
        return None


@dataclass
class EndpointSlot:
    """One endpoint as the pool drives it: its client, concurrency limit, overload gate and health."""

    name: str
    capacity: int
    call: Callable[..., Awaitable[Any]]
    gate: OverloadGate
    health: EndpointHealth = field(default_factory=EndpointHealth)
    in_flight: int = 0
    semaphore: asyncio.Semaphore = field(init=False)

    def __post_init__(self) -> None:
        self.semaphore = asyncio.Semaphore(self.capacity)


class EndpointPool:
    """Drive several endpoints at once: least-busy choice among live endpoints, bounded in-flight, retries
    routed away from the endpoint that failed, overload pause, dead-endpoint breaker with probes.

    ``slots`` are :class:`EndpointSlot` objects whose ``call(*args)`` performs one request.
    """

    def __init__(
        self,
        slots: list[EndpointSlot],
        policy: RetryPolicy,
        counters: RequestCounters | None = None,
        give_up_after: float = 120.0,
        on_health_change: Callable[[EndpointSlot, str], None] | None = None,
    ):
        if not slots:
            raise ValueError("EndpointPool needs at least one endpoint")
        self.slots = slots
        self.policy = policy
        self.counters = counters or RequestCounters()
        self.give_up_after = give_up_after
        self.on_health_change = on_health_change
        self._health_changed: asyncio.Event | None = None

    @property
    def capacity(self) -> int:
        return sum(s.capacity for s in self.slots)

    def health_report(self) -> list[dict[str, Any]]:
        return [{"endpoint": s.name, "up": not s.health.down} for s in self.slots]

    def _pick(self, avoid: EndpointSlot | None) -> tuple[EndpointSlot | None, bool]:
        """The slot for the next attempt and whether it is a health probe; (None, False) when all are down."""
        now = time.monotonic()
        for slot in self.slots:
            if slot.health.probe_due(now):
                slot.health.probing = True
                self.counters.probes += 1
                return slot, True
        live = [s for s in self.slots if not s.health.down]
        if not live:
            return None, False
        candidates = [s for s in live if s is not avoid] or live
        open_slots = [s for s in candidates if not s.gate.is_open] or candidates
        return min(open_slots, key=lambda s: (s.in_flight / s.capacity, s.in_flight)), False

    async def _wait_for_a_live_endpoint(self) -> None:
        """Every endpoint is down: wait for the next probe time (or a probe's verdict); give up after a while."""
        from hfswim.errors import EndpointError

        now = time.monotonic()
        since = max(s.health.down_since for s in self.slots)
        if now - since > self.give_up_after:
            names = ", ".join(s.name for s in self.slots)
            raise EndpointError(
                f"no LLM endpoint has answered for {now - since:.0f} s ({names}): stopping. Every finished "
                "record is stored; run the same command again once a server is up to resume."
            )
        if self._health_changed is None:
            self._health_changed = asyncio.Event()
        self._health_changed.clear()
        pending = [s.health.next_probe_at for s in self.slots if not s.health.probing]
        wait = max(0.01, min(pending) - now) if pending else 1.0
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._health_changed.wait(), timeout=min(wait, 1.0))

    def _health(self, slot: EndpointSlot, *, unreachable: bool, probe: bool, sent_at: float) -> None:
        change = slot.health.record(unreachable=unreachable, probe=probe, sent_at=sent_at)
        if change == "down":
            self.counters.endpoints_down += 1
        elif change == "up":
            self.counters.endpoints_back += 1
        if change and self.on_health_change is not None:
            self.on_health_change(slot, change)
        if (change or probe) and self._health_changed is not None:
            self._health_changed.set()

    async def request(self, *args: Any, **kwargs: Any) -> Any:
        """Perform one request with retries; raise :class:`RequestFailed` when it fails for good."""
        attempt = 0
        avoid: EndpointSlot | None = None
        while True:
            slot, health_probe = self._pick(avoid)
            if slot is None:
                await self._wait_for_a_live_endpoint()
                continue
            slot.in_flight += 1  # counted before waiting, so concurrent picks spread over endpoints
            probe = False
            sent_at = time.monotonic()
            try:
                probe = await slot.gate.wait()
                async with slot.semaphore:
                    self.counters.requests += 1
                    sent_at = time.monotonic()
                    result = await slot.call(*args, **kwargs)
            except asyncio.CancelledError:
                if probe:
                    slot.gate.record(overload=False, probe=True)
                if health_probe:
                    slot.health.probing = False
                raise
            except Exception as err:
                info = classify_error(err)
                pauses_before = slot.gate.pauses
                slot.gate.record(overload=info.kind in (HTTP_429,) or info.status == 503, probe=probe)
                self.counters.overload_pauses += slot.gate.pauses - pauses_before
                self._health(slot, unreachable=info.unreachable, probe=health_probe, sent_at=sent_at)
                if not info.retryable or attempt >= self.policy.max_retries:
                    self.counters.failures[info.kind] += 1
                    raise RequestFailed(info, attempt + 1, slot.name) from err
                self.counters.retries[info.kind] += 1
                # A dead endpoint fails at once: the retry goes elsewhere, at once, when another is up.
                elsewhere = info.unreachable and any(s is not slot and not s.health.down for s in self.slots)
                delay = 0.0 if elsewhere else self.policy.delay(attempt, info.retry_after)
                avoid = slot
                attempt += 1
            else:
                slot.gate.record(overload=False, probe=probe)
                self._health(slot, unreachable=False, probe=health_probe, sent_at=sent_at)
                return result
            finally:
                slot.in_flight -= 1
            await asyncio.sleep(delay)
