"""Retry classification, backoff, the overload gate and the endpoint pool, on real exceptions."""

from __future__ import annotations

import asyncio
import time

import httpx2
import pytest
from huggingface_hub.errors import HfHubHTTPError, InferenceTimeoutError, OverloadedError

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


def _http_error(status: int, headers: dict | None = None) -> HfHubHTTPError:
    request = httpx2.Request("POST", "http://127.0.0.1:1/")
    response = httpx2.Response(status, headers=headers or {}, request=request, text="{}")
    return HfHubHTTPError(f"{status} error", response=response)


@pytest.mark.parametrize(
    ("err", "kind", "retryable"),
    [
        (_http_error(429, {"Retry-After": "3"}), "http_429", True),
        (_http_error(503), "http_5xx", True),
        (_http_error(502), "http_5xx", True),
        (_http_error(408), "timeout", True),
        (_http_error(422), "http_4xx", False),
        (InferenceTimeoutError("slow"), "timeout", True),
        (httpx2.ConnectError("refused"), "connection", True),
        (httpx2.RemoteProtocolError("dropped"), "connection", True),
        (ValueError("Expecting value: line 1 column 1"), "bad_response", True),
    ],
)
def test_classify_error(err, kind, retryable):
    info = classify_error(err)
    assert (info.kind, info.retryable) == (kind, retryable)


def test_tgi_typed_overload_error_keeps_its_status_and_retry_after():
    http = _http_error(429, {"Retry-After": "2"})
    try:
        raise OverloadedError("Model is overloaded") from http
    except OverloadedError as err:
        info = classify_error(err)
    assert info.kind == "http_429" and info.retry_after == 2.0 and info.status == 429


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
        raise httpx2.ConnectError("refused")

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
