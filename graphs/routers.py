"""Pure routing functions: state in, the name of the next node out. No I/O, no settings: nodes record what routers need."""

from __future__ import annotations

from typing import Literal

from langgraph.graph import END

from agent.contract import TaskStatus
from agent.nodes.common import is_over, last_ai
from agent.state import AgentState
from agent.tools.workflow import current_item


def _wants_tools(messages: list) -> bool:  # type: ignore[type-arg]
    reply = last_ai(messages)
    return bool(reply and (reply.tool_calls or reply.invalid_tool_calls))


def after_setup(state: AgentState) -> Literal["continue", "__end__"]:
    return END if is_over(state) else "continue"


# ---------------------------------------------------------------- planner


def planner_after_agent(state: AgentState) -> Literal["tools", "nudge", "__end__"]:
    if is_over(state):
        return END
    return "tools" if _wants_tools(state.get("planner_messages") or []) else "nudge"


def planner_after_tools(state: AgentState) -> Literal["finish", "agent", "__end__"]:
    if is_over(state):
        return END
    return "finish" if state.get("planner_done") else "agent"


def after_plan_ready(state: AgentState) -> Literal["approval", "__end__"]:
    return END if is_over(state) else "approval"


def after_approval(state: AgentState) -> Literal["agent", "__end__"]:
    return "agent" if state.get("status") == TaskStatus.PLANNING else END


# ---------------------------------------------------------------- programmer


def programmer_after_start(state: AgentState) -> Literal["agent", "finish", "__end__"]:
    if is_over(state):
        return END
    return "agent" if current_item(state.get("plan") or []) else "finish"


def programmer_after_agent(state: AgentState) -> Literal["tools", "nudge", "__end__"]:
    if is_over(state):
        return END
    return "tools" if _wants_tools(state.get("programmer_messages") or []) else "nudge"


def programmer_after_tools(state: AgentState) -> Literal["ask_human", "diagnose", "finish", "agent", "__end__"]:
    if is_over(state):
        return END
    if state.get("pending_question"):
        return "ask_human"
    if state.get("needs_diagnosis"):
        return "diagnose"
    return "agent" if current_item(state.get("plan") or []) else "finish"


def continue_unless_over(state: AgentState) -> Literal["agent", "__end__"]:
    return END if is_over(state) else "agent"


# ---------------------------------------------------------------- reviewer


def reviewer_after_agent(state: AgentState) -> Literal["tools", "nudge", "__end__"]:
    if is_over(state):
        return END
    return "tools" if _wants_tools(state.get("reviewer_messages") or []) else "nudge"


def reviewer_after_tools(state: AgentState) -> Literal["agent", "__end__"]:
    if is_over(state) or state.get("review_verdict"):
        return END
    return "agent"


# ---------------------------------------------------------------- manager


def manager_after_route(state: AgentState) -> Literal["start_task", "follow_up", "answer", "__end__"]:
    route = state.get("route")
    return {"new_task": "start_task", "follow_up": "follow_up", "answer": "answer"}.get(route or "", END)  # type: ignore[return-value]


def manager_after_planner(state: AgentState) -> Literal["programmer", "finish"]:
    return "finish" if is_over(state) else "programmer"


def manager_after_programmer(state: AgentState) -> Literal["reviewer", "finish"]:
    return "finish" if is_over(state) or state.get("status") == TaskStatus.AWAITING_ANSWER else "reviewer"


def manager_after_reviewer(state: AgentState) -> Literal["programmer", "finish"]:
    if not is_over(state) and state.get("review_verdict") == "changes_requested":
        return "programmer"
    return "finish"
