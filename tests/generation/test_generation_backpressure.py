"""Retry classification, backoff, the overload gate and the endpoint pool, on real exceptions."""

from __future__ import annotations

import asyncio
import time

import pytest

from hfswim.generation.backpressure import (
    EndpointPool,
    EndpointSlot,
    OverloadGate,
    RequestCounters,
    RequestFailed,
    RetryPolicy,
    classify_error,
    parse_retry_after,
)
from hfswim.generation.client import (
    ConnectTimeout,
    EndpointConnectionError,
    HTTPStatusError,
    ReadTimeout,
    retry_after_of,
)


def _http_error(status: int, headers: dict | None = None) -> HTTPStatusError:
    retry_after = retry_after_of({k.lower(): v for k, v in (headers or {}).items()})
    return HTTPStatusError(status, f"HTTP {status}", retry_after=retry_after, body="{}")


@pytest.mark.parametrize(
    ("err", "kind", "retryable"),
    [
        (_http_error(429, {"Retry-After": "3"}), "http_429", True),
        (_http_error(503), "http_5xx", True),
        (_http_error(502), "http_5xx", True),
        (_http_error(408), "timeout", True),
        (_http_error(422), "http_4xx", False),
        (ReadTimeout("slow"), "timeout", True),
        (ConnectTimeout("no answer"), "timeout", True),
        (EndpointConnectionError("refused"), "connection", True),
        (ConnectionResetError("dropped"), "connection", True),
        (ValueError("Expecting value: line 1 column 1"), "bad_response", True),
    ],
)
def test_classify_error(err, kind, retryable):
    info = classify_error(err)
    assert (info.kind, info.retryable) == (kind, retryable)


def test_overload_keeps_its_status_and_retry_after():
    info = classify_error(_http_error(429, {"Retry-After": "2"}))
    assert info.kind == "http_429" and info.retry_after == 2.0 and info.status == 429


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after": "3"}, 3.0),
        ({"retry-after-ms": "1500"}, 1.5),  # OpenAI
        ({"x-ratelimit-reset-requests": "1s", "x-ratelimit-reset-tokens": "6m0s"}, 360.0),  # OpenAI-style limits
        ({}, None),
    ],
)
def test_rate_limit_headers_give_the_wait(headers, seconds):
    assert retry_after_of(headers) == seconds


def test_a_connect_timeout_marks_the_endpoint_unreachable_a_read_timeout_does_not():
    assert classify_error(ConnectTimeout("x")).unreachable and not classify_error(ReadTimeout("x")).unreachable


def test_retry_after_parsing_and_backoff_bounds():
    assert parse_retry_after("1.5") == 1.5 and parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    policy = RetryPolicy(max_retries=5, base_delay=0.1, max_delay=1.0)
    delays = [policy.delay(a) for a in range(10) for _ in range(20)]
    assert all(0.0 <= d <= 1.0 for d in delays) and len(set(delays)) > 10  # full jitter, capped
    assert policy.delay(0, retry_after=0.7) >= 0.7


async def test_overload_gate_pauses_then_probes():
    gate = OverloadGate(threshold=2, pause=0.2)
    assert await gate.wait() is False
    gate.record(overload=True, probe=False)
    assert not gate.is_open
    gate.record(overload=True, probe=False)
    assert gate.is_open and gate.pauses == 1
    start = time.monotonic()
    assert await gate.wait() is True  # after the pause, the first caller probes
    assert time.monotonic() - start >= 0.15
    waiter = asyncio.create_task(gate.wait())
    await asyncio.sleep(0.05)
    assert not waiter.done()  # others wait for the probe's outcome
    gate.record(overload=False, probe=True)
    assert await asyncio.wait_for(waiter, 1) is False and not gate.is_open


async def test_pool_bounds_in_flight_and_prefers_the_least_busy_endpoint():
    peak = {"a": 0, "b": 0}
    now = {"a": 0, "b": 0}

    def make_call(name: str):
        async def call(x: int) -> str:
            now[name] += 1
            peak[name] = max(peak[name], now[name])
            await asyncio.sleep(0.01)
            now[name] -= 1
            return name

        return call

    slots = [
        EndpointSlot("a", 2, make_call("a"), OverloadGate()),
        EndpointSlot("b", 4, make_call("b"), OverloadGate()),
    ]
    pool = EndpointPool(slots, RetryPolicy(max_retries=0))
    results = await asyncio.gather(*(pool.request(i) for i in range(60)))
    assert peak["a"] <= 2 and peak["b"] <= 4
    assert results.count("b") > results.count("a") > 0  # the bigger endpoint takes more of the load
    assert pool.counters.requests == 60


async def test_pool_retries_then_raises_request_failed():
    attempts = 0

    async def flaky() -> str:
        nonlocal attempts
        attempts += 1
        raise EndpointConnectionError("refused")

    counters = RequestCounters()
    pool = EndpointPool([EndpointSlot("x", 1, flaky, OverloadGate())], RetryPolicy(2, 0.001, 0.002), counters)
    with pytest.raises(RequestFailed) as info:
        await pool.request()
    assert attempts == 3 and info.value.attempts == 3 and info.value.info.kind == "connection"
    assert counters.retries == {"connection": 2} and counters.failures == {"connection": 1}


def test_a_late_answer_to_a_request_sent_before_the_endpoint_went_down_does_not_bring_it_back():
    """A server shutting down still finishes what it had: only requests sent after the mark-down (probes) count."""
    from hfswim.generation.backpressure import EndpointHealth

    health = EndpointHealth(threshold=2)
    sent_before = time.monotonic()
    assert health.record(unreachable=True, probe=False, sent_at=sent_before) is None
    assert health.record(unreachable=True, probe=False, sent_at=sent_before) == "down"
    assert health.record(unreachable=False, probe=False, sent_at=sent_before) is None and health.down
    assert health.record(unreachable=False, probe=True, sent_at=time.monotonic()) == "up" and not health.down
