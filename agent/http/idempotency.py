"""`Idempotency-Key` records over the shared CoordinationStore.

The first request with a key claims it atomically (`put_if_absent`), creates the task and records its id.
A repeat with the same key and the same body gets the same task; the same key with a different body is a
conflict; a repeat that arrives while the first is still creating the task waits briefly for its result.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal, Protocol

CLAIM_TTL = 60.0
"""Seconds a claimed key stays reserved while its task is being created."""


class RecordStore(Protocol):
    """What idempotency records need of a store: the coordination store (Redis) on `langgraph dev`, PostgreSQL on
    the production runtime (service/postgres), where they are as durable as the tasks they point at."""

    async def put_if_absent(self, key: str, value: str, ttl: float) -> bool: ...

    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str, ttl: float | None = None) -> None: ...

    async def delete(self, key: str) -> None: ...


@dataclass(frozen=True)
class Claim:
    outcome: Literal["new", "existing", "conflict", "in_progress"]
    task_id: str | None = None


def fingerprint(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


class IdempotencyRecords:
    def __init__(self, store: RecordStore, *, ttl: float, wait: float = 10.0, poll: float = 0.05) -> None:
        self._store = store
        self._ttl = ttl
        self._wait = wait
        self._poll = poll

    @staticmethod
    def _key(owner: str, key: str) -> str:
        return f"idem:{owner}:{hashlib.sha256(key.encode()).hexdigest()}"

    async def claim(self, owner: str, key: str, body_fingerprint: str) -> Claim:
        """A claim lives CLAIM_TTL seconds until `complete` records the task for the full TTL, so a claim whose
        request died (or could not record its task while Redis was down) frees the key soon."""
        record_key = self._key(owner, key)
        pending = json.dumps({"fp": body_fingerprint, "task_id": None})
        claim_ttl = min(self._ttl, CLAIM_TTL)
        if await self._store.put_if_absent(record_key, pending, claim_ttl):
            return Claim("new")
        deadline = asyncio.get_running_loop().time() + self._wait
        while True:
            raw = await self._store.get(record_key)
            if raw is None:  # the first request gave up: try to take over
                if await self._store.put_if_absent(record_key, pending, claim_ttl):
                    return Claim("new")
                continue
            record = json.loads(raw)
            if record["fp"] != body_fingerprint:
                return Claim("conflict")
            if record["task_id"]:
                return Claim("existing", record["task_id"])
            if asyncio.get_running_loop().time() >= deadline:
                return Claim("in_progress")
            await asyncio.sleep(self._poll)

    async def complete(self, owner: str, key: str, body_fingerprint: str, task_id: str) -> None:
        await self._store.set(
            self._key(owner, key), json.dumps({"fp": body_fingerprint, "task_id": task_id}), self._ttl
        )

    async def abandon(self, owner: str, key: str) -> None:
        """The claimed request failed before creating a task: free the key for a retry."""
        await self._store.delete(self._key(owner, key))
