"""The service's end-to-end suite (tests/service) against the production runtime: Aegra on a real PostgreSQL and a
real Redis, with the scripted model. The tests are the same functions as on `langgraph dev`, collected here again
with this directory's `service` fixture."""

from __future__ import annotations

import pytest

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
