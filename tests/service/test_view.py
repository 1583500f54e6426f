"""How a task's status, pending input and result are read from its LangGraph thread."""

from __future__ import annotations

from agent.http.view import derive_status, pending_input, task_view

PLAN = [{"index": 0, "description": "fix", "status": "pending", "summary": ""}]


def thread(status: str = "idle", values: dict | None = None, interrupts: dict | None = None, **metadata) -> dict:
    return {
        "thread_id": "01a20c6f-2e3c-77a0-a46d-b4a1f96a846f",
        "status": status,
        "values": values or {},
        "interrupts": interrupts or {},
        "metadata": {"task": "fix it", "repo": "/r", **metadata},
    }


def test_plan_approval_and_question_interrupts_are_pending_input():
    approval = thread(
        "interrupted", {"status": "awaiting_approval"}, {"t": [{"value": {"type": "plan_approval", "plan": PLAN}}]}
    )
    question = thread(
        "interrupted", {"status": "awaiting_answer"}, {"t": [{"value": {"type": "question", "question": "Which?"}}]}
    )
    approval_input, question_input = pending_input(approval), pending_input(question)
    assert approval_input is not None and approval_input.plan == PLAN
    assert derive_status(approval, approval_input) == "awaiting_approval"
    assert question_input is not None and question_input.question == "Which?"
    assert derive_status(question, question_input) == "awaiting_answer"
    assert pending_input(thread("idle", interrupts={"t": [{"value": {"type": "question"}}]})) is None


def test_status_comes_from_state_with_cancel_error_and_queue_cases():
    assert derive_status(thread("busy"), None) == "queued"
    assert derive_status(thread("busy", {"status": "programming"}), None) == "programming"
    assert derive_status(thread("busy", {"status": "awaiting_approval"}), None) == "planning"  # answered, resuming
    assert derive_status(thread("error", {"status": "programming"}), None) == "failed"
    assert derive_status(thread("idle", {"status": "completed"}, cancelled=True), None) == "cancelled"


def test_view_carries_the_result():
    view = task_view(
        thread(
            "idle",
            {
                "status": "completed",
                "diff": "d",
                "branch": "b",
                "plan": PLAN,
                "usage": {"total": {"total_tokens": 3}},
                "task": "fix it",
            },
        ),
        last_event_id=7,
    )
    assert (view.status, view.diff, view.branch, view.last_event_id) == ("completed", "d", "b", 7)
    assert view.links.events.endswith("/events") and view.plan == PLAN and view.repo == "/r"
