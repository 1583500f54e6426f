"""The coordination store shared by service processes: rate-limit counters, idempotency records,
websocket tickets and the Daytona warm pool's claim queue. Redis when `REDIS_URL` is set, in process otherwise.

Every operation is atomic on its own, so a claim (`pop`) never hands one item to two callers,
whether the callers are coroutines of one process or several processes sharing one Redis.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol, runtime_checkable

DEFAULT_TIMEOUT = 0.5
"""Seconds a Redis operation (connect, or one reply) may take before the store counts Redis as unavailable."""


class StoreUnavailable(ConnectionError):
    """The store's server (Redis) is down, frozen or unreachable; the message names it without its URL."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"redis is unavailable ({detail})")
        self.dependency = "redis"


@runtime_checkable
class CoordinationStore(Protocol):
    async def put_if_absent(self, key: str, value: str, ttl: float) -> bool:
        """Set `key` unless it exists. True when this call set it."""
        ...

    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str, ttl: float | None = None) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def take(self, key: str) -> str | None:
        """Atomically get and delete `key`: of several callers taking one key, exactly one gets its value."""
        ...

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

    async def take(self, key: str) -> str | None:
        value = self._live(key)
        self._values.pop(key, None)
        return value

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
    """Redis-backed store: SET NX PX for records, INCR+EXPIRE for windows, a list (RPUSH/LPOP) per queue.

    Every operation is bounded: connecting and each reply may take `timeout` seconds; a closed connection (Redis
    restarted) is retried once at once, a timeout never. Any failure raises StoreUnavailable, so a Redis that is
    down or frozen costs a caller at most about `timeout` (twice when a stale connection is retried)."""

    def __init__(self, url: str, *, prefix: str = "open-swe:", timeout: float = DEFAULT_TIMEOUT) -> None:
        from redis.asyncio import Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff
        from redis.exceptions import ConnectionError as RedisConnectionError

        self._redis = Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        )
        self._prefix = prefix

    def _k(self, key: str) -> str:
        return self._prefix + key

    @contextmanager
    def _unavailable_on_error(self) -> Iterator[None]:
        from redis.exceptions import RedisError

        try:
            yield
        except (RedisError, OSError) as exc:  # OSError: refused, reset, the builtin TimeoutError
            raise StoreUnavailable(type(exc).__name__) from None

    async def put_if_absent(self, key: str, value: str, ttl: float) -> bool:
        with self._unavailable_on_error():
            return bool(await self._redis.set(self._k(key), value, nx=True, px=max(1, int(ttl * 1000))))

    async def get(self, key: str) -> str | None:
        with self._unavailable_on_error():
            value = await self._redis.get(self._k(key))
        return None if value is None else str(value)

    async def set(self, key: str, value: str, ttl: float | None = None) -> None:
        with self._unavailable_on_error():
            await self._redis.set(self._k(key), value, px=None if ttl is None else max(1, int(ttl * 1000)))

    async def delete(self, key: str) -> None:
        with self._unavailable_on_error():
            await self._redis.delete(self._k(key))

    async def take(self, key: str) -> str | None:
        with self._unavailable_on_error():
            value = await self._redis.getdel(self._k(key))  # GETDEL: Redis 6.2+
        return None if value is None else str(value)

    async def hit(self, key: str, window: float) -> int:
        bucket = self._k(f"{key}:{int(time.time() // window)}")
        with self._unavailable_on_error():
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(bucket)
                pipe.pexpire(bucket, max(1, int(window * 1000)))
                count, _ = await pipe.execute()
        return int(count)

    async def push(self, queue: str, item: str) -> None:
        with self._unavailable_on_error():
            await self._redis.rpush(self._k(queue), item)

    async def pop(self, queue: str) -> str | None:
        with self._unavailable_on_error():
            item = await self._redis.lpop(self._k(queue))
        return None if item is None else str(item)

    async def remove(self, queue: str, item: str) -> bool:
        with self._unavailable_on_error():
            return bool(await self._redis.lrem(self._k(queue), 0, item))

    async def items(self, queue: str) -> list[str]:
        with self._unavailable_on_error():
            items = await self._redis.lrange(self._k(queue), 0, -1)
        return [str(i) for i in items]

    async def ping(self) -> bool:
        with self._unavailable_on_error():
            return bool(await self._redis.ping())

    async def aclose(self) -> None:
        await self._redis.aclose()


def store_from_url(
    redis_url: str | None, *, prefix: str = "open-swe:", timeout: float = DEFAULT_TIMEOUT
) -> CoordinationStore:
    """Redis when a URL is given, the in-process store otherwise."""
    return RedisStore(redis_url, prefix=prefix, timeout=timeout) if redis_url else MemoryStore()
