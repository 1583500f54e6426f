"""The reviewer graph: review the diff against the base commit, run checks, accept or request changes."""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from agent.nodes.reviewer import reviewer_agent, reviewer_nudge, reviewer_start, reviewer_tools
from agent.nodes.setup import ensure_workspace
from agent.state import AgentState
from graphs import routers


def build() -> StateGraph:
    builder = StateGraph(AgentState)
    builder.add_node("setup", ensure_workspace)
    builder.add_node("start", reviewer_start)
    builder.add_node("agent", reviewer_agent)
    builder.add_node("tools", reviewer_tools)
    builder.add_node("nudge", reviewer_nudge)
    builder.add_edge(START, "setup")
    builder.add_conditional_edges("setup", routers.after_setup, {"continue": "start", END: END})
    builder.add_conditional_edges("start", routers.continue_unless_over)
    builder.add_conditional_edges("agent", routers.reviewer_after_agent)
    builder.add_conditional_edges("tools", routers.reviewer_after_tools)
    builder.add_conditional_edges("nudge", routers.reviewer_after_tools)
    return builder


graph = build().compile(name="reviewer")
