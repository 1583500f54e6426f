"""The coordination store's contract, on both implementations (in process and a real Redis)."""

from __future__ import annotations

import asyncio

from coordination.store import CoordinationStore


async def test_put_if_absent_sets_once_and_expires(store: CoordinationStore) -> None:
    assert await store.put_if_absent("k", "a", ttl=0.3)
    assert not await store.put_if_absent("k", "b", ttl=0.3)
    assert await store.get("k") == "a"
    await asyncio.sleep(0.4)
    assert await store.get("k") is None
    assert await store.put_if_absent("k", "c", ttl=5)


async def test_set_get_delete(store: CoordinationStore) -> None:
    await store.set("x", "1")
    assert await store.get("x") == "1"
    await store.delete("x")
    assert await store.get("x") is None


async def test_hit_counts_within_a_window(store: CoordinationStore) -> None:
    counts = [await store.hit("rate", window=60) for _ in range(3)]
    assert counts[-1] - counts[0] == 2


async def test_queue_pop_is_fifo_and_each_item_is_claimed_once(store: CoordinationStore) -> None:
    for i in range(50):
        await store.push("pool", f"sb-{i}")
    claimed = await asyncio.gather(*(store.pop("pool") for _ in range(60)))
    got = [c for c in claimed if c is not None]
    assert sorted(got) == sorted(f"sb-{i}" for i in range(50))
    assert claimed.count(None) == 10


async def test_queue_remove_and_items(store: CoordinationStore) -> None:
    await store.push("q", "a")
    await store.push("q", "b")
    assert await store.remove("q", "a")
    assert not await store.remove("q", "zzz")
    assert await store.items("q") == ["b"]
    assert await store.ping()


async def test_take_gets_and_deletes_a_key_exactly_once(store: CoordinationStore) -> None:
    await store.set("ticket", "grant", ttl=30)
    taken = await asyncio.gather(*(store.take("ticket") for _ in range(20)))
    assert taken.count("grant") == 1 and taken.count(None) == 19
    assert await store.get("ticket") is None
    assert await store.take("never-set") is None


async def test_take_misses_an_expired_key(store: CoordinationStore) -> None:
    await store.set("short", "v", ttl=0.2)
    await asyncio.sleep(0.3)
    assert await store.take("short") is None
