"""Pure functions from a LangGraph thread (metadata, values, interrupts) to the task API's view of a task."""

from __future__ import annotations

from typing import Any

from agent.contract import FAILED_STATUSES, TERMINAL_STATUSES, TaskStatus
from agent.http.models import PendingInput, TaskLinks, TaskView, TestsView

QUEUED = "queued"
VIEW_DIFF_CHARS = 200_000
"""The view carries at most this much of the diff (`diff_truncated` says so); GET /tasks/{id}/diff has it whole."""
LOST = "lost"
TERMINAL = frozenset({*TERMINAL_STATUSES, LOST})
_RESUMED = {
    TaskStatus.AWAITING_APPROVAL.value: TaskStatus.PLANNING.value,
    TaskStatus.AWAITING_ANSWER.value: TaskStatus.PROGRAMMING.value,
}


def links(task_id: str) -> TaskLinks:
    base = f"/tasks/{task_id}"
    return TaskLinks(
        self=base,
        events=f"{base}/events",
        approve=f"{base}/approve",
        reject=f"{base}/reject",
        messages=f"{base}/messages",
        diff=f"{base}/diff",
    )


def pending_input(thread: dict[str, Any]) -> PendingInput | None:
    """The human input a thread waits for: its first interrupt with a plan_approval or question payload."""
    if thread.get("status") != "interrupted":
        return None
    for interrupts in (thread.get("interrupts") or {}).values():
        for interrupt in interrupts or ():
            value = interrupt.get("value") if isinstance(interrupt, dict) else None
            if isinstance(value, dict) and value.get("type") == "plan_approval":
                return PendingInput(type="plan_approval", plan=list(value.get("plan") or []))
            if isinstance(value, dict) and value.get("type") == "question":
                return PendingInput(type="question", question=str(value.get("question", "")))
    return None


def derive_status(thread: dict[str, Any], pending: PendingInput | None, *, failure: str | None = None) -> str:
    metadata = thread.get("metadata") or {}
    values = thread.get("values") or {}
    if metadata.get("cancelled"):
        return TaskStatus.CANCELLED.value
    if pending is not None:
        return (TaskStatus.AWAITING_APPROVAL if pending.type == "plan_approval" else TaskStatus.AWAITING_ANSWER).value
    if thread.get("status") == "error" or failure:
        status = values.get("status")
        return status if status in TERMINAL_STATUSES else TaskStatus.FAILED.value
    status = values.get("status") if isinstance(values, dict) else None
    if thread.get("status") == "busy" and status in _RESUMED:
        return _RESUMED[status]  # the human answered; the run that continues has not written its status yet
    if status:
        return str(status)
    return QUEUED


def task_view(thread: dict[str, Any], *, last_event_id: int = 0, failure: str | None = None) -> TaskView:
    task_id = str(thread["thread_id"])
    metadata = thread.get("metadata") or {}
    raw_values = thread.get("values")
    values: dict[str, Any] = raw_values if isinstance(raw_values, dict) else {}
    pending = pending_input(thread)
    status = derive_status(thread, pending, failure=failure)
    # A run that errored after the graph saved a good outcome (its end's bookkeeping failed) keeps that outcome; the
    # error's text is a reason only for a task that failed.
    reason = values.get("reason") or (failure if status in FAILED_STATUSES else None)
    if status == TaskStatus.CANCELLED:
        reason = metadata.get("cancel_reason") or reason
    diff = values.get("diff")
    return TaskView(
        id=task_id,
        status=status,
        task=str(values.get("task") or metadata.get("task") or ""),
        repo=metadata.get("repo"),
        sandbox=values.get("sandbox_backend") or metadata.get("sandbox"),
        auto_approve=bool(metadata.get("auto_approve", False)),
        created_at=str(thread.get("created_at")) if thread.get("created_at") else None,
        updated_at=str(thread.get("updated_at")) if thread.get("updated_at") else None,
        plan=list(values.get("plan") or []),
        pending=pending,
        usage=dict(values.get("usage") or {}),
        diff=diff[:VIEW_DIFF_CHARS] if isinstance(diff, str) else None,
        diff_truncated=isinstance(diff, str) and len(diff) > VIEW_DIFF_CHARS,
        branch=values.get("branch"),
        summary=values.get("summary"),
        reason=reason,
        answer=values.get("answer") or None,
        open_requests=list(values.get("open_requests") or []) if status == TaskStatus.NEEDS_REVIEW else [],
        review_rounds=int(values.get("review_round") or 0),
        tests=tests_view(values),
        last_event_id=last_event_id,
        links=links(task_id),
    )


def tests_view(values: dict[str, Any]) -> TestsView:
    runs = int(values.get("test_runs") or 0)
    last = values.get("last_test_run")
    return TestsView(ran=runs > 0, runs=runs, last=dict(last) if isinstance(last, dict) else None)


def lost_view(task_id: str, created: dict[str, Any], *, last_event_id: int) -> TaskView:
    """A task whose thread the runtime no longer has (the server died before saving it): clearly marked, not hidden."""
    return TaskView(
        id=task_id,
        status=LOST,
        task=str(created.get("task", "")),
        repo=created.get("repo"),
        sandbox=created.get("sandbox"),
        auto_approve=bool(created.get("auto_approve", False)),
        created_at=created.get("created_at"),
        reason="the server stopped before this task's state was saved; its event history is kept, resubmit the task",
        last_event_id=last_event_id,
        links=links(task_id),
    )
