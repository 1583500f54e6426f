"""Auth refusals, owner isolation (REST, websocket and the plain LangGraph API) and bad input, against a real server."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import websockets
from langgraph_sdk import get_client

from tests.service.conftest import ALICE_KEY, BOB_KEY
from tests.service.taskclient import TaskClient, next_message
from tests.support.fixture_repo import FIXTURE_TASK

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture
async def alice(service):
    client = TaskClient(service.url, ALICE_KEY)
    yield client
    await client.aclose()


@pytest.fixture
async def bob(service):
    client = TaskClient(service.url, BOB_KEY)
    yield client
    await client.aclose()


@pytest.fixture
async def alice_task(alice, new_repo) -> str:
    task_id = (await alice.create(FIXTURE_TASK, str(new_repo().path)))["id"]
    await alice.wait_for(task_id, lambda v: v["status"] == "awaiting_approval")
    return task_id


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "missing API key"),
        ({"x-api-key": "osk_not_a_real_key"}, "invalid API key"),
        ({"Authorization": "Bearer osk_not_a_real_key"}, "invalid API key"),
        ({"x-auth-scheme": "langsmith"}, "missing API key"),  # no Studio bypass
    ],
)
async def test_requests_without_a_valid_key_are_refused(service, headers, detail):
    async with httpx.AsyncClient(base_url=service.url, headers=headers) as client:
        for method, path in (("GET", "/tasks"), ("POST", "/tasks"), ("POST", "/threads/search"), ("POST", "/threads")):
            response = await client.request(method, path, json={})
            assert response.status_code == 401, (method, path, response.text)
            assert detail in response.json()["detail"]


async def test_health_is_open_and_bearer_keys_work(service):
    async with httpx.AsyncClient(base_url=service.url) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        bearer = await client.get("/tasks", headers={"Authorization": f"Bearer {ALICE_KEY}"})
    assert bearer.status_code == 200


async def test_websocket_refuses_a_bad_key(service, alice_task):
    url = service.url.replace("http://", "ws://") + f"/tasks/{alice_task}/events"
    try:
        async with websockets.connect(url, additional_headers={"x-api-key": "osk_wrong"}) as ws:
            message = await next_message(ws)
            pytest.fail(f"a bad key got a websocket message: {message}")
    except websockets.InvalidStatus as exc:
        assert exc.response.status_code in (401, 403)
    except websockets.ConnectionClosed as exc:
        assert exc.rcvd is not None and exc.rcvd.code in (1008, 4401)


async def test_another_key_can_neither_see_nor_touch_a_task(alice, bob, alice_task):
    assert alice_task not in {t["id"] for t in (await bob.http.get("/tasks")).json()["tasks"]}
    for method, path, body in (
        ("GET", f"/tasks/{alice_task}", None),
        ("POST", f"/tasks/{alice_task}/approve", None),
        ("POST", f"/tasks/{alice_task}/reject", None),
        ("POST", f"/tasks/{alice_task}/messages", {"message": "hi"}),
        ("DELETE", f"/tasks/{alice_task}", None),
    ):
        response = await bob.http.request(method, path, json=body)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["detail"] == "task not found"
    async with await bob.connect(alice_task) as ws:
        message = await next_message(ws)
    assert message == {"type": "error", "status": 404, "detail": "task not found"}
    assert (await alice.get(alice_task))["status"] == "awaiting_approval"  # untouched


async def test_threads_and_runs_of_the_langgraph_api_are_isolated_by_owner(service, alice_task):
    alice_sdk = get_client(url=service.url, api_key=ALICE_KEY)
    bob_sdk = get_client(url=service.url, api_key=BOB_KEY)
    assert alice_task in {t["thread_id"] for t in await alice_sdk.threads.search(limit=100)}
    assert alice_task not in {t["thread_id"] for t in await bob_sdk.threads.search(limit=100)}
    for call in (
        bob_sdk.threads.get(alice_task),
        bob_sdk.threads.get_state(alice_task),
        bob_sdk.runs.create(alice_task, "agent", command={"resume": {"type": "accept"}}),
        bob_sdk.threads.update(alice_task, metadata={"owner": "bob"}),
        bob_sdk.threads.delete(alice_task),
    ):
        with pytest.raises(httpx.HTTPStatusError) as refused:
            await call
        assert refused.value.response.status_code in (403, 404)
    bob_thread = await bob_sdk.threads.create(metadata={"owner": "alice"})  # cannot claim another owner
    assert (bob_thread["metadata"] or {}).get("owner") == "bob"
    assistants = await bob_sdk.assistants.search(graph_id="agent")
    assert assistants, "the graphs' assistants are readable by every key"


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ("{not json", 422, "JSON"),
        ({"repo": "/tmp"}, 422, "task"),
        ({"task": "", "repo": "/tmp"}, 422, "task"),
        ({"task": "x", "repo": "relative/path"}, 422, "absolute local path or a git URL"),
        ({"task": "x", "repo": "/does/not/exist/anywhere"}, 422, "does not exist"),
        ({"task": "x", "repo": "/tmp", "sandbox": "docker"}, 422, "sandbox"),
        ({"task": "x", "repo": "/tmp", "unknown_field": 1}, 422, "unknown_field"),
        ({"task": "x", "repo": "/tmp", "max_steps": 0}, 422, "max_steps"),
    ],
)
async def test_invalid_task_requests_get_a_4xx_saying_what_is_wrong(alice, body, status, fragment):
    before = len((await alice.http.get("/tasks")).json()["tasks"])
    if isinstance(body, str):
        response = await alice.http.post("/tasks", content=body, headers={"content-type": "application/json"})
    else:
        response = await alice.http.post("/tasks", json=body)
    assert response.status_code == status, response.text
    assert fragment in json.dumps(response.json())
    assert len((await alice.http.get("/tasks")).json()["tasks"]) == before  # nothing created


async def test_unknown_tasks_and_bad_steps(alice, alice_task):
    for path in ("/tasks/00000000-0000-0000-0000-000000000000", "/tasks/not-a-uuid", "/tasks/../etc/passwd"):
        assert (await alice.http.get(path)).status_code == 404
    bad = await alice.http.post(f"/tasks/{alice_task}/messages", json={"text": "wrong field"})
    assert bad.status_code == 422
    edit = await alice.http.post(f"/tasks/{alice_task}/approve", json={"plan": []})
    assert edit.status_code == 422
    async with await alice.connect(alice_task) as ws:
        await ws.send("{not json")
        await ws.send(json.dumps({"type": "launch"}))
        errors: list[dict[str, Any]] = []
        while len(errors) < 2:
            message = await next_message(ws)
            if message["type"] == "error":
                errors.append(message)
    assert all(
        e["status"] == 400 and "expected approve, edit, reject, message or cancel" in e["detail"] for e in errors
    )
    assert (await alice.get(alice_task))["status"] == "awaiting_approval"


async def test_idempotency_key_returns_the_same_task(alice, new_repo):
    body = {"task": FIXTURE_TASK, "repo": str(new_repo().path)}
    first = await alice.http.post("/tasks", json=body, headers={"Idempotency-Key": "order-17"})
    again = await alice.http.post("/tasks", json=body, headers={"Idempotency-Key": "order-17"})
    other = await alice.http.post("/tasks", json={**body, "task": "another"}, headers={"Idempotency-Key": "order-17"})
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and again.json()["created"] is False
    assert other.status_code == 422 and "Idempotency-Key" in other.json()["detail"]
    ids = [t["id"] for t in (await alice.http.get("/tasks")).json()["tasks"]]
    assert ids.count(first.json()["id"]) == 1
    await alice.http.delete(f"/tasks/{first.json()['id']}")


async def test_openapi_documents_the_task_api(service):
    async with httpx.AsyncClient(base_url=service.url) as client:
        spec = (await client.get("/openapi.json")).json()
    for path in (
        "/tasks",
        "/tasks/{task_id}",
        "/tasks/{task_id}/approve",
        "/tasks/{task_id}/reject",
        "/tasks/{task_id}/messages",
        "/healthz",
        "/readyz",
    ):
        assert path in spec["paths"], path
    assert "CreateTaskRequest" in json.dumps(spec)
