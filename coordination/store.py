"""The coordination store shared by service processes: rate-limit counters, idempotency records and
the Daytona warm pool's claim queue. Redis when `REDIS_URL` is set, in process otherwise.

Every operation is atomic on its own, so a claim (`pop`) never hands one item to two callers,
whether the callers are coroutines of one process or several processes sharing one Redis.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Protocol, runtime_checkable


@runtime_checkable
class CoordinationStore(Protocol):
    async def put_if_absent(self, key: str, value: str, ttl: float) -> bool:
        """Set `key` unless it exists. True when this call set it."""
        ...

    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str, ttl: float | None = None) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def hit(self, key: str, window: float) -> int:
        """Count one event in the fixed window `key` lives in; returns the count so far in that window."""
        ...

    async def push(self, queue: str, item: str) -> None: ...

    async def pop(self, queue: str) -> str | None:
        """Atomically take the oldest item, or None when the queue is empty."""
        ...

    async def remove(self, queue: str, item: str) -> bool: ...

    async def items(self, queue: str) -> list[str]: ...

    async def ping(self) -> bool: ...

    async def aclose(self) -> None: ...


class MemoryStore:
    """In-process store. No awaits inside operations, so each one is atomic within the event loop."""

    def __init__(self) -> None:
        self._values: dict[str, tuple[str, float | None]] = {}
        self._queues: dict[str, deque[str]] = {}

    def _live(self, key: str) -> str | None:
        entry = self._values.get(key)
        if entry is None:
            return None
        value, expires = entry
        if expires is not None and expires <= time.monotonic():
            del self._values[key]
            return None
        return value

    async def put_if_absent(self, key: str, value: str, ttl: float) -> bool:
        if self._live(key) is not None:
            return False
        self._values[key] = (value, time.monotonic() + ttl)
        return True

    async def get(self, key: str) -> str | None:
        return self._live(key)

    async def set(self, key: str, value: str, ttl: float | None = None) -> None:
        self._values[key] = (value, None if ttl is None else time.monotonic() + ttl)

    async def delete(self, key: str) -> None:
        self._values.pop(key, None)

    async def hit(self, key: str, window: float) -> int:
        bucket = f"{key}:{int(time.time() // window)}"
        count = int(self._live(bucket) or 0) + 1
        self._values[bucket] = (str(count), time.monotonic() + window)
        return count

    async def push(self, queue: str, item: str) -> None:
        self._queues.setdefault(queue, deque()).append(item)

    async def pop(self, queue: str) -> str | None:
        q = self._queues.get(queue)
        return q.popleft() if q else None

    async def remove(self, queue: str, item: str) -> bool:
        q = self._queues.get(queue)
        if q is None or item not in q:
            return False
        q.remove(item)
        return True

    async def items(self, queue: str) -> list[str]:
        return list(self._queues.get(queue, ()))

    async def ping(self) -> bool:
        return True

    async def aclose(self) -> None:
        return None


class RedisStore:
    """Redis-backed store: SET NX PX for records, INCR+EXPIRE for windows, a list (RPUSH/LPOP) per queue."""

    def __init__(self, url: str, *, prefix: str = "open-swe:") -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(url, decode_responses=True)
        self._prefix = prefix

    def _k(self, key: str) -> str:
        return self._prefix + key

    async def put_if_absent(self, key: str, value: str, ttl: float) -> bool:
        return bool(await self._redis.set(self._k(key), value, nx=True, px=max(1, int(ttl * 1000))))

    async def get(self, key: str) -> str | None:
        return await self._redis.get(self._k(key))

    async def set(self, key: str, value: str, ttl: float | None = None) -> None:
        await self._redis.set(self._k(key), value, px=None if ttl is None else max(1, int(ttl * 1000)))

    async def delete(self, key: str) -> None:
        await self._redis.delete(self._k(key))

    async def hit(self, key: str, window: float) -> int:
        bucket = self._k(f"{key}:{int(time.time() // window)}")
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(bucket)
            pipe.pexpire(bucket, max(1, int(window * 1000)))
            count, _ = await pipe.execute()
        return int(count)

    async def push(self, queue: str, item: str) -> None:
        await self._redis.rpush(self._k(queue), item)

    async def pop(self, queue: str) -> str | None:
        return await self._redis.lpop(self._k(queue))

    async def remove(self, queue: str, item: str) -> bool:
        return bool(await self._redis.lrem(self._k(queue), 0, item))

    async def items(self, queue: str) -> list[str]:
        return list(await self._redis.lrange(self._k(queue), 0, -1))

    async def ping(self) -> bool:
        return bool(await self._redis.ping())

    async def aclose(self) -> None:
        await self._redis.aclose()


def store_from_url(redis_url: str | None, *, prefix: str = "open-swe:") -> CoordinationStore:
    """Redis when a URL is given, the in-process store otherwise."""
    return RedisStore(redis_url, prefix=prefix) if redis_url else MemoryStore()
