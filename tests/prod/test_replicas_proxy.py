"""Two replicas on Aegra behind a real round-robin proxy (Caddy), sharing one PostgreSQL and one Redis, each with its
own state directory (as on two hosts): whichever replica a request lands on, the task, its websocket (same ids, same
events, live) and its Idempotency-Key are the same; a replica killed mid-run hands its run and its relay to the other
and the websocket shows nothing lost and nothing twice."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.http.relay import ADOPTED_NOTE
from tests.prod.conftest import aegra_env
from tests.prod.test_restart_aegra import FAST_LEASES, slow_programmer
from tests.service.conftest import ALICE_KEY
from tests.service.taskclient import TaskClient, read_until
from tests.support.fixture_repo import FIXTURE_TASK, PLAN, run_fixture_tests
from tests.support.langgraph_server import LangGraphServer, copy_project
from tests.support.proxy import running_proxy
from tests.support.scripted_openai import ScriptedOpenAI

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]
AEGRA = ("--runtime", "aegra")


@pytest.fixture(scope="module")
def slow_model() -> Iterator[ScriptedOpenAI]:
    with ScriptedOpenAI(slow_programmer) as server:
        yield server


def _replica(root: Path, model: ScriptedOpenAI, postgres_url: str, redis_url: str) -> LangGraphServer:
    env = {**aegra_env(model, root / "state", postgres_url, redis_url), **FAST_LEASES}
    server = LangGraphServer(workdir=copy_project(root / "srv"), env=env, args=AEGRA)
    server.start()
    return server


@pytest.fixture
def replicas(slow_model, postgres_url, redis_url, tmp_path) -> Iterator[tuple[LangGraphServer, LangGraphServer, str]]:
    first = _replica(tmp_path / "a", slow_model, postgres_url, redis_url)
    second = _replica(tmp_path / "b", slow_model, postgres_url, redis_url)
    try:
        with running_proxy(tmp_path / "proxy", [first.url, second.url]) as proxy_url:
            yield first, second, proxy_url
    finally:
        first.stop()
        second.stop()


def _ended(message: dict[str, Any]) -> bool:
    """The last event of a completed task: its last run's end, logged after the graph's `finished`."""
    return message.get("event") == "run_ended" and message.get("status") == "completed"


def _events(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if m.get("type") == "event"]


def _assert_whole(events: list[dict[str, Any]]) -> None:
    """Ids 1..n with no gap, and no relayed stream part written twice."""
    assert [e["id"] for e in events] == list(range(1, len(events) + 1)), [(e["id"], e["event"]) for e in events]
    parts = [(e.get("run_id"), e["part"]) for e in events if e.get("part") is not None]
    assert len(parts) == len(set(parts)), parts


async def test_round_robin_create_approve_and_follow_on_either_replica(replicas, new_repo) -> None:
    first, second, proxy_url = replicas
    via_proxy = TaskClient(proxy_url, ALICE_KEY)
    on_a, on_b = TaskClient(first.url, ALICE_KEY), TaskClient(second.url, ALICE_KEY)
    try:
        repo = new_repo()
        key = "create-once-please"
        created = await via_proxy.create(FIXTURE_TASK, str(repo.path), idempotency_key=key)
        again = await via_proxy.create(FIXTURE_TASK, str(repo.path), idempotency_key=key)  # the other replica
        assert again["id"] == created["id"] and again["created"] is False
        task_id = created["id"]
        waiting = await via_proxy.wait_for(task_id, lambda v: v["status"] == "awaiting_approval")
        assert [item["description"] for item in waiting["pending"]["plan"]] == PLAN

        async with await on_a.connect(task_id) as ws_a, await on_b.connect(task_id) as ws_b:
            approved = await via_proxy.http.post(f"/tasks/{task_id}/approve")
            assert approved.status_code == 200, approved.text
            seen_a, seen_b = await asyncio.gather(
                read_until(ws_a, _ended, 180),
                read_until(ws_b, _ended, 180),
            )
        done = await via_proxy.wait_terminal(task_id)
        assert done["status"] == "completed" and "+    return a + b" in done["diff"]
        assert run_fixture_tests(repo.path).passed
        # The same log, live on both replicas, whichever relayed the runs.
        assert _events(seen_a) == _events(seen_b)
        _assert_whole(_events(seen_a))
        kinds = [e["event"] for e in _events(seen_a)]
        assert kinds[0] == "task_created" and kinds.count("task_created") == 1
        assert kinds.count("run_started") == 2 and kinds.count("run_ended") == 2
        # Replay through the proxy (either replica) from an id gives the same tail.
        middle = _events(seen_a)[len(seen_a) // 2]["id"]
        async with await via_proxy.connect(task_id, after=middle) as ws:
            tail = _events(await read_until(ws, _ended, 60))
        assert tail == [e for e in _events(seen_a) if e["id"] > middle]
        views = [(await client.get(task_id)) for client in (on_a, on_b)]
        assert views[0]["last_event_id"] == views[1]["last_event_id"] == _events(seen_a)[-1]["id"]
    finally:
        for client in (via_proxy, on_a, on_b):
            await client.aclose()


@pytest.mark.parametrize("kill_at", ["task_started", "tool_call", "review"])
async def test_kill_9_of_a_replica_mid_run_hands_the_run_to_the_other(replicas, new_repo, kill_at) -> None:
    """Killed while the planner starts, while the programmer works, and after the review (the run about to end)."""
    first, second, _ = replicas
    on_a, on_b = TaskClient(first.url, ALICE_KEY), TaskClient(second.url, ALICE_KEY)
    try:
        repo = new_repo()
        task_id = (await on_a.create(FIXTURE_TASK, str(repo.path), auto_approve=True))["id"]  # one run, relayed by A
        async with await on_b.connect(task_id) as ws_b:
            before_kill = _events(await read_until(ws_b, lambda m: m.get("event") == kill_at, 120))
            first.kill_hard()
            after_kill = _events(await read_until(ws_b, _ended, 240))
        done = await on_b.wait_terminal(task_id, 120)
        assert done["status"] == "completed" and "+    return a + b" in done["diff"], done
        assert run_fixture_tests(repo.path).passed
        async with await on_b.connect(task_id) as ws:
            replayed = _events(await read_until(ws, _ended, 60))
        live = before_kill + after_kill
        assert replayed == live  # what the websocket showed live is the whole log, in order
        _assert_whole(replayed)
        kinds = [e["event"] for e in replayed]
        assert kinds.count("service_restarted") == 1
        assert next(e for e in replayed if e["event"] == "service_restarted")["note"] == ADOPTED_NOTE
        assert kinds.count("finished") == 1 and kinds.count("run_ended") == 1 and kinds.count("task_created") == 1
    finally:
        await on_a.aclose()
        await on_b.aclose()


async def test_a_websocket_step_on_one_replica_acts_on_a_run_relayed_by_the_other(replicas, new_repo) -> None:
    first, second, _ = replicas
    on_a, on_b = TaskClient(first.url, ALICE_KEY), TaskClient(second.url, ALICE_KEY)
    try:
        repo = new_repo()
        task_id = (await on_a.create(FIXTURE_TASK, str(repo.path)))["id"]
        async with await on_b.connect(task_id) as ws:
            await read_until(ws, lambda m: m.get("event") == "plan_proposed", 120)
            await read_until(ws, lambda m: m.get("event") == "run_ended", 60)
            await ws.send(json.dumps({"type": "approve"}))
            messages = await read_until(ws, lambda m: m.get("event") == "finished", 180)
        ack = next(m for m in messages if m.get("type") == "ack")
        assert ack["action"] == "approve"
        assert (await on_a.get(task_id))["status"] == "completed"
    finally:
        await on_a.aclose()
        await on_b.aclose()
