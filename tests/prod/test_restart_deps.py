"""Redis or PostgreSQL restarted while the programmer works, on the production runtime (Aegra): the task either
completes with the fix or ends `failed` with a reason naming what went away, never stays running; its websocket shows
every event once, ids 1..n; requests during the outage get a 503 naming the dependency, not a 500; a plan approved
during the outage runs (accepted and queued once Redis is back, or refused and approved again after).

Each test has its own Postgres and Redis (the session's are shared and never stopped)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.prod.conftest import aegra_env
from tests.prod.test_restart_aegra import FAST_LEASES, slow_programmer
from tests.service.conftest import ALICE_KEY
from tests.service.taskclient import TaskClient, next_message, read_until
from tests.support.fixture_repo import FIXTURE_TASK, run_fixture_tests
from tests.support.langgraph_server import LangGraphServer, copy_project
from tests.support.postgres_server import PostgresServer, postgres_server
from tests.support.redis_server import RedisServer, redis_server
from tests.support.scripted_openai import ScriptedOpenAI

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(150)]

POSTGRES_OUTAGE = 4.0
REDIS_OUTAGE = 8.0
"""Longer than Aegra's three attempts to store a stream part (about 3.5 s), so parts are usually lost and marked."""
END_EVENTS = {"finished", "failed"}
PROGRAMMER_TOOLS = [
    "view",
    "str_replace",
    "mark_task_completed",
    "shell",
    "mark_task_completed",
    "shell",
    "accept_review",
]
"""The tools the approved run calls, in order (the scripted fix_bug_policy)."""


@pytest.fixture(scope="module")
def slow_model() -> Iterator[ScriptedOpenAI]:
    with ScriptedOpenAI(slow_programmer) as server:
        yield server


@pytest.fixture
def deps(tmp_path: Path) -> Iterator[tuple[PostgresServer, RedisServer]]:
    (tmp_path / "redis").mkdir()
    with postgres_server() as postgres, redis_server(tmp_path / "redis") as redis:
        yield postgres, redis


@pytest.fixture
def server(slow_model, deps, tmp_path) -> Iterator[LangGraphServer]:
    postgres, redis = deps
    env = {**aegra_env(slow_model, tmp_path / "state", postgres.url, redis.url), **FAST_LEASES}
    server = LangGraphServer(workdir=copy_project(tmp_path / "srv"), env=env, args=("--runtime", "aegra"))
    server.start()
    yield server
    server.stop()


async def probe(client: TaskClient, task_id: str, repo: Path, seconds: float) -> list[httpx.Response]:
    """GET the task and try to create one, over and over for `seconds`."""
    answers: list[httpx.Response] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        answers.append(await client.http.get(f"/tasks/{task_id}", timeout=15))
        body = {"task": FIXTURE_TASK, "repo": str(repo)}
        answers.append(await client.http.post("/tasks", json=body, timeout=15))
        await asyncio.sleep(0.5)
    return answers


async def all_events(client: TaskClient, task_id: str) -> list[dict[str, Any]]:
    """The task's events on a new websocket: up to its end event, and any that follow within a second."""
    async with await client.connect(task_id) as ws:
        messages = await read_until(ws, lambda m: m.get("event") in END_EVENTS, 30)
        while True:
            try:
                messages.append(await next_message(ws, 1.0))
            except TimeoutError:
                break
    return [m for m in messages if m.get("type") == "event"]


def content(event: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in event.items() if k not in ("id", "ts")}, sort_keys=True)


async def restart_mid_task(
    server: LangGraphServer,
    new_repo: Callable[[], Any],
    stop: Callable[[], None],
    start: Callable[[], None],
    dependency: str,
    outage: float,
) -> None:
    """Task A's programmer works and task B waits for approval when `dependency` stops; B is approved while it is
    away (accepted, or refused with a 503 and approved again once it is back); both must then end correctly."""
    repo, other = new_repo(), new_repo()
    client = TaskClient(server.url, ALICE_KEY)
    try:
        task_id = (await client.create(FIXTURE_TASK, str(repo.path)))["id"]
        waiting = (await client.create(FIXTURE_TASK, str(other.path)))["id"]
        for task in (task_id, waiting):
            await client.wait_for(task, lambda v: v["status"] == "awaiting_approval")
        async with await client.connect(task_id) as ws:
            await read_until(ws, lambda m: m.get("event") == "run_ended")
            await ws.send(json.dumps({"type": "approve"}))
            await read_until(ws, lambda m: m.get("event") == "tool_call", 60)  # the programmer works
            await asyncio.to_thread(stop)
            answers = [await client.http.post(f"/tasks/{waiting}/approve", timeout=30)]
            answers += await probe(client, task_id, repo.path, outage)
            await asyncio.to_thread(start)
        if answers[0].status_code == 503:
            await approve_when_back(client, waiting)
        for task, path in ((task_id, repo.path), (waiting, other.path)):
            await check_outcome(client, task, path, dependency)
        refused = [a for a in answers if a.status_code not in (200, 201)]
        assert all(a.status_code == 503 for a in refused), [(a.status_code, a.text) for a in refused]
        assert refused, "nothing was refused while it was down"
        for answer in refused:
            assert answer.json()["dependency"] == dependency, answer.text
            assert dependency in answer.json()["detail"], answer.text
        assert (await client.create(FIXTURE_TASK, str(new_repo().path)))["status"] == "queued"  # it serves again
        log = server.log_path.read_text(errors="replace")
        assert "unhandled error" not in log
        assert log.count("Traceback (most recent call last)") <= 2, "tracebacks logged over and over"
    finally:
        await client.aclose()


async def approve_when_back(client: TaskClient, task_id: str) -> None:
    deadline = time.monotonic() + 30
    while (answer := await client.http.post(f"/tasks/{task_id}/approve", timeout=30)).status_code == 503:
        assert time.monotonic() < deadline, answer.text
        await asyncio.sleep(0.5)
    assert answer.status_code == 200, answer.text


async def check_outcome(client: TaskClient, task_id: str, repo: Path, dependency: str) -> None:
    """Completed with the fix, or failed naming `dependency`; events 1..n, nothing twice, nothing lost silently."""
    done = await client.wait_terminal(task_id, 90)
    events = await all_events(client, task_id)
    ids = [m["id"] for m in events]
    assert ids == list(range(1, len(ids) + 1)), ids
    contents = [content(m) for m in events]
    assert len(set(contents)) == len(contents), [c for c in contents if contents.count(c) > 1]
    ends = [m for m in events if m["event"] in END_EVENTS]
    last = ends[-1]
    after_end = [m["event"] for m in events[events.index(last) + 1 :]]
    assert set(after_end) <= {"status", "run_ended"}, after_end  # the service's own closing records only
    run = [m for m in events if m.get("run_id") == events[-1].get("run_id")]
    tools = [m["tool"] for m in run if m["event"] == "tool_call"]
    lost = [m for m in run if m["event"] == "events_lost"]
    assert lost or tools[: len(PROGRAMMER_TOOLS)] == PROGRAMMER_TOOLS[: len(tools)], tools  # nothing lost silently
    if done["status"] == "completed":
        assert "+    return a + b" in done["diff"], done
        assert run_fixture_tests(repo).passed
        assert last["event"] == "finished", last
    else:
        assert done["status"] == "failed", done
        assert dependency in done["reason"], done
        assert last["event"] == "failed" and dependency in last["reason"], last


async def test_redis_restart_mid_task(server, deps, new_repo):
    _, redis = deps
    await restart_mid_task(server, new_repo, redis.stop, redis.start, "redis", REDIS_OUTAGE)


async def test_postgres_restart_mid_task(server, deps, new_repo):
    postgres, _ = deps
    await restart_mid_task(
        server, new_repo, lambda: postgres.stop(fast=True), postgres.start, "postgres", POSTGRES_OUTAGE
    )
