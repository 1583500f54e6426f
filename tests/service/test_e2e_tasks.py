"""End to end against a real `langgraph dev` with the scripted model: a task over REST followed on the
websocket, plan approval, the finished diff; the same through `langgraph_sdk`; feedback, cancel, metrics, logs."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client

from tests.service.conftest import ALICE_KEY, MODEL_KEY
from tests.service.taskclient import TaskClient, read_until
from tests.support.fixture_repo import ASK_MARKER, FIXTURE_TASK, PLAN, QUESTION, run_fixture_tests

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture
async def alice(service):
    client = TaskClient(service.url, ALICE_KEY)
    yield client
    await client.aclose()


def kinds(messages: list[dict]) -> list[str]:
    return [m["event"] for m in messages if m.get("type") == "event"]


async def test_task_over_rest_and_websocket_from_plan_to_diff(alice, new_repo):
    repo = new_repo()
    created = await alice.create(FIXTURE_TASK, str(repo.path))
    assert created["created"] is True and created["links"]["events"] == f"/tasks/{created['id']}/events"
    task_id = created["id"]

    async with await alice.connect(task_id) as ws:
        before = await read_until(ws, lambda m: m.get("event") == "plan_proposed")
        assert kinds(before)[0] == "task_created" and "task_started" in kinds(before)
        await ws.send(json.dumps({"type": "approve"}))
        rest = await read_until(ws, lambda m: m.get("event") == "run_ended" and m.get("status") == "completed", 180)
    events = kinds(before + rest)
    ack = next(m for m in rest if m.get("type") == "ack")
    assert ack["action"] == "approve"
    for expected in ("plan_approved", "item_started", "tool_call", "tool_output", "diff_updated", "finished"):
        assert expected in events, f"{expected} missing from {events}"
    ids = [m["id"] for m in before + rest if m.get("type") == "event"]
    assert ids == sorted(ids) and len(ids) == len(set(ids))

    view = await alice.get(task_id)
    assert view["status"] == "completed"
    assert "+    return a + b" in view["diff"]
    assert view["branch"] and view["pending"] is None
    assert [item["description"] for item in view["plan"]] == PLAN
    assert view["usage"]["total"]["total_tokens"] > 0
    assert run_fixture_tests(repo.path).passed

    # Reconnect and resume after a given event id: exactly the later events, in order.
    middle = ids[len(ids) // 2]
    async with await alice.connect(task_id, after=middle) as ws:
        replay = await read_until(ws, lambda m: m.get("id") == ids[-1])
    assert [m["id"] for m in replay] == [i for i in ids if i > middle]


async def test_plan_approval_over_rest_and_listing(alice, new_repo):
    repo = new_repo()
    task_id = (await alice.create(FIXTURE_TASK, str(repo.path)))["id"]
    view = await alice.wait_for(task_id, lambda v: v["status"] == "awaiting_approval")
    assert view["pending"]["type"] == "plan_approval"
    assert [item["description"] for item in view["pending"]["plan"]] == PLAN

    response = await alice.http.post(f"/tasks/{task_id}/approve")
    assert response.status_code == 200, response.text
    assert response.json()["action"] == "approve"
    done = await alice.wait_terminal(task_id)
    assert done["status"] == "completed" and "return a + b" in done["diff"]

    listed = (await alice.http.get("/tasks")).json()["tasks"]
    assert task_id in {t["id"] for t in listed}


async def test_plan_feedback_message_then_reject(alice, new_repo):
    task_id = (await alice.create(FIXTURE_TASK, str(new_repo().path)))["id"]
    first = await alice.wait_for(task_id, lambda v: v["status"] == "awaiting_approval")
    response = await alice.http.post(f"/tasks/{task_id}/messages", json={"message": "Also keep mul untouched."})
    assert response.status_code == 200 and response.json()["action"] == "plan_feedback"
    async with await alice.connect(task_id, after=first["last_event_id"]) as ws:
        replanned = await read_until(ws, lambda m: m.get("event") == "run_ended")
    assert "plan_proposed" in kinds(replanned) and replanned[-1]["status"] == "awaiting_approval"
    view = await alice.get(task_id)
    assert view["pending"]["type"] == "plan_approval"

    response = await alice.http.post(f"/tasks/{task_id}/reject")
    assert response.status_code == 200, response.text
    assert (await alice.wait_terminal(task_id))["status"] == "rejected"
    refused = await alice.http.post(f"/tasks/{task_id}/approve")
    assert refused.status_code == 409 and "not awaiting plan approval" in refused.json()["detail"]


async def test_question_is_pending_then_answered_by_message(alice, new_repo):
    task_id = (await alice.create(f"{FIXTURE_TASK} {ASK_MARKER}", str(new_repo().path), auto_approve=True))["id"]
    view = await alice.wait_for(task_id, lambda v: v["status"] == "awaiting_answer")
    assert view["pending"] == {"type": "question", "question": QUESTION, "plan": None}
    async with await alice.connect(task_id) as ws:
        asked = await read_until(ws, lambda m: m.get("event") == "question_asked")
        assert asked[-1]["question"] == QUESTION
        await ws.send(json.dumps({"type": "message", "message": "Yes, leave mul alone."}))
        rest = await read_until(ws, lambda m: m.get("event") == "run_ended" and m.get("status") == "completed", 180)
    ack = next(m for m in rest if m.get("type") == "ack")
    assert ack["result"]["action"] == "answer"
    assert "return a + b" in (await alice.get(task_id))["diff"]


async def test_cancel_releases_the_sandbox_and_refuses_later_steps(alice, new_repo):
    task_id = (await alice.create(FIXTURE_TASK, str(new_repo().path)))["id"]
    await alice.wait_for(task_id, lambda v: v["status"] == "awaiting_approval")
    response = await alice.http.delete(f"/tasks/{task_id}")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    view = await alice.get(task_id)
    assert view["status"] == "cancelled" and view["reason"] == "cancelled by its owner"
    async with await alice.connect(task_id) as ws:
        events = await read_until(ws, lambda m: m.get("status") == "cancelled" and m.get("event") == "failed")
    assert events[-1]["sandbox_released"] is True
    assert (await alice.http.post(f"/tasks/{task_id}/approve")).status_code == 409
    assert (await alice.http.post(f"/tasks/{task_id}/messages", json={"message": "go on"})).status_code == 409
    assert (await alice.http.delete(f"/tasks/{task_id}")).json()["status"] == "cancelled"  # idempotent


async def test_same_task_through_langgraph_sdk(service, new_repo):
    repo = new_repo()
    client = get_client(url=service.url, api_key=ALICE_KEY)
    thread = await client.threads.create(metadata={"purpose": "sdk"})
    assert (thread["metadata"] or {}).get("owner") == "alice"
    parts = []
    task_input: dict[str, Any] = {"messages": [{"role": "user", "content": FIXTURE_TASK}], "repo": str(repo.path)}
    async for part in client.runs.stream(
        thread["thread_id"], "agent", stream_mode=["custom", "updates"], input=task_input
    ):
        parts.append(part)
    assert any(p.event == "custom" and p.data.get("event") == "plan_proposed" for p in parts)
    state = await client.threads.get_state(thread["thread_id"])
    assert state["tasks"][0]["interrupts"][0]["value"]["type"] == "plan_approval"

    result = await client.runs.wait(thread["thread_id"], "agent", command={"resume": {"type": "accept"}})
    assert isinstance(result, dict) and result["status"] == "completed" and "return a + b" in result["diff"]
    assert run_fixture_tests(repo.path).passed


async def test_metrics_readiness_and_no_secret_in_logs(service, alice, new_repo):
    await test_plan_approval_over_rest_and_listing(alice, new_repo)
    async with httpx.AsyncClient(base_url=service.url) as anonymous:
        metrics = (await anonymous.get("/metrics")).text
        ready = await anonymous.get("/readyz")
    assert "open_swe_tasks_created_total" in metrics
    assert 'open_swe_tool_calls_total{tool="shell"}' in metrics
    assert 'open_swe_tasks{state="completed"}' in metrics
    assert "open_swe_tokens_total" in metrics
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["model"]["ok"] is True
    log = service.log_text()
    assert '"task_id"' in log  # structured lines name their task
    assert MODEL_KEY not in log and ALICE_KEY not in log
