"""Retrying remote calls: exponential backoff with full jitter, Retry-After, and an overall deadline.

SDK-free: the caller supplies `classify`, which turns an exception into a `RetryAdvice` (retry, and
maybe after how long) or None (give up at once).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    deadline: float = 60.0
    """Seconds from the first attempt after which no new attempt starts."""
    base_delay: float = 0.5
    max_delay: float = 10.0
    multiplier: float = 2.0


@dataclass(frozen=True, slots=True)
class RetryAdvice:
    kind: str
    """What went wrong, for metrics and messages (e.g. "rate_limited", "server_error", "connection")."""
    after: float | None = None
    """Seconds the server asked us to wait (Retry-After); None = our own backoff."""


class RetryExhausted(Exception):
    """The operation kept failing until the deadline (or the server asked for a wait beyond it)."""

    def __init__(self, last: BaseException, advice: RetryAdvice, attempts: int) -> None:
        super().__init__(f"{advice.kind} after {attempts} attempt(s): {last}")
        self.last = last
        self.advice = advice
        self.attempts = attempts


def parse_retry_after(headers: Mapping[str, Any] | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from Retry-After (delta-seconds or HTTP date), or the X-RateLimit-Reset* family."""
    if not headers:
        return None
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    for name in ("retry-after", "x-ratelimit-reset-after", "x-ratelimit-reset"):
        value = lowered.get(name) or next((v for k, v in lowered.items() if k.startswith(name + "-")), None)
        if value is None:
            continue
        try:
            seconds = float(value)
        except ValueError:
            try:
                seconds = parsedate_to_datetime(value).timestamp() - (time.time() if now is None else now)
            except (TypeError, ValueError):
                continue
        return max(0.0, seconds)
    return None


def backoff_delay(attempt: int, policy: RetryPolicy, rng: random.Random | None = None) -> float:
    """Full jitter: uniform in [0, min(max_delay, base * multiplier**attempt)]."""
    ceiling = min(policy.max_delay, policy.base_delay * policy.multiplier**attempt)
    return (rng or random).uniform(0, ceiling)


async def retry_call[T](
    operation: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    classify: Callable[[BaseException], RetryAdvice | None],
    on_retry: Callable[[RetryAdvice, float], None] | None = None,
) -> T:
    """Run `operation` until it succeeds, `classify` says stop, or the deadline passes.

    Raises the operation's own exception when it is not retryable, RetryExhausted otherwise.
    """
    started = time.monotonic()
    attempt = 0
    while True:
        try:
            return await operation()
        except Exception as exc:
            advice = classify(exc)
            if advice is None:
                raise
            attempt += 1
            delay = advice.after if advice.after is not None else backoff_delay(attempt - 1, policy)
            remaining = policy.deadline - (time.monotonic() - started)
            if delay > remaining:
                raise RetryExhausted(exc, advice, attempt) from exc
            if on_retry is not None:
                on_retry(advice, delay)
            await asyncio.sleep(delay)
