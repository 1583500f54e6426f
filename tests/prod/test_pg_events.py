"""The event log in PostgreSQL (service/postgres/events.py) against a real server, two instances on one database
standing for two replicas: ids 1..n with no gap or duplicate under concurrent appends from both, replay order,
de-duplication of stream positions (also when both replicas relay the same part at once), a follower on one replica
woken by an append on the other, and bodies that round-trip (unicode, a 1 MB tool output, a NUL character)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest

from service.postgres import PostgresState
from service.postgres.events import TASK_LOCKS
from tests.prod.pg_helpers import fresh_database, opened, query

pytestmark = pytest.mark.e2e


@pytest.fixture
async def replicas(postgres_url: str) -> AsyncIterator[tuple[PostgresState, PostgresState]]:
    url = await fresh_database(postgres_url)
    async with opened(url) as a, opened(url) as b:
        yield a, b


def new_task() -> str:
    return str(uuid.uuid4())


async def test_concurrent_appends_from_two_replicas_number_events_one_to_n(
    replicas: tuple[PostgresState, PostgresState],
) -> None:
    a, b = replicas
    task, other = new_task(), new_task()
    appends = [
        (a if i % 2 else b).events.append(task, "step", source="graph", n=i, by="a" if i % 2 else "b")
        for i in range(200)
    ]
    appends += [a.events.append(other, "step", n=i) for i in range(20)]  # another task's ids are its own
    returned = await asyncio.gather(*appends)
    events = await b.events.since(task)
    assert [e["id"] for e in events] == list(range(1, 201))
    assert sorted(e["n"] for e in events) == list(range(200))
    assert sorted(e["id"] for e in returned[:200]) == list(range(1, 201))
    by_id = {e["id"]: e for e in events}
    for event in returned[:200]:  # what append returned is what the log holds
        assert by_id[event["id"]] == event
    assert [e["id"] for e in await a.events.since(other)] == list(range(1, 21))
    assert await a.events.last_id(task) == 200


async def test_since_returns_the_events_after_an_id_in_order(replicas: tuple[PostgresState, PostgresState]) -> None:
    a, b = replicas
    task = new_task()
    assert await a.events.since(task) == []
    assert not await a.events.exists(task)
    assert await a.events.last_id(task) == 0
    for i in range(5):
        await (a if i % 2 else b).events.append(task, "note", text=f"n{i}")
    events = await a.events.since(task, 0)
    assert [(e["id"], e["text"]) for e in events] == [(i + 1, f"n{i}") for i in range(5)]
    assert [e["id"] for e in await b.events.since(task, 3)] == [4, 5]
    assert await b.events.since(task, 5) == []
    assert await b.events.since(task, 99) == []
    assert await b.events.since(task, 2**53) == []  # the websocket's largest `after`
    assert await b.events.exists(task)
    first = events[0]
    assert set(first) == {"id", "ts", "source", "event", "text"}  # the file log's shape; no part when none given
    assert first["source"] == "service" and first["event"] == "note"
    assert isinstance(first["ts"], float)


async def test_reserved_keys_in_data_do_not_override_the_event_fields(
    replicas: tuple[PostgresState, PostgresState],
) -> None:
    a, _ = replicas
    task = new_task()
    reserved: dict[str, Any] = {"id": 99, "ts": 1.0, "event": "x", "detail": 1}
    event = await a.events.append(task, "note", source="graph", **reserved)
    assert (event["id"], event["event"], event["source"], event["detail"]) == (1, "note", "graph", 1)
    assert event["ts"] != 1.0
    assert await a.events.since(task) == [event]


async def test_a_stream_position_is_stored_once(replicas: tuple[PostgresState, PostgresState]) -> None:
    a, b = replicas
    task = new_task()
    first = await a.events.append(task, "message", source="graph", part="3-0", run_id="run-1", text="hi")
    again = await b.events.append(task, "message", source="graph", part="3-0", run_id="run-1", text="hi")
    assert again == first
    assert first["part"] == "3-0" and first["run_id"] == "run-1"
    other_run = await a.events.append(task, "message", source="graph", part="3-0", run_id="run-2", text="hi")
    no_run = await a.events.append(task, "message", source="graph", part="3-0", text="hi")  # no run: no check
    assert [e["id"] for e in await a.events.since(task)] == [1, 2, 3]
    assert (other_run["id"], no_run["id"]) == (2, 3)


async def test_two_replicas_relaying_the_same_parts_at_once_store_each_once(
    replicas: tuple[PostgresState, PostgresState],
) -> None:
    a, b = replicas
    task = new_task()

    async def relay(state: PostgresState) -> list[dict[str, object]]:
        return [
            await state.events.append(task, "chunk", source="graph", part=f"{i}-0", run_id="run-1", i=i)
            for i in range(30)
        ]

    from_a, from_b = await asyncio.gather(relay(a), relay(b))
    assert from_a == from_b  # each replica got the one stored event of each part
    events = await a.events.since(task)
    assert [e["id"] for e in events] == list(range(1, 31))
    assert [e["part"] for e in events] == [f"{i}-0" for i in range(30)]
    rows = await query(a.db.conninfo, "SELECT count(*) FROM task_events")
    assert rows == [(30,)]


async def test_last_part_is_the_runs_latest_relayed_position(replicas: tuple[PostgresState, PostgresState]) -> None:
    a, b = replicas
    task = new_task()
    assert await a.events.last_part(task, "run-1") is None
    await a.events.append(task, "chunk", part="1-0", run_id="run-1")
    await b.events.append(task, "chunk", part="1-0", run_id="run-2")
    await a.events.append(task, "chunk", part="2-0", run_id="run-1")
    await a.events.append(task, "run_ended", run_id="run-1")  # no part: not a stream position
    assert await b.events.last_part(task, "run-1") == "2-0"
    assert await b.events.last_part(task, "run-2") == "1-0"
    assert await b.events.last_part(task, "run-3") is None


async def test_a_follower_on_one_replica_wakes_when_the_other_appends(
    replicas: tuple[PostgresState, PostgresState],
) -> None:
    a, b = replicas
    task, unrelated = new_task(), new_task()
    listener = b.events.listen(task)
    bystander = b.events.listen(unrelated)
    await a.events.append(task, "note", text="from a")
    await asyncio.wait_for(listener.wait(), 10)
    assert [e["text"] for e in await b.events.since(task)] == ["from a"]
    listener.clear()
    await a.events.append(task, "note", text="again")
    await asyncio.wait_for(listener.wait(), 10)
    assert not bystander.is_set()
    b.events.unlisten(task, listener)
    b.events.unlisten(unrelated, bystander)
    listener.clear()
    await a.events.append(task, "note", text="unheard")
    await asyncio.sleep(0.3)
    assert not listener.is_set()


async def test_bodies_round_trip_unicode_a_large_output_and_nul(
    replicas: tuple[PostgresState, PostgresState],
) -> None:
    a, b = replicas
    task = new_task()
    output = "".join(f'line {i}: ünïcødé ✓ 日本語 🚀 \\u0000 \t"quoted"\n' for i in range(20_000))
    assert len(output.encode()) > 1_000_000
    nested = {"list": [1, 2.5, None, True, {"k": "ß"}], "empty": {}}
    stored = await a.events.append(task, "tool_result", source="graph", output=output, nested=nested, tool="shell")
    (read,) = await b.events.since(task)
    assert read == stored
    assert read["output"] == output and read["nested"] == nested
    with_nul = await a.events.append(task, "tool_result", output="a\x00b", **{"k\x00": "v"})
    (_, read_nul) = await b.events.since(task)
    assert read_nul["output"] == "a\ufffdb" and read_nul["k\ufffd"] == "v"  # jsonb holds no NUL: U+FFFD instead
    assert with_nul["id"] == 2
    odd = await a.events.append(task, "note", when=uuid.UUID(int=1))  # not JSON: stored as text, as the file log
    assert (await b.events.since(task, 2))[0]["when"] == str(uuid.UUID(int=1)) and odd["id"] == 3


async def test_a_malformed_task_id_is_refused(replicas: tuple[PostgresState, PostgresState]) -> None:
    a, _ = replicas
    for bad in ("../etc", "not-a-uuid", "", "12345678-1234-1234-1234-1234567890123"):
        with pytest.raises(ValueError, match="not a task id"):
            await a.events.append(bad, "note")
        with pytest.raises(ValueError, match="not a task id"):
            await a.events.since(bad)
        with pytest.raises(ValueError, match="not a task id"):
            await a.events.last_part(bad, "run-1")


async def waiting_pids(conn: psycopg.AsyncConnection[Any]) -> list[int]:
    """Backends waiting for an advisory lock."""
    for _ in range(200):
        cur = await conn.execute("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        pids = [int(pid) for (pid,) in await cur.fetchall()]
        if pids:
            return pids
        await asyncio.sleep(0.05)
    raise AssertionError("no append is waiting for the task's lock")


async def test_an_append_whose_connection_dies_mid_transaction_is_retried_and_stored_once(
    replicas: tuple[PostgresState, PostgresState],
) -> None:
    a, _ = replicas
    task = new_task()
    await a.events.append(task, "first")
    async with await psycopg.AsyncConnection.connect(a.db.conninfo) as blocker:  # holds the task's lock: a transaction
        await blocker.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (TASK_LOCKS, task))
        pending = asyncio.create_task(a.events.append(task, "second", part="7-0", run_id="run-1"))
        (first_pid,) = await waiting_pids(blocker)
        await blocker.execute("SELECT pg_terminate_backend(%s)", (first_pid,))  # the append's connection dies
        for _ in range(200):  # and the append comes back on another connection, waiting for the lock again
            retried = [pid for pid in await waiting_pids(blocker) if pid != first_pid]
            if retried:
                break
            await asyncio.sleep(0.05)
        assert retried and not pending.done()
        await blocker.commit()
    event = await asyncio.wait_for(pending, 30)
    assert event["id"] == 2
    assert [(e["id"], e["event"]) for e in await a.events.since(task)] == [(1, "first"), (2, "second")]
