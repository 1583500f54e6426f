"""Pure routing functions: state in, an edge label out. No I/O, no settings: nodes record what routers need.

Labels are role-neutral ("over" = the task ended: failed, limit reached, rejected; "done" = this role finished), so
the same role wiring works standalone (both lead to END) and inside the manager (next role, or `finish`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from langchain_core.messages import AIMessage, AnyMessage

from agent.contract import TaskStatus
from agent.nodes.common import is_over, last_ai
from agent.state import AgentState
from agent.tools.workflow import current_item


def _wants_tools(messages: Sequence[AnyMessage]) -> bool:
    reply = last_ai(messages)
    return bool(reply and (reply.tool_calls or reply.invalid_tool_calls))


def continue_unless_over(state: AgentState) -> Literal["continue", "over"]:
    return "over" if is_over(state) else "continue"


# ---------------------------------------------------------------- planner


def _text_only(messages: Sequence[AnyMessage]) -> bool:
    """The model's latest turn ended without a tool call (the last message is its reply)."""
    return bool(messages) and isinstance(messages[-1], AIMessage) and not _wants_tools(messages)


def planner_after_step(state: AgentState) -> Literal["finish", "nudge", "step", "over"]:
    if is_over(state):
        return "over"
    if state.get("planner_done"):
        return "finish"
    return "nudge" if _text_only(state.get("planner_messages") or []) else "step"


def after_approval(state: AgentState) -> Literal["step", "done", "over"]:
    if is_over(state):
        return "over"
    return "step" if state.get("status") == TaskStatus.PLANNING else "done"


# ---------------------------------------------------------------- programmer


def programmer_after_start(state: AgentState) -> Literal["step", "finish", "over"]:
    if is_over(state):
        return "over"
    return "step" if current_item(state.get("plan") or []) else "finish"


def programmer_after_step(state: AgentState) -> Literal["ask_human", "nudge", "diagnose", "finish", "step", "over"]:
    if is_over(state):
        return "over"
    if state.get("pending_question"):
        return "ask_human"
    if _text_only(state.get("programmer_messages") or []):
        return "nudge"
    if state.get("needs_diagnosis"):
        return "diagnose"
    return "step" if current_item(state.get("plan") or []) else "finish"


def done_unless_over(state: AgentState) -> Literal["done", "over"]:
    return "over" if is_over(state) else "done"


# ---------------------------------------------------------------- reviewer


def reviewer_after_step(state: AgentState) -> Literal["step", "nudge", "changes", "accepted", "over"]:
    if is_over(state):
        return "over"
    verdict = state.get("review_verdict")
    if verdict == "changes_requested":
        return "changes"
    if verdict:
        return "accepted"
    return "nudge" if _text_only(state.get("reviewer_messages") or []) else "step"


# ---------------------------------------------------------------- manager


def manager_after_route(state: AgentState) -> Literal["start_task", "follow_up", "answer", "end"]:
    route = state.get("route") or ""
    return {"new_task": "start_task", "follow_up": "follow_up", "answer": "answer"}.get(route, "end")  # type: ignore[return-value]
