"""Idempotency-Key records and run relay leases in PostgreSQL (service/postgres/records.py, leases.py) against a real
server, two instances on one database standing for two replicas: a key is claimed by exactly one of many concurrent
claims, records expire, a live lease is refused to another replica, a lapsed one is adopted by exactly one."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from agent.http.idempotency import IdempotencyRecords
from agent.http.leases import Lease
from service.postgres import PostgresState
from tests.prod.pg_helpers import fresh_database, opened, query

pytestmark = pytest.mark.e2e

SHORT_TTL = 0.5


@pytest.fixture
async def replicas(postgres_url: str) -> AsyncIterator[tuple[PostgresState, PostgresState]]:
    url = await fresh_database(postgres_url)
    async with (
        opened(url, holder="replica-a", lease_ttl=SHORT_TTL) as a,
        opened(url, holder="replica-b", lease_ttl=SHORT_TTL) as b,
    ):
        yield a, b


async def test_exactly_one_of_many_concurrent_claims_from_two_replicas_wins(
    replicas: tuple[PostgresState, PostgresState],
) -> None:
    a, b = replicas
    claims = [(a if i % 2 else b).records.put_if_absent("idem:k", f"claim-{i}", 60) for i in range(40)]
    won = [i for i, ok in enumerate(await asyncio.gather(*claims)) if ok]
    assert len(won) == 1
    assert await a.records.get("idem:k") == f"claim-{won[0]}"
    assert await b.records.get("idem:k") == f"claim-{won[0]}"


async def test_records_expire_and_an_expired_key_can_be_claimed_again(
    replicas: tuple[PostgresState, PostgresState],
) -> None:
    a, b = replicas
    assert await a.records.get("missing") is None
    assert await a.records.put_if_absent("k", "first", SHORT_TTL)
    assert not await b.records.put_if_absent("k", "second", 60)
    await asyncio.sleep(SHORT_TTL + 0.2)
    assert await b.records.get("k") is None  # expired: absent
    assert await b.records.put_if_absent("k", "second", 60)
    assert await a.records.get("k") == "second"
    await a.records.set("k", "done")  # no ttl: kept
    assert not await b.records.put_if_absent("k", "third", 60)
    assert await b.records.get("k") == "done"
    await b.records.set("k", "short", SHORT_TTL)
    assert await a.records.get("k") == "short"
    await asyncio.sleep(SHORT_TTL + 0.2)
    assert await a.records.get("k") is None
    await a.records.set("gone", "x", 60)
    await b.records.delete("gone")
    assert await a.records.get("gone") is None
    await b.records.delete("never-there")


async def test_idempotency_records_over_postgres_give_one_task_per_key(
    replicas: tuple[PostgresState, PostgresState],
) -> None:
    a, b = replicas
    first, second = (IdempotencyRecords(s.records, ttl=60, wait=5) for s in (a, b))
    claim = await first.claim("alice", "key-1", "fp")
    assert claim.outcome == "new"
    waiting = asyncio.create_task(second.claim("alice", "key-1", "fp"))  # on the other replica, meanwhile
    await asyncio.sleep(0.2)
    assert not waiting.done()
    await first.complete("alice", "key-1", "fp", "task-1")
    repeat = await waiting
    assert (repeat.outcome, repeat.task_id) == ("existing", "task-1")
    assert (await second.claim("alice", "key-1", "other")).outcome == "conflict"
    assert (await second.claim("bob", "key-1", "fp")).outcome == "new"  # keys are per owner


def lease(run_id: str) -> Lease:
    return Lease(task_id=str(uuid.uuid4()), run_id=run_id, owner="alice")


async def test_a_live_lease_is_refused_to_another_replica_and_adopted_once_it_lapses(
    replicas: tuple[PostgresState, PostgresState],
) -> None:
    a, b = replicas
    run = lease("run-1")
    assert await a.leases.hold(run)
    assert await a.leases.hold(run)  # its own: held again
    assert not await b.leases.hold(run)
    assert await b.leases.adopt() == []  # not lapsed
    await asyncio.sleep(SHORT_TTL * 0.6)
    await a.leases.renew(["run-1"])
    await asyncio.sleep(SHORT_TTL * 0.6)
    assert await b.leases.adopt() == []  # renewed in time
    await asyncio.sleep(SHORT_TTL + 0.2)  # replica a stopped renewing
    assert await b.leases.adopt() == [run]
    assert await b.leases.adopt() == []
    assert not await a.leases.hold(run)  # b holds it now
    await a.leases.renew(["run-1"])  # a renewal by the old holder changes nothing
    await a.leases.release("run-1")  # nor does its release
    rows = await query(a.db.conninfo, "SELECT holder FROM run_leases WHERE run_id = 'run-1'")
    assert rows == [("replica-b",)]
    await b.leases.release("run-1")
    assert await query(a.db.conninfo, "SELECT count(*) FROM run_leases") == [(0,)]
    assert await a.leases.hold(run)  # free again


async def test_a_lapsed_lease_can_be_held_again_by_another_replica(
    replicas: tuple[PostgresState, PostgresState],
) -> None:
    a, b = replicas
    run = lease("run-2")
    assert await a.leases.hold(run)
    await asyncio.sleep(SHORT_TTL + 0.2)
    assert await b.leases.hold(run)
    assert not await a.leases.hold(run)


async def test_a_replica_adopts_its_own_lapsed_lease_when_no_other_does(
    replicas: tuple[PostgresState, PostgresState],
) -> None:
    a, _ = replicas
    run = lease("run-3")
    assert await a.leases.hold(run)  # its relay then failed: no renewal, no release
    assert await a.leases.adopt() == []
    await asyncio.sleep(SHORT_TTL + 0.2)
    assert await a.leases.adopt() == [run]
    assert await a.leases.adopt() == []  # adopted: live again


async def test_each_lapsed_lease_goes_to_exactly_one_of_two_adopters(
    replicas: tuple[PostgresState, PostgresState],
) -> None:
    a, b = replicas
    url = a.db.conninfo
    runs = [lease(f"run-{i}") for i in range(60)]
    async with opened(url, holder="replica-c", lease_ttl=SHORT_TTL) as dead:
        for run in runs:
            assert await dead.leases.hold(run)
    await asyncio.sleep(SHORT_TTL + 0.2)
    rounds = await asyncio.gather(*(s.leases.adopt(limit=7) for s in (a, b) for _ in range(6)))
    adopted = [lease for got in rounds for lease in got]
    assert sorted(adopted, key=lambda x: x.run_id) == sorted(runs, key=lambda x: x.run_id)  # each exactly once
    holders = {str(run): str(holder) for run, holder in await query(url, "SELECT run_id, holder FROM run_leases")}
    by_a = {lease.run_id for got in rounds[:6] for lease in got}
    assert all(holders[run.run_id] == ("replica-a" if run.run_id in by_a else "replica-b") for run in runs)
