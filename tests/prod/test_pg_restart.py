"""The service's Postgres state across a PostgreSQL restart, on a server of its own (never the session's): followers
are woken again once the LISTEN connection is back, an append made during the outage waits and is stored once when
the server returns within the bound, and beyond the bound it fails with an error naming postgres, never its password,
which the API answers as a JSON 503."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from agent.http.guards import install_guards
from service.postgres import DatabaseUnavailable
from tests.prod.pg_helpers import fresh_database, opened
from tests.support.postgres_server import PostgresServer, postgres_server

pytestmark = pytest.mark.e2e

PASSWORD = "s3cret-pw"
"""In the URL: the test cluster trusts every login, so any password connects, and none may appear in an error."""


@pytest.fixture(scope="module")
def server() -> Iterator[PostgresServer]:
    with postgres_server() as server:
        yield server


@pytest.fixture
async def url(server: PostgresServer) -> str:
    plain = await fresh_database(server.url)
    return plain.replace("postgresql://nobody@", f"postgresql://nobody:{PASSWORD}@", 1)


@asynccontextmanager
async def outage(server: PostgresServer) -> AsyncIterator[None]:
    """PostgreSQL stopped as a restart stops it (clients disconnected) until the block ends or `server.start()`."""
    await asyncio.to_thread(server.stop, fast=True)
    try:
        yield
    finally:
        await asyncio.to_thread(server.start)


async def test_followers_wake_after_a_restart_and_appends_work_again(server: PostgresServer, url: str) -> None:
    task = str(uuid.uuid4())
    async with opened(url) as a, opened(url) as b:
        await a.events.append(task, "before")
        listener = b.events.listen(task)
        listener.clear()
        async with outage(server):
            await asyncio.sleep(0.5)
        await asyncio.wait_for(listener.wait(), 30)  # woken on reconnecting: a follower re-reads what it missed
        assert b.events.fanout.reconnections >= 1
        listener.clear()
        await a.events.append(task, "after")
        await asyncio.wait_for(listener.wait(), 30)  # and NOTIFY reaches it again
        assert [e["event"] for e in await b.events.since(task)] == ["before", "after"]


async def test_an_append_during_an_outage_waits_and_is_stored_once(server: PostgresServer, url: str) -> None:
    task = str(uuid.uuid4())
    async with opened(url, retry_for=60) as state:
        await state.events.append(task, "before")
        async with outage(server):
            pending = asyncio.create_task(state.events.append(task, "during", part="1-0", run_id="run-1"))
            plain = asyncio.create_task(state.events.append(task, "plain"))
            await asyncio.sleep(1.5)
            assert not pending.done() and not plain.done()
        stored = await asyncio.wait_for(pending, 60)
        stored_plain = await asyncio.wait_for(plain, 60)
        events = await state.events.since(task)
        assert [e["id"] for e in events] == [1, 2, 3]  # each stored once, no gap
        assert events[0]["event"] == "before"
        assert {events[1]["id"]: events[1], events[2]["id"]: events[2]} == {e["id"]: e for e in (stored, stored_plain)}
        assert await state.records.put_if_absent("k", "v", 60)
        assert await state.leases.adopt() == []


async def test_beyond_the_bound_an_outage_is_a_clear_error_and_a_503(server: PostgresServer, url: str) -> None:
    task = str(uuid.uuid4())
    async with opened(url, retry_for=2.0) as state:
        app = FastAPI()
        install_guards(app)

        @app.post("/tasks/{task_id}/note")
        async def note(task_id: str) -> dict[str, int]:
            return {"id": (await state.events.append(task_id, "note"))["id"]}

        async with outage(server):
            started = asyncio.get_running_loop().time()
            with pytest.raises(DatabaseUnavailable) as caught:
                await state.events.append(task, "lost")
            waited = asyncio.get_running_loop().time() - started
            assert 2.0 <= waited < 20
            message = str(caught.value)
            assert message.startswith("postgres is unavailable (appending an event: ")
            assert PASSWORD not in message
            with pytest.raises(DatabaseUnavailable, match="reading an idempotency record"):
                await state.records.get("k")
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
                response = await client.post(f"/tasks/{task}/note")
            assert response.status_code == 503
            assert response.headers["retry-after"]
            body = response.json()
            assert body["dependency"] == "postgres"
            assert body["detail"].startswith("postgres is unavailable") and PASSWORD not in body["detail"]
        event = await state.events.append(task, "back")  # recovered once the server is back
        assert [e["event"] for e in await state.events.since(task)] == ["back"] and event["id"] == 1
