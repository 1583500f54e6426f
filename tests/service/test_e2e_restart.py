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


VERY_SLOW = "(very slow)"


def slow_programmer(request: ChatRequest) -> Reply:
    """fix_bug_policy, with the programmer's model calls taking a second (3 s when the task says VERY_SLOW),
    so a kill lands mid-task."""
    if request.role == "programmer":
        time.sleep(3.0 if VERY_SLOW in json.dumps(request.messages) else 1.0)
    return fix_bug_policy(request)


def assert_resumed_or_clearly_failed(view: dict) -> None:
    """Completed with the fix, or (when the runtime cannot replay its snapshot) failed with the reason: never
    hanging, lost or silently wrong."""
    if view["status"] == "completed":
        assert "return a + b" in view["diff"]
    else:
        assert view["status"] == "failed" and view["reason"], view


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
        assert_resumed_or_clearly_failed(view)
        async with httpx.AsyncClient(base_url=server.url) as anonymous:
            ready = (await anonymous.get("/readyz")).json()
        assert ready["checks"]["redis"] == {"ok": True, "detail": "reachable"}
    finally:
        await client.aclose()


async def test_kill_9_after_the_running_step_was_saved_resumes_it(server, new_repo):
    client = TaskClient(server.url, ALICE_KEY)
    task_id = (await client.create(f"{FIXTURE_TASK} {VERY_SLOW}", str(new_repo().path)))["id"]
    await client.wait_for(task_id, lambda v: v["status"] == "awaiting_approval")
    assert (await client.http.post(f"/tasks/{task_id}/approve")).status_code == 200
    await asyncio.sleep(PERSISTENCE_FLUSH_SECONDS + 1.5)  # the running approval step has been saved
    assert (await client.get(task_id))["status"] == "programming"
    server.kill_hard()
    await client.aclose()

    server.start()
    client = TaskClient(server.url, ALICE_KEY)
    try:
        async with await client.connect(task_id) as ws:
            marker = (await read_until(ws, lambda m: m.get("event") == "service_restarted", 60))[-1]
            assert marker["note"] == "the server restarted; the run resumes from its last saved checkpoint"
            assert len(marker["resumed_runs"]) == 1
            retried = await read_until(ws, lambda m: m.get("event") == "run_executing", 60)
            assert retried[-1]["run_id"] == marker["resumed_runs"][0] and retried[-1]["id"] > marker["id"]
        view = await client.wait_terminal(task_id, 240)  # no second approval needed
        assert_resumed_or_clearly_failed(view)
    finally:
        await client.aclose()


async def test_graceful_restart_keeps_a_task_waiting_for_approval(server, new_repo):
    client = TaskClient(server.url, ALICE_KEY)
    task_id = (await client.create(FIXTURE_TASK, str(new_repo().path)))["id"]
    before = await client.wait_for(task_id, lambda v: v["status"] == "awaiting_approval")
    await client.aclose()
    server.stop()  # SIGTERM: the runtime saves its state on the way out

    server.start()
    client = TaskClient(server.url, ALICE_KEY)
    try:
        after = await client.get(task_id)
        assert after["status"] == "awaiting_approval" and after["pending"] == before["pending"]
        assert (await client.http.post(f"/tasks/{task_id}/approve")).status_code == 200
        done = await client.wait_terminal(task_id)
        assert done["status"] == "completed" and "return a + b" in done["diff"]
    finally:
        await client.aclose()
