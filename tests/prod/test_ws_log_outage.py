"""The task websocket over the Postgres event log when the database stays away past the retry bound: the client is told
(503 naming postgres, with the id to reconnect after) and the socket closes with 4503, instead of going quiet."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocketDisconnect

from agent.http import events
from service.postgres import open_postgres
from service.postgres.events import PostgresEventLog
from tests.support.postgres_server import postgres_server

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]


@dataclass
class _Owner:
    identity: str = "alice"
    is_authenticated: bool = True


class _AsAlice:
    """What the server's auth middleware does before the route runs: attach the caller."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["user"] = _Owner()
        await self.app(scope, receive, send)


@dataclass
class _Service:
    """The route needs of the task service only its owner check (the task is alice's) and its log."""

    log: PostgresEventLog

    async def check_owner(self, owner: str, task_id: str) -> None:
        return None


def test_the_socket_says_the_log_is_unavailable_and_closes_for_a_reconnect() -> None:
    task_id = str(uuid.uuid4())
    with postgres_server() as database:

        @asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            state = await open_postgres(database.url, holder="test", retry_for=0.5)
            await state.events.append(task_id, "task_created", owner="alice")
            app.state.task_service = _Service(state.events)
            try:
                yield
            finally:
                await state.aclose()

        app = FastAPI(lifespan=lifespan)
        app.router.routes.extend(events.router.routes)
        with TestClient(_AsAlice(app)) as client:
            with client.websocket_connect(f"/tasks/{task_id}/events") as ws:
                assert ws.receive_json()["event"] == "task_created"
            database.stop(fast=True)
            try:
                with client.websocket_connect(f"/tasks/{task_id}/events?after=1") as ws:
                    error = ws.receive_json()
                    assert error["type"] == "error" and error["status"] == 503
                    assert "postgres is unavailable" in error["detail"] and "?after=1" in error["detail"]
                    with pytest.raises(WebSocketDisconnect) as closed:
                        ws.receive_json()
                    assert closed.value.code == 4503
            finally:
                database.start()
            # Back: a client reconnecting as told gets the whole log (the pool may need a moment to reconnect, and this
            # test's retry bound is short, so a first reconnect can still be told 503 and closed).
            first = None
            for _ in range(40):
                with client.websocket_connect(f"/tasks/{task_id}/events") as ws:
                    first = ws.receive_json()
                if first.get("type") == "event":
                    break
                time.sleep(0.25)
            assert first is not None and first["type"] == "event" and first["id"] == 1, first
