"""The planner: explore read-only, propose a plan, revert stray writes, wait for approval.

`add_planner` wires the planner's nodes into any graph (the manager uses it); `graph` is the planner on its own.
"""

from __future__ import annotations

from collections.abc import Hashable

from langgraph.graph import END, START, StateGraph

from agent.nodes.planner import await_approval, planner_finish, planner_nudge, planner_start, planner_step
from agent.nodes.setup import ensure_workspace
from agent.state import AgentState
from graphs import routers
from graphs.wiring import AgentGraph

ENTRY = "planner_start"


def add_planner(builder: StateGraph, *, done: str, over: str) -> str:
    """Add the planner's nodes; `done` follows an approved plan, `over` a rejected or failed task. Returns the entry."""
    builder.add_node("planner_start", planner_start)
    builder.add_node("planner_step", planner_step)
    builder.add_node("planner_nudge", planner_nudge)
    builder.add_node("planner_finish", planner_finish)
    builder.add_node("planner_approval", await_approval)
    builder.add_conditional_edges(
        "planner_start", routers.continue_unless_over, {"continue": "planner_step", "over": over}
    )
    after_step: dict[Hashable, str] = {
        "finish": "planner_finish",
        "nudge": "planner_nudge",
        "step": "planner_step",
        "over": over,
    }
    builder.add_conditional_edges("planner_step", routers.planner_after_step, after_step)
    builder.add_conditional_edges("planner_nudge", routers.planner_after_step, after_step)
    builder.add_conditional_edges(
        "planner_finish", routers.continue_unless_over, {"continue": "planner_approval", "over": over}
    )
    builder.add_conditional_edges(
        "planner_approval", routers.after_approval, {"step": "planner_step", "done": done, "over": over}
    )
    return ENTRY


def add_setup(builder: StateGraph, entry: str) -> None:
    builder.add_node("setup", ensure_workspace)
    builder.add_edge(START, "setup")
    builder.add_conditional_edges("setup", routers.continue_unless_over, {"continue": entry, "over": END})


def build() -> StateGraph:
    builder = AgentGraph(AgentState)
    add_setup(builder, add_planner(builder, done=END, over=END))
    return builder


graph = build().compile(name="planner")
