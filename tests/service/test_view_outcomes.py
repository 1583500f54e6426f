"""The task view and the event log tell outcomes apart: `answered` and `needs_review` are never reported as failures;
the answer, the reviewer's open requests and the project's test runs are in the view; a large diff is cut in the view
(whole at GET /tasks/{id}/diff)."""

from __future__ import annotations

from typing import Any

import pytest

from agent.http.relay import end_event
from agent.http.view import VIEW_DIFF_CHARS, task_view

TASK_ID = "6f0c7f62-1b1e-4f43-9a59-4f7ad0d2c7a1"


def thread(status: str, values: dict[str, Any]) -> dict[str, Any]:
    return {"thread_id": TASK_ID, "status": status, "metadata": {"task": "t"}, "values": values}


@pytest.mark.parametrize(
    ("status", "event"),
    [
        ("completed", "finished"),
        ("needs_review", "finished"),
        ("answered", "finished"),
        ("failed", "failed"),
        ("limit_reached", "failed"),
        ("rejected", "failed"),
        ("cancelled", "failed"),
    ],
)
def test_only_failures_end_with_a_failed_event(status: str, event: str) -> None:
    assert end_event(status) == event


def test_an_answered_message_shows_its_answer_and_is_not_failed() -> None:
    values = {"status": "answered", "answer": "I edit code.", "summary": "I edit code."}
    for run_status in ("idle", "error"):
        view = task_view(thread(run_status, values), failure="boom" if run_status == "error" else None)
        assert (view.status, view.answer, view.summary) == ("answered", "I edit code.", "I edit code.")


def test_needs_review_lists_the_open_requests_and_the_last_test_run() -> None:
    last = {
        "command": "pytest",
        "exit_code": 1,
        "framework": "pytest",
        "passed": 3,
        "failed": 1,
        "errors": 0,
        "skipped": 0,
        "total": 4,
        "summary": "1 failed, 3 passed in 0.1s",
        "ok": False,
    }
    values = {
        "status": "needs_review",
        "open_requests": ["Handle None"],
        "review_round": 2,
        "test_runs": 4,
        "last_test_run": last,
    }
    view = task_view(thread("idle", values))
    assert view.status == "needs_review" and view.open_requests == ["Handle None"] and view.review_rounds == 2
    assert view.tests.ran is True and view.tests.runs == 4 and view.tests.last == last
    fresh = task_view(thread("busy", {"status": "planning"}))
    assert fresh.tests.ran is False and fresh.tests.last is None and fresh.open_requests == []


def test_a_large_diff_is_cut_in_the_view_and_linked_whole() -> None:
    diff = "+x\n" * (VIEW_DIFF_CHARS // 2)
    view = task_view(thread("idle", {"status": "completed", "diff": diff}))
    assert view.diff == diff[:VIEW_DIFF_CHARS] and view.diff_truncated is True
    assert view.links.diff == f"/tasks/{TASK_ID}/diff"
    small = task_view(thread("idle", {"status": "completed", "diff": "+x\n"}))
    assert small.diff == "+x\n" and small.diff_truncated is False


def test_a_run_error_after_a_saved_good_outcome_keeps_it_without_a_failure_reason() -> None:
    values = {"status": "completed", "summary": "fixed", "diff": "+x"}
    view = task_view(thread("error", values), failure="postgres is unavailable")
    assert (view.status, view.reason, view.summary) == ("completed", None, "fixed")
    failed = task_view(thread("error", {"status": "programming"}), failure="postgres is unavailable")
    assert (failed.status, failed.reason) == ("failed", "postgres is unavailable")
