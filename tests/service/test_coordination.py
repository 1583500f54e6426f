"""Rate limits and idempotency records over both coordination stores: in process and a real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from agent.http import idempotency
from agent.http.idempotency import Claim, IdempotencyRecords, fingerprint
from agent.http.ratelimit import TaskRateLimiter
from coordination.store import CoordinationStore, MemoryStore, RedisStore
from tests.support.redis_server import unique_prefix


@pytest.fixture(params=["memory", "redis"])
async def store(request, redis_url) -> AsyncIterator[CoordinationStore]:
    backend: CoordinationStore = (
        MemoryStore() if request.param == "memory" else RedisStore(redis_url, prefix=unique_prefix())
    )
    yield backend
    await backend.aclose()


async def test_rate_limit_allows_the_limit_then_refuses_with_retry_after(store):
    limiter = TaskRateLimiter(store, limit=3, window=3600)
    decisions = [await limiter.check("alice") for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions[:3]] == [2, 1, 0]
    assert 0 < decisions[3].retry_after <= 3600
    assert (await limiter.check("bob")).allowed  # per key


async def test_rate_limit_window_resets(store):
    limiter = TaskRateLimiter(store, limit=1, window=1)
    assert (await limiter.check("alice")).allowed
    await asyncio.sleep(1.1)
    assert (await limiter.check("alice")).allowed


async def test_concurrent_hits_never_exceed_the_limit(store):
    limiter = TaskRateLimiter(store, limit=10, window=3600)
    decisions = await asyncio.gather(*(limiter.check("alice") for _ in range(40)))
    assert sum(d.allowed for d in decisions) == 10


async def test_idempotency_claim_complete_and_repeat(store):
    records = IdempotencyRecords(store, ttl=60)
    fp = fingerprint({"task": "x"})
    assert (await records.claim("alice", "k1", fp)).outcome == "new"
    await records.complete("alice", "k1", fp, "task-1")
    repeat = await records.claim("alice", "k1", fp)
    assert (repeat.outcome, repeat.task_id) == ("existing", "task-1")
    assert (await records.claim("alice", "k1", fingerprint({"task": "y"}))).outcome == "conflict"
    assert (await records.claim("bob", "k1", fp)).outcome == "new"  # keys are per owner


async def test_a_concurrent_repeat_waits_for_the_first_request(store):
    records = IdempotencyRecords(store, ttl=60, wait=5)
    fp = fingerprint({"task": "x"})
    assert (await records.claim("alice", "k2", fp)).outcome == "new"

    async def finish_later() -> None:
        await asyncio.sleep(0.3)
        await records.complete("alice", "k2", fp, "task-2")

    finisher = asyncio.create_task(finish_later())
    repeat = await records.claim("alice", "k2", fp)
    await finisher
    assert (repeat.outcome, repeat.task_id) == ("existing", "task-2")


async def test_only_one_of_many_simultaneous_claims_is_new(store):
    records = IdempotencyRecords(store, ttl=60, wait=0.2)
    fp = fingerprint({"task": "x"})
    claims = await asyncio.gather(*(records.claim("alice", "k3", fp) for _ in range(20)))
    assert sum(c.outcome == "new" for c in claims) == 1
    assert all(c.outcome in ("new", "in_progress") for c in claims)


async def test_abandoned_claim_frees_the_key(store):
    records = IdempotencyRecords(store, ttl=60)
    fp = fingerprint({"task": "x"})
    assert (await records.claim("alice", "k4", fp)).outcome == "new"
    await records.abandon("alice", "k4")
    assert (await records.claim("alice", "k4", fp)).outcome == "new"


async def test_a_claim_lapses_soon_when_its_task_is_never_recorded(store, monkeypatch):
    """A request that died (or met a Redis that was down) between claiming a key and recording its task frees the
    key after CLAIM_TTL, not after the key's whole TTL."""
    monkeypatch.setattr(idempotency, "CLAIM_TTL", 0.2)
    records = IdempotencyRecords(store, ttl=3600, wait=0.05)
    assert (await records.claim("alice", "k", "fp")).outcome == "new"
    assert (await records.claim("alice", "k", "fp")).outcome == "in_progress"
    await asyncio.sleep(0.3)
    assert (await records.claim("alice", "k", "fp")).outcome == "new"
    await records.complete("alice", "k", "fp", "task-1")
    await asyncio.sleep(0.3)  # a recorded task keeps the full TTL
    assert await records.claim("alice", "k", "fp") == Claim("existing", "task-1")
