"""The pieces that carry the service on Aegra through a Postgres or Redis restart, each on its own: stream part numbers
that continue after Redis lost its data (real redis-server, restarted), run streams that fill a hole by reading the
buffer again or mark the parts that are gone, errors that name the database, psycopg_pool's capped backoff, retried
checkpoint calls, and runs queued once Redis is back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type hints
import psycopg
import pytest
import redis.asyncio as aioredis
from langgraph_sdk.schema import StreamPart
from psycopg_pool.base import AttemptWithBackoff

from service.aegra import checkpoints, outage, queue
from service.aegra.eventids import MonotonicEventIds, part_id, part_sequence
from service.aegra.serve import aegra_env
from service.aegra.streams import LOST_EVENT, CheckedRuns, explained_error
from tests.support.net import free_port
from tests.support.redis_server import RedisServer, redis_server

RUN = "6f1c3a52-1111-4222-8333-944455556666"


@pytest.fixture
def restartable_redis(tmp_path: Path) -> Iterator[RedisServer]:
    with redis_server(tmp_path) as server:
        yield server


async def test_part_numbers_continue_after_redis_restarts_without_its_data(restartable_redis: RedisServer):
    client = aioredis.Redis.from_url(restartable_redis.url, socket_connect_timeout=0.5)
    ids = MonotonicEventIds(lambda: client)
    try:
        first = [await ids.allocate_event_id(RUN) for _ in range(3)]
        restartable_redis.stop()
        while_down = await ids.allocate_event_id(RUN)  # counted in process
        restartable_redis.start()
        after = [await ids.allocate_event_id(RUN) for _ in range(2)]
        assert [part_sequence(i, RUN) for i in [*first, while_down, *after]] == [1, 2, 3, 4, 5, 6]
        assert await client.get("open-swe:stream-seq:" + RUN) == b"6"  # written back for other processes
    finally:
        await client.aclose()


async def test_a_fresh_process_continues_from_redis(restartable_redis: RedisServer):
    client = aioredis.Redis.from_url(restartable_redis.url)
    try:
        await MonotonicEventIds(lambda: client).allocate_event_id(RUN)
        assert await MonotonicEventIds(lambda: client).allocate_event_id(RUN) == part_id(RUN, 2)
    finally:
        await client.aclose()


class FakeRuns:
    """`client.runs` of the SDK with scripted streams: each join_stream call serves the next list of part numbers
    after `last_event_id`, as Aegra's endpoint does."""

    def __init__(self, *streams: list[int]) -> None:
        self.streams = list(streams)
        self.joins: list[str | None] = []

    async def join_stream(
        self, thread_id: str, run_id: str, *, last_event_id: str | None = None
    ) -> AsyncIterator[StreamPart]:
        self.joins.append(last_event_id)
        after = part_sequence(last_event_id, run_id) or 0
        for n in self.streams.pop(0):
            if n > after:
                yield StreamPart(event="custom", data={"event": "tool_call", "n": n}, id=part_id(run_id, n))


async def read(runs: CheckedRuns, last_event_id: str = "0") -> list[Any]:
    return [part async for part in runs.join_stream("thread", RUN, last_event_id=last_event_id)]


async def test_a_hole_this_reader_missed_is_filled_from_the_buffer():
    fake = FakeRuns([1, 2, 5], [3, 4, 5, 6])
    parts = await read(CheckedRuns(fake))
    assert [p.data["n"] for p in parts] == [1, 2, 3, 4, 5, 6]
    assert fake.joins == ["0", part_id(RUN, 2)]


async def test_parts_gone_from_the_buffer_are_marked_once_and_the_stream_goes_on():
    fake = FakeRuns([1, 2, 5], [5, 6])
    parts = await read(CheckedRuns(fake))
    assert [p.data["event"] for p in parts] == ["tool_call", "tool_call", LOST_EVENT, "tool_call", "tool_call"]
    lost = parts[2]
    assert lost.data["count"] == 2 and lost.data["first_part"] == 3 and "redis" in lost.data["note"]
    assert lost.id == part_id(RUN, 4)  # stable: a relay resuming after it, or another replica, agrees on it


async def test_a_resumed_stream_checks_from_where_it_resumes():
    parts = await read(CheckedRuns(FakeRuns([4, 5, 6])), last_event_id=part_id(RUN, 3))
    assert [p.data["n"] for p in parts] == [4, 5, 6]


def test_a_run_error_from_the_database_names_it():
    part = StreamPart(event="error", data={"error": "PoolTimeout", "message": "PoolTimeout: execution failed"}, id="x")
    assert "postgres was unavailable" in explained_error(part).data["message"]
    other = StreamPart(event="error", data={"error": "ValueError", "message": "ValueError: execution failed"}, id="y")
    assert explained_error(other) == other


async def test_unreachable_postgres_is_recognised_and_other_errors_are_not():
    port = free_port()  # nothing listens there
    with pytest.raises(OSError) as refused:
        await asyncpg.connect(host="127.0.0.1", port=port, user="x", database="x", timeout=2)
    assert outage.postgres_unavailable(refused.value)
    with pytest.raises(psycopg.OperationalError) as failed:
        await psycopg.AsyncConnection.connect(f"postgresql://x@127.0.0.1:{port}/x", connect_timeout=2)
    assert str(outage.postgres_unavailable(failed.value)).startswith("OperationalError")
    try:
        raise RuntimeError("while saving") from failed.value
    except RuntimeError as wrapped:
        assert outage.postgres_unavailable(wrapped)
    assert outage.postgres_unavailable(ValueError("bad input")) is None
    assert outage.postgres_unavailable(FileNotFoundError("no such file")) is None
    try:
        raise BrokenPipeError("a sandbox's pipe closed")  # a ConnectionError too, but not the database's
    except BrokenPipeError as pipe:
        assert outage.postgres_unavailable(pipe) is None


def test_psycopg_pool_backoff_is_capped(monkeypatch: pytest.MonkeyPatch):
    import psycopg_pool.pool_async

    monkeypatch.setattr(psycopg_pool.pool_async, "AttemptWithBackoff", AttemptWithBackoff)
    outage.prompt_reconnects()
    attempt = psycopg_pool.pool_async.AttemptWithBackoff(timeout=300)
    delays = []
    for now in range(8):
        attempt.update_delay(float(now))
        delays.append(attempt.delay)
    assert max(delays) <= outage.MAX_RECONNECT_DELAY and delays[0] > 0


async def test_checkpoint_calls_retry_a_lost_connection_until_their_bound():
    calls: list[int] = []

    async def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        return "saved"

    assert await checkpoints.retrying(flaky, "aput", retry_for=5) == "saved" and len(calls) == 3

    async def broken() -> None:
        raise ValueError("a bug, not the database")

    with pytest.raises(ValueError):
        await checkpoints.retrying(broken, "aput", retry_for=5)

    async def down() -> None:
        raise psycopg.OperationalError("connection refused")

    with pytest.raises(psycopg.OperationalError):
        await checkpoints.retrying(down, "aput", retry_for=0.5)


async def test_a_run_submitted_while_redis_is_down_is_queued_once_it_is_back(
    restartable_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(queue, "RETRY_SECONDS", 0.1)
    client = aioredis.Redis.from_url(restartable_redis.url, socket_connect_timeout=0.5)

    async def push(run_id: str) -> None:
        await client.rpush("jobs", run_id)

    async def submit(job: Any) -> None:
        await push(job.identity.run_id)

    deferred = queue.DeferredQueue(submit, push)
    try:
        restartable_redis.stop()
        await deferred.submit(SimpleNamespace(identity=SimpleNamespace(run_id=RUN)))  # accepted, not raised
        assert list(deferred.waiting) == [RUN]
        restartable_redis.start()
        for _ in range(100):
            if not deferred.waiting:
                break
            await asyncio.sleep(0.1)
        assert await client.lrange("jobs", 0, -1) == [RUN.encode()]
    finally:
        await client.aclose()


async def test_lapsed_leases_are_left_to_their_holders_for_a_lease_after_an_outage():
    now = [100.0]
    grace = outage.ReaperGrace(5.0, clock=lambda: now[0])

    async def find() -> tuple[list[str], list[str]]:
        return ["lapsed-run"], ["stuck-run"]

    search = outage.sparing_live_runs(find, grace, active_runs={})
    assert await search() == (["lapsed-run"], ["stuck-run"])  # no outage seen: crashed runs are recovered
    grace.unreachable()  # the reaper's tick found the database away
    now[0] += 30
    assert await search() == ([], ["stuck-run"])  # back: their holders may still renew them
    now[0] += 4.9
    assert await search() == ([], ["stuck-run"])
    now[0] += 0.2
    assert await search() == (["lapsed-run"], ["stuck-run"])  # a lease later, still lapsed: crashed


def test_runs_lost_with_redis_queue_are_queued_again_after_30_s_unless_set():
    base = {"DATABASE_URL": "postgresql://u@db/x", "REDIS_URL": "redis://r:6379/0"}
    env = aegra_env(base, host="127.0.0.1", port=1, jobs=2, config=Path("langgraph.json"))
    assert env["STUCK_PENDING_THRESHOLD_SECONDS"] == "30"
    mine = {**base, "STUCK_PENDING_THRESHOLD_SECONDS": "90"}
    assert (
        aegra_env(mine, host="127.0.0.1", port=1, jobs=2, config=Path("langgraph.json"))[
            "STUCK_PENDING_THRESHOLD_SECONDS"
        ]
        == "90"
    )
