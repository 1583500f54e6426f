"""The service's end-to-end suite (tests/service) against the production runtime: Aegra on a real PostgreSQL and a
real Redis, with the scripted model. The tests are the same functions as on `langgraph dev`, collected here again
with this directory's `service` fixture, plus what only this runtime needs checked."""

from __future__ import annotations

import pytest
import websockets

from tests.service.conftest import ALICE_KEY
from tests.service.taskclient import TaskClient, next_message
from tests.service.test_e2e_auth import (
    alice_task,
    bob,
    test_another_key_can_neither_see_nor_touch_a_task,
    test_health_is_open_and_bearer_keys_work,
    test_requests_without_a_valid_key_are_refused,
    test_threads_and_runs_of_the_langgraph_api_are_isolated_by_owner,
    test_websocket_refuses_a_bad_key,
)
from tests.service.test_e2e_tasks import (
    alice,
    test_plan_approval_over_rest_and_listing,
    test_question_is_pending_then_answered_by_message,
    test_same_task_through_langgraph_sdk,
    test_task_over_rest_and_websocket_from_plan_to_diff,
)
from tests.support.fixture_repo import FIXTURE_TASK

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

__all__ = [
    "alice",
    "alice_task",
    "bob",
    "test_another_key_can_neither_see_nor_touch_a_task",
    "test_health_is_open_and_bearer_keys_work",
    "test_plan_approval_over_rest_and_listing",
    "test_question_is_pending_then_answered_by_message",
    "test_requests_without_a_valid_key_are_refused",
    "test_same_task_through_langgraph_sdk",
    "test_task_over_rest_and_websocket_from_plan_to_diff",
    "test_threads_and_runs_of_the_langgraph_api_are_isolated_by_owner",
    "test_websocket_refuses_a_bad_key",
]


# On Aegra the websocket is authenticated at the handshake by the same handler (service/aegra/asgi.py): a browser's
# ticket opens its task's events once and is refused the second time.
async def test_a_ticket_opens_the_events_socket_once(service, new_repo) -> None:
    alice = TaskClient(service.url, ALICE_KEY)
    try:
        task_id = (await alice.create(FIXTURE_TASK, str(new_repo().path)))["id"]
        issued = await alice.http.post(f"/tasks/{task_id}/events/ticket")
        assert issued.status_code == 200, issued.text
        protocols = issued.json()["protocols"]
        url = alice.ws_url(task_id)
        async with websockets.connect(url, subprotocols=protocols) as ws:
            assert ws.subprotocol == "open-swe"
            first = await next_message(ws)
        assert first["type"] == "event" and first["event"] == "task_created"
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(url, subprotocols=protocols):
                pass
        assert refused.value.response.status_code == 403
    finally:
        await alice.aclose()
