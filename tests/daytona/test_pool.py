"""The warm pool: filled ahead, claimed atomically (in process and across processes through a real Redis),
refilled in the background, never handing out an expired, vanished or already-claimed sandbox."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from coordination.store import RedisStore
from sandbox.daytona import DaytonaProvider
from sandbox.daytona_pool import PoolEntry
from sandbox.daytona_settings import POOL_LABEL, SERVICE_LABEL, THREAD_LABEL
from tests.daytona_server.fixtures import provider_for
from tests.daytona_server.server import DaytonaTestServer
from tests.support.redis_server import unique_prefix

MakeProvider = Callable[..., DaytonaProvider]


async def test_pool_is_filled_with_started_sandboxes_that_keep_their_lifetimes(
    make_provider: MakeProvider, daytona_server: DaytonaTestServer
) -> None:
    provider = make_provider(pool_size=3)
    assert await provider.warm_up() == 3
    assert provider.pool is not None
    entries = await provider.pool.entries()
    assert len(entries) == 3
    for entry in entries:
        record = daytona_server.sandbox(entry.sandbox_id)
        assert record is not None and record.state == "started"
        assert record.labels[POOL_LABEL] == "test-snapshot" and THREAD_LABEL not in record.labels
        assert record.auto_stop_interval == 15 and record.auto_delete_interval == 0
        assert entry.expires is not None and entry.expires <= time.time() + 15 * 60


async def test_acquire_claims_a_warm_sandbox_relabels_it_and_the_pool_refills(
    make_provider: MakeProvider, daytona_server: DaytonaTestServer
) -> None:
    provider = make_provider(pool_size=2)
    await provider.warm_up()
    assert provider.pool is not None
    pooled = {e.sandbox_id for e in await provider.pool.entries()}
    creates = daytona_server.state.counts["create"]
    claim_started = time.monotonic()
    lease = await provider.acquire("thread-p")
    assert lease.fresh and lease.sandbox.id in pooled
    assert daytona_server.state.counts["create"] == creates, "a warm acquire creates nothing"
    record = daytona_server.sandbox(lease.sandbox.id)
    assert record is not None
    assert record.labels[THREAD_LABEL] == "thread-p" and POOL_LABEL not in record.labels
    assert record.labels[SERVICE_LABEL] == "open-swe"
    assert record.last_activity >= claim_started, "the claim restarts its idle clock"
    await provider.pool.wait_idle()
    refilled = {e.sandbox_id for e in await provider.pool.entries()}
    assert len(refilled) == 2 and lease.sandbox.id not in refilled
    await provider.mark_filled(lease.sandbox.id)  # the caller filled the fresh lease
    again = await provider.acquire("thread-p")  # found by its new labels, not claimed twice
    assert again.sandbox.id == lease.sandbox.id and not again.fresh


async def test_expired_or_vanished_pool_sandboxes_are_never_handed_out(
    make_provider: MakeProvider, daytona_server: DaytonaTestServer
) -> None:
    provider = make_provider(pool_size=3)
    await provider.warm_up()
    assert provider.pool is not None
    entries = await provider.pool.entries()
    expired, vanished, good = entries
    store = provider._store
    await store.remove(provider.pool.queue, expired.encode())
    await store.remove(provider.pool.queue, vanished.encode())
    await store.remove(provider.pool.queue, good.encode())
    await store.push(provider.pool.queue, PoolEntry(expired.sandbox_id, time.time() - 1).encode())
    await store.push(provider.pool.queue, vanished.encode())
    await store.push(provider.pool.queue, good.encode())
    daytona_server.vanish(vanished.sandbox_id)
    lease = await provider.acquire("t")
    assert lease.sandbox.id == good.sandbox_id
    assert daytona_server.sandbox(expired.sandbox_id) is None, "the expired one was deleted, not handed out"


async def test_empty_pool_falls_back_to_create(make_provider: MakeProvider, daytona_server: DaytonaTestServer) -> None:
    provider = make_provider(pool_size=1)
    lease = await provider.acquire("t")  # pool not warmed: create now, refill in the background
    assert lease.fresh
    assert provider.pool is not None
    await provider.pool.wait_idle()
    assert len(await provider.pool.entries()) == 1
    assert daytona_server.state.counts["create"] == 2


async def test_concurrent_claims_in_one_process_never_share(
    make_provider: MakeProvider, daytona_server: DaytonaTestServer
) -> None:
    provider = make_provider(pool_size=4)
    await provider.warm_up()
    leases = await asyncio.gather(*(provider.acquire(f"t{i}") for i in range(6)))
    ids = [lease.sandbox.id for lease in leases]
    assert len(set(ids)) == 6


async def test_two_providers_sharing_one_redis_never_hand_out_a_sandbox_twice(
    daytona_server: DaytonaTestServer, redis_url: str
) -> None:
    prefix = unique_prefix()
    first = provider_for(daytona_server, store=RedisStore(redis_url, prefix=prefix), pool_size=4)
    second = provider_for(daytona_server, store=RedisStore(redis_url, prefix=prefix), pool_size=4)
    try:
        added = await asyncio.gather(first.warm_up(), second.warm_up())
        assert first.pool is not None and second.pool is not None
        assert sum(added) == 4, "one refill at a time across processes: the pool is filled once"
        pooled = {e.sandbox_id for e in await first.pool.entries()}
        assert pooled == {e.sandbox_id for e in await second.pool.entries()} and len(pooled) == 4
        providers = [first, second]
        leases = await asyncio.gather(*(providers[i % 2].acquire(f"thread-{i}") for i in range(8)))
        ids = [lease.sandbox.id for lease in leases]
        assert len(set(ids)) == 8, "no sandbox was handed to two threads"
        claimed = pooled & set(ids)
        assert len(claimed) == 4, "every warm sandbox was claimed exactly once"
        for lease, i in zip(leases, range(8), strict=True):
            record = daytona_server.sandbox(lease.sandbox.id)
            assert record is not None and record.labels[THREAD_LABEL] == f"thread-{i}"
    finally:
        await first.aclose()
        await second.aclose()


async def test_idle_pool_sandboxes_expire_on_the_server_and_are_never_handed_out(tmp_path: Path) -> None:
    """A 'minute' of 50 ms: pool sandboxes idle past auto-stop are stopped and deleted by Daytona itself."""
    from tests.daytona_server.server import running_server

    with running_server(tmp_path, minute_seconds=0.05) as server:
        provider = provider_for(server, pool_size=2)
        try:
            await provider.warm_up()
            assert provider.pool is not None
            pooled = {e.sandbox_id for e in await provider.pool.entries()}
            deadline = time.monotonic() + 30
            while any(server.sandbox(sid) is not None for sid in pooled):
                assert time.monotonic() < deadline, "idle pool sandboxes were never deleted"
                await asyncio.sleep(0.05)
            lease = await provider.acquire("t")
            assert lease.fresh and lease.sandbox.id not in pooled
            assert (await lease.sandbox.exec("echo alive")).output == "alive\n"
        finally:
            await provider.aclose()
