"""The contract between the graphs and everything that drives them (the service's REST/websocket API, the CLI).

- `TaskStatus`: where a task stands, as stored in the graph state's `status`.
- Interrupt payloads the graphs raise with `interrupt(...)`, and the resume values they accept (agent/hitl.py).
- Task events the graphs emit on LangGraph's `custom` stream (`get_stream_writer()`), relayed to websocket clients.

Keeping these in one small module lets the graphs and the service evolve independently.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal, TypedDict


class TaskStatus(StrEnum):
    PLANNING = "planning"
    AWAITING_APPROVAL = "awaiting_approval"
    PROGRAMMING = "programming"
    AWAITING_ANSWER = "awaiting_answer"
    REVIEWING = "reviewing"
    COMPLETED = "completed"
    FAILED = "failed"
    LIMIT_REACHED = "limit_reached"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    ANSWERED = "answered"
    """The manager answered the message directly; no task was started."""
    NEEDS_REVIEW = "needs_review"
    """The work ended with the reviewer's requests still open: the review rounds (MAX_REVIEW_ROUNDS) ran out."""


TERMINAL_STATUSES = frozenset(
    {
        TaskStatus.COMPLETED,
        TaskStatus.FAILED,
        TaskStatus.LIMIT_REACHED,
        TaskStatus.REJECTED,
        TaskStatus.CANCELLED,
        TaskStatus.ANSWERED,
        TaskStatus.NEEDS_REVIEW,
    }
)
FAILED_STATUSES = frozenset({TaskStatus.FAILED, TaskStatus.LIMIT_REACHED, TaskStatus.REJECTED, TaskStatus.CANCELLED})
"""Terminal statuses that mean the task did not get done: reported with a `failed` event; the others with `finished`."""


class PlanItem(TypedDict):
    index: int
    description: str
    status: Literal["pending", "in_progress", "done", "skipped"]
    summary: str


# ---------------------------------------------------------------- interrupts and resume values
# The plan approval and the programmer's questions are interrupts in LangChain's human-in-the-loop format
# ({"action_requests", "review_configs"} plus "type": "plan_approval" | "question"), resumed with
# {"decisions": [{"type": "approve" | "edit" | "reject", ...}]}: agent/hitl.py builds and parses them.


# ---------------------------------------------------------------- custom stream events (graph -> observers)


class EventType(StrEnum):
    TASK_STARTED = "task_started"
    PLAN_PROPOSED = "plan_proposed"
    PLAN_APPROVED = "plan_approved"
    ITEM_STARTED = "item_started"
    ITEM_COMPLETED = "item_completed"
    TOOL_CALL = "tool_call"
    """{"tool": name, "args": {...}, "call_id": str}"""
    TOOL_OUTPUT = "tool_output"
    """{"call_id": str, "chunk": str}: a command's output as it streams, coalesced (about every 100 ms or 8 KB)."""
    TEST_RUN = "test_run"
    """{"call_id", "command", "exit_code", "framework", "passed", "failed", ...}: a run of the project's tests."""
    TOOL_RESULT = "tool_result"
    """{"call_id": str, "ok": bool, "output": str (capped)}"""
    DIFF_UPDATED = "diff_updated"
    QUESTION_ASKED = "question_asked"
    REVIEW = "review"
    FINISHED = "finished"
    """{"status": "completed" | "needs_review" | "answered", "summary": str}: the task ended without failing
    (`needs_review`: + `open_requests`; `answered`: `summary` is the reply)."""
    FAILED = "failed"
    """{"status": TaskStatus, "reason": str}"""


def event(kind: EventType, **data: Any) -> dict[str, Any]:
    """The payload a graph writes with `get_stream_writer()(event(...))`."""
    return {"event": kind.value, **data}
