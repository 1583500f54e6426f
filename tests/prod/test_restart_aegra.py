"""kill -9 of the service on Aegra while the programmer works, then a restart on the same Postgres, Redis and state
directory: the run's lease expires and Aegra resumes it from its last checkpoint; the relay lease of the killed process
lapses and the new one adopts it (marking the restart), rejoins the run's stream after the last part logged, and the
task completes with the fix, no second approval, nothing on the websocket lost or written twice."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from agent.http.relay import ADOPTED_NOTE
from tests.prod.conftest import aegra_env
from tests.service.conftest import ALICE_KEY
from tests.service.taskclient import TaskClient, read_until
from tests.support.fixture_repo import FIXTURE_TASK, fix_bug_policy, run_fixture_tests
from tests.support.langgraph_server import LangGraphServer, copy_project
from tests.support.scripted_openai import ChatRequest, Reply, ScriptedOpenAI

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]

FAST_LEASES = {
    "LEASE_DURATION_SECONDS": "5",
    "HEARTBEAT_INTERVAL_SECONDS": "2",
    "REAPER_INTERVAL_SECONDS": "2",
    "RELAY_LEASE_SECONDS": "3",
}
"""Aegra's defaults (30 s lease, 15 s reaper) and the service's relay lease (15 s) made short so a dead replica's run
and its relay are picked up quickly."""


def slow_programmer(request: ChatRequest) -> Reply:
    if request.role == "programmer":
        time.sleep(1.5)
    return fix_bug_policy(request)


@pytest.fixture(scope="module")
def slow_model() -> Iterator[ScriptedOpenAI]:
    with ScriptedOpenAI(slow_programmer) as server:
        yield server


@pytest.fixture
def server(slow_model, postgres_url, redis_url, tmp_path) -> Iterator[LangGraphServer]:
    env = {**aegra_env(slow_model, tmp_path / "state", postgres_url, redis_url), **FAST_LEASES}
    server = LangGraphServer(workdir=copy_project(tmp_path / "srv"), env=env, args=("--runtime", "aegra"))
    server.start()
    yield server
    server.stop()


async def test_kill_9_mid_run_resumes_on_restart_and_completes(server, new_repo):
    repo = new_repo()
    client = TaskClient(server.url, ALICE_KEY)
    task_id = (await client.create(FIXTURE_TASK, str(repo.path)))["id"]
    await client.wait_for(task_id, lambda v: v["status"] == "awaiting_approval")
    async with await client.connect(task_id) as ws:
        await read_until(ws, lambda m: m.get("event") == "run_ended")
        await ws.send(json.dumps({"type": "approve"}))
        history = await read_until(ws, lambda m: m.get("event") == "tool_call", 120)
    server.kill_hard()
    await client.aclose()
    before_kill = [m for m in history if m.get("type") == "event"]

    server.start()
    client = TaskClient(server.url, ALICE_KEY)
    try:
        done = await client.wait_terminal(task_id, 240)
        assert done["status"] == "completed" and "+    return a + b" in done["diff"], done
        assert run_fixture_tests(repo.path).passed
        async with await client.connect(task_id) as ws:
            events = [
                m for m in await read_until(ws, lambda m: m.get("event") == "finished", 60) if m.get("type") == "event"
            ]
        by_id = {m["id"]: m for m in events}
        for event in before_kill:  # nothing seen before the kill is lost or changed
            assert by_id.get(event["id"]) == event
        marker = next(m for m in events if m["event"] == "service_restarted")
        assert marker["note"] == ADOPTED_NOTE
        ids = [m["id"] for m in events]
        assert ids == sorted(set(ids))
        run_id = before_kill[-1]["run_id"]
        # Counted after the last event seen before the kill, not after the restart marker: in one CI run the marker had
        # a lower id than events the websocket had shown before the kill (not yet explained; see the README).
        after = [m for m in events if m["id"] > before_kill[-1]["id"] and m.get("run_id") == run_id]
        # The replay of the run's stream (it starts with the run's first part, `run_executing`) is not written again;
        # parts the killed process had not logged yet may come first, then the resumed execution.
        assert [m["event"] for m in after].count("run_executing") == 1, [
            (m["id"], m["event"], m.get("run_id")) for m in events
        ]
    finally:
        await client.aclose()
