"""kill -9 the server in the middle of a task, start it again, and find the task and its history intact:
resumed, or back at its last saved step and clearly marked. The server coordinates through a real Redis here."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.service.conftest import ALICE_KEY, server_env
from tests.service.taskclient import TERMINAL, TaskClient, read_until
from tests.support.fixture_repo import FIXTURE_TASK, fix_bug_policy
from tests.support.langgraph_server import LangGraphServer, copy_project
from tests.support.scripted_openai import ChatRequest, Reply, ScriptedOpenAI

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]

PERSISTENCE_FLUSH_SECONDS = 10
"""`langgraph dev` saves its state every 10 s; a task must have been saved once to outlive a kill -9."""


def slow_programmer(request: ChatRequest) -> Reply:
    """fix_bug_policy, with the programmer's model calls taking a second, so a kill lands mid-task."""
    if request.role == "programmer":
        time.sleep(1.0)
    return fix_bug_policy(request)


@pytest.fixture(scope="module")
def slow_model() -> Iterator[ScriptedOpenAI]:
    with ScriptedOpenAI(slow_programmer) as server:
        yield server


@pytest.fixture
def server(slow_model, redis_url, tmp_path) -> Iterator[LangGraphServer]:
    workdir = copy_project(tmp_path / "srv")
    server = LangGraphServer(workdir=workdir, env=server_env(slow_model, tmp_path / "state", REDIS_URL=redis_url))
    server.start()
    yield server
    server.stop()


async def test_kill_9_mid_task_then_restart_keeps_the_task_and_its_history(server, new_repo):
    repo = new_repo()
    client = TaskClient(server.url, ALICE_KEY)
    task_id = (await client.create(FIXTURE_TASK, str(repo.path)))["id"]
    await client.wait_for(task_id, lambda v: v["status"] == "awaiting_approval")
    await asyncio.sleep(PERSISTENCE_FLUSH_SECONDS + 1.5)

    async with await client.connect(task_id) as ws:
        await read_until(ws, lambda m: m.get("event") == "run_ended")
        await ws.send(json.dumps({"type": "approve"}))
        history = await read_until(ws, lambda m: m.get("event") == "item_started", 120)
    server.kill_hard()
    await client.aclose()
    before_kill = [m for m in history if m.get("type") == "event"]

    server.start()  # same directory, same state, a new port
    client = TaskClient(server.url, ALICE_KEY)
    try:
        view = await client.get(task_id)
        assert view["task"] == FIXTURE_TASK and view["status"] != "lost"
        async with await client.connect(task_id) as ws:
            replay = await read_until(ws, lambda m: m.get("event") == "service_restarted", 60)
        replayed = {m["id"]: m for m in replay if m.get("type") == "event"}
        for event in before_kill:  # every event seen before the kill is still there, unchanged
            assert replayed.get(event["id"]) == event
        marker = replay[-1]
        assert marker["note"].startswith("the server restarted")

        view = await client.wait_for(task_id, lambda v: v["status"] in TERMINAL or v["pending"] is not None, 180)
        if view["status"] == "awaiting_approval":  # the approval was not saved before the kill: approve again
            assert (await client.http.post(f"/tasks/{task_id}/approve")).status_code == 200
            view = await client.wait_terminal(task_id)
        assert view["status"] == "completed", view
        assert "return a + b" in view["diff"]
        async with httpx.AsyncClient(base_url=server.url) as anonymous:
            ready = (await anonymous.get("/readyz")).json()
        assert ready["checks"]["redis"] == {"ok": True, "detail": "reachable"}
    finally:
        await client.aclose()
