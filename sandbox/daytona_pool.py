"""Warm pool: started sandboxes waiting in a store queue, claimed atomically, refilled in the background.

SDK-free: the provider supplies how to create, claim (verify + relabel) and discard a sandbox. The queue
lives in the CoordinationStore, so with Redis several service processes share one pool and `pop` never
hands one sandbox to two of them. Entries carry an expiry (the sandbox's auto-stop horizon, minus a
margin): an expired entry is discarded, never handed out, so a pool sandbox never outlives its settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from coordination.store import CoordinationStore
from sandbox.metrics import POOL_CLAIM_SECONDS, POOL_SIZE

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PoolEntry:
    sandbox_id: str
    expires: float | None
    """Epoch seconds after which the sandbox may already be stopped (None = never expires)."""

    def encode(self) -> str:
        return json.dumps({"id": self.sandbox_id, "expires": self.expires})

    @staticmethod
    def decode(raw: str) -> PoolEntry | None:
        try:
            data = json.loads(raw)
            return PoolEntry(str(data["id"]), None if data.get("expires") is None else float(data["expires"]))
        except (ValueError, KeyError, TypeError):
            return None

    def expired(self, now: float | None = None) -> bool:
        return self.expires is not None and (time.time() if now is None else now) >= self.expires


class WarmPool[T]:
    def __init__(
        self,
        store: CoordinationStore,
        *,
        queue: str,
        size: int,
        lifetime: float | None,
        create: Callable[[], Awaitable[str]],
        discard: Callable[[str], Awaitable[None]],
        refill_lock_ttl: float = 300.0,
    ) -> None:
        self._store = store
        self.queue = queue
        self.size = size
        self._lifetime = lifetime
        self._create = create
        self._discard = discard
        self._lock_ttl = refill_lock_ttl
        self._task: asyncio.Task[int] | None = None

    async def claim(self, take: Callable[[str], Awaitable[T | None]]) -> T | None:
        """Pop entries until `take` accepts one (verifies it is started and relabels it); None when empty."""
        started = time.monotonic()
        try:
            while (raw := await self._store.pop(self.queue)) is not None:
                entry = PoolEntry.decode(raw)
                if entry is None:
                    continue
                if entry.expired():
                    await self._discard_quietly(entry.sandbox_id)
                    continue
                claimed = await take(entry.sandbox_id)
                if claimed is not None:
                    POOL_CLAIM_SECONDS.observe(time.monotonic() - started)
                    return claimed
                await self._discard_quietly(entry.sandbox_id)
            return None
        finally:
            self.kick()

    def kick(self) -> None:
        """Start a background refill unless one is running."""
        if self.size > 0 and (self._task is None or self._task.done()):
            self._task = asyncio.get_running_loop().create_task(self.refill())
            self._task.add_done_callback(_log_failure)

    async def refill(self) -> int:
        """Fill the pool up to `size`, one process at a time (a lock in the store)."""
        lock = f"{self.queue}:refill-lock"
        owner = f"{os.getpid()}:{uuid.uuid4().hex}"
        if not await self._store.put_if_absent(lock, owner, self._lock_ttl):
            return 0
        added = 0
        try:
            await self._drop_expired()
            missing = self.size - len(await self._store.items(self.queue))
            if missing > 0:
                adding = (self._add_one() for _ in range(missing))
                results = await asyncio.gather(*adding, return_exceptions=True)
                added = sum(1 for r in results if r is True)
                for failure in (r for r in results if isinstance(r, BaseException)):
                    log.warning("warm pool: creating a sandbox failed: %s", failure)
        finally:
            await self._store.delete(lock)
            POOL_SIZE.set(len(await self._store.items(self.queue)))
        return added

    async def _add_one(self) -> bool:
        sandbox_id = await self._create()
        expires = None if self._lifetime is None else time.time() + self._lifetime
        await self._store.push(self.queue, PoolEntry(sandbox_id, expires).encode())
        return True

    async def _drop_expired(self) -> None:
        now = time.time()
        for raw in await self._store.items(self.queue):
            entry = PoolEntry.decode(raw)
            if entry is not None and not entry.expired(now):
                continue
            if await self._store.remove(self.queue, raw) and entry is not None:
                await self._discard_quietly(entry.sandbox_id)

    async def entries(self) -> list[PoolEntry]:
        return [e for e in map(PoolEntry.decode, await self._store.items(self.queue)) if e is not None]

    async def drain(self) -> int:
        """Remove and delete every waiting sandbox (e.g. on shutdown of the last service process)."""
        count = 0
        while (raw := await self._store.pop(self.queue)) is not None:
            entry = PoolEntry.decode(raw)
            if entry is not None:
                await self._discard_quietly(entry.sandbox_id)
                count += 1
        POOL_SIZE.set(0)
        return count

    async def aclose(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def wait_idle(self) -> None:
        """Wait for a running background refill (tests and warm-up)."""
        if self._task is not None:
            await asyncio.shield(self._task)

    async def _discard_quietly(self, sandbox_id: str) -> None:
        try:
            await self._discard(sandbox_id)
        except Exception as exc:
            log.warning("warm pool: discarding sandbox %s failed: %s", sandbox_id, exc)


def _log_failure(task: asyncio.Task[int]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("warm pool refill failed: %s", task.exception())
