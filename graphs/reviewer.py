"""The reviewer: review the diff against the base commit, run checks, accept or send new plan items back.

`add_reviewer` wires its nodes into any graph (the manager uses it); `graph` is the reviewer on its own.
"""

from __future__ import annotations

from langgraph.graph import END, StateGraph

from agent.nodes.reviewer import reviewer_agent, reviewer_nudge, reviewer_start, reviewer_tools
from agent.state import AgentState
from graphs import routers
from graphs.planner import add_setup

ENTRY = "reviewer_start"


def add_reviewer(builder: StateGraph, *, accepted: str, changes: str, over: str) -> str:
    builder.add_node("reviewer_start", reviewer_start)
    builder.add_node("reviewer_agent", reviewer_agent)
    builder.add_node("reviewer_tools", reviewer_tools)
    builder.add_node("reviewer_nudge", reviewer_nudge)
    builder.add_conditional_edges("reviewer_start", routers.continue_unless_over,
                                  {"continue": "reviewer_agent", "over": over})
    builder.add_conditional_edges("reviewer_agent", routers.reviewer_after_agent,
                                  {"tools": "reviewer_tools", "nudge": "reviewer_nudge", "over": over})
    verdict = {"agent": "reviewer_agent", "changes": changes, "accepted": accepted, "over": over}
    builder.add_conditional_edges("reviewer_tools", routers.reviewer_after_tools, verdict)
    builder.add_conditional_edges("reviewer_nudge", routers.reviewer_after_tools, verdict)
    return ENTRY


def build() -> StateGraph:
    builder = StateGraph(AgentState)
    add_setup(builder, add_reviewer(builder, accepted=END, changes=END, over=END))
    return builder


graph = build().compile(name="reviewer")
