"""The reviewer: review the diff against the base commit, run checks, accept or send new plan items back.

`add_reviewer` wires its nodes into any graph (the manager uses it); `graph` is the reviewer on its own.
"""

from __future__ import annotations

from collections.abc import Hashable

from langgraph.graph import END, StateGraph

from agent.nodes.reviewer import reviewer_nudge, reviewer_start, reviewer_step
from agent.state import AgentState
from graphs import routers
from graphs.planner import add_setup
from graphs.wiring import AgentGraph

ENTRY = "reviewer_start"


def add_reviewer(builder: StateGraph, *, accepted: str, changes: str, over: str) -> str:
    builder.add_node("reviewer_start", reviewer_start)
    builder.add_node("reviewer_step", reviewer_step)
    builder.add_node("reviewer_nudge", reviewer_nudge)
    builder.add_conditional_edges(
        "reviewer_start", routers.continue_unless_over, {"continue": "reviewer_step", "over": over}
    )
    verdict: dict[Hashable, str] = {
        "step": "reviewer_step",
        "nudge": "reviewer_nudge",
        "changes": changes,
        "accepted": accepted,
        "over": over,
    }
    builder.add_conditional_edges("reviewer_step", routers.reviewer_after_step, verdict)
    builder.add_conditional_edges("reviewer_nudge", routers.reviewer_after_step, verdict)
    return ENTRY


def build() -> StateGraph:
    builder = AgentGraph(AgentState)
    add_setup(builder, add_reviewer(builder, accepted=END, changes=END, over=END))
    return builder


graph = build().compile(name="reviewer")
