"""Backoff with jitter, Retry-After parsing and the deadline (sandbox/retry.py, SDK-free)."""

from __future__ import annotations

import random
import time

import pytest

from sandbox.retry import RetryAdvice, RetryExhausted, RetryPolicy, backoff_delay, parse_retry_after, retry_call


def test_retry_after_seconds_date_and_rate_limit_headers() -> None:
    assert parse_retry_after({"Retry-After": "3"}) == 3.0
    assert parse_retry_after({"retry-after": "0.5"}) == 0.5
    assert parse_retry_after({"Retry-After": "Thu, 01 Jan 2026 00:00:10 GMT"}, now=1767225600.0) == pytest.approx(10.0)
    assert parse_retry_after({"Retry-After": "Thu, 01 Jan 1970 00:00:00 GMT"}) == 0.0
    assert parse_retry_after({"X-RateLimit-Reset-Sandbox": "7"}) == 7.0
    assert parse_retry_after({"Retry-After": "soon"}) is None
    assert parse_retry_after({}) is None and parse_retry_after(None) is None


def test_backoff_grows_exponentially_with_full_jitter_and_a_cap() -> None:
    policy = RetryPolicy(base_delay=0.1, max_delay=1.0)
    rng = random.Random(7)
    for attempt in range(8):
        delays = [backoff_delay(attempt, policy, rng) for _ in range(200)]
        ceiling = min(1.0, 0.1 * 2**attempt)
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8, "jitter spreads over the whole window"


async def test_retry_until_success() -> None:
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise ConnectionError("down")
        return "up"

    result = await retry_call(flaky, policy=RetryPolicy(base_delay=0.001), classify=lambda e: RetryAdvice("connection"))
    assert result == "up" and calls == 3


async def test_non_retryable_errors_pass_through_at_once() -> None:
    calls = 0

    async def broken() -> None:
        nonlocal calls
        calls += 1
        raise KeyError("bad request")

    with pytest.raises(KeyError):
        await retry_call(broken, policy=RetryPolicy(), classify=lambda e: None)
    assert calls == 1


async def test_deadline_bounds_the_retries() -> None:
    async def always_down() -> None:
        raise ConnectionError("down")

    started = time.monotonic()
    with pytest.raises(RetryExhausted) as caught:
        await retry_call(
            always_down,
            policy=RetryPolicy(deadline=0.3, base_delay=0.01, max_delay=0.05),
            classify=lambda e: RetryAdvice("connection"),
        )
    assert 0.2 <= time.monotonic() - started < 2
    assert caught.value.attempts > 2 and caught.value.advice.kind == "connection"


async def test_retry_after_longer_than_the_deadline_gives_up_at_once() -> None:
    async def limited() -> None:
        raise RuntimeError("429")

    started = time.monotonic()
    with pytest.raises(RetryExhausted) as caught:
        await retry_call(limited, policy=RetryPolicy(deadline=5), classify=lambda e: RetryAdvice("rate_limited", 60))
    assert time.monotonic() - started < 1 and caught.value.attempts == 1
