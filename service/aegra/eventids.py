"""Stream part ids that survive a Redis restart.

Aegra numbers each part of a run's stream from a Redis counter (`<run>_event_<n>`, INCR). A Redis that restarts
without its data starts the counter again at 1, and while Redis is down Aegra falls back to the time in milliseconds.
Either breaks the stream: Aegra's SSE endpoint skips every part numbered at or below one it already sent (a
millisecond number hides all later parts, the end included), and the service's event log takes a part id it already
holds for a repeat and drops the event.

`MonotonicEventIds` numbers a run's parts 1, 2, 3... from a counter of its own in Redis, never below the last number
this process gave the run: after a Redis restart it continues where it was (and writes that back), while Redis is
down it counts on in process. A part that could not be stored leaves a hole in the numbers, which the service's
client sees (service/aegra/client.py) instead of losing it silently.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

from redis.exceptions import RedisError

logger = logging.getLogger("open_swe.service.eventids")

KEY_PREFIX = "open-swe:stream-seq:"
TTL_SECONDS = 3600
"""As long as Aegra keeps a run's replay buffer after its last event."""
REMEMBERED_RUNS = 10_000
"""Runs whose last number this process keeps (the oldest are forgotten; Redis still has them)."""


def part_id(run_id: str, sequence: int) -> str:
    return f"{run_id}_event_{sequence}"


def part_sequence(part: str | None, run_id: str) -> int | None:
    """The number of one of this run's part ids, or None for any other id."""
    prefix = f"{run_id}_event_"
    if part is None or not part.startswith(prefix) or not part[len(prefix) :].isdigit():
        return None
    return int(part[len(prefix) :])


class MonotonicEventIds:
    def __init__(self, redis_client: Any) -> None:
        self._redis = redis_client
        """A callable returning the redis.asyncio client (Aegra's, created at its startup)."""
        self._last: OrderedDict[str, int] = OrderedDict()
        self._in_process = False

    async def allocate_event_id(self, run_id: str) -> str:
        floor = self._last.get(run_id, 0)
        key = KEY_PREFIX + run_id
        try:
            client = self._redis()
            sequence = int(await client.incr(key))
            if sequence <= floor:  # Redis restarted without its data: continue from here
                sequence = floor + 1
                await client.set(key, sequence, ex=TTL_SECONDS)
            else:
                await client.expire(key, TTL_SECONDS)
            if self._in_process:
                self._in_process = False
                logger.warning("redis is back: stream parts are numbered in redis again")
        except RedisError as exc:
            sequence = floor + 1
            if not self._in_process:
                self._in_process = True
                logger.warning("redis is unavailable (%s): numbering stream parts in process", type(exc).__name__)
        self._last[run_id] = sequence
        self._last.move_to_end(run_id)
        while len(self._last) > REMEMBERED_RUNS:
            self._last.popitem(last=False)
        return part_id(run_id, sequence)


def install() -> None:
    """Aegra's broker numbers parts with MonotonicEventIds (Redis broker only; the in-memory one has no counter)."""
    from aegra_api.core.redis_manager import redis_manager  # type: ignore[import-untyped]  # aegra-api has no py.typed
    from aegra_api.services.broker import broker_manager  # type: ignore[import-untyped]

    if type(broker_manager).__name__ == "RedisBrokerManager":
        broker_manager.allocate_event_id = MonotonicEventIds(redis_manager.get_client).allocate_event_id
