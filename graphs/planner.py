"""The planner graph: explore read-only, propose a plan, revert stray writes, wait for approval."""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from agent.nodes.planner import (await_approval, planner_agent, planner_finish, planner_nudge, planner_start,
                                 planner_tools)
from agent.nodes.setup import ensure_workspace
from agent.state import AgentState
from graphs import routers


def build() -> StateGraph:
    builder = StateGraph(AgentState)
    builder.add_node("setup", ensure_workspace)
    builder.add_node("start", planner_start)
    builder.add_node("agent", planner_agent)
    builder.add_node("tools", planner_tools)
    builder.add_node("nudge", planner_nudge)
    builder.add_node("finish", planner_finish)
    builder.add_node("approval", await_approval)
    builder.add_edge(START, "setup")
    builder.add_conditional_edges("setup", routers.after_setup, {"continue": "start", END: END})
    builder.add_conditional_edges("start", routers.continue_unless_over)
    builder.add_conditional_edges("agent", routers.planner_after_agent)
    builder.add_conditional_edges("tools", routers.planner_after_tools)
    builder.add_conditional_edges("nudge", routers.planner_after_tools)
    builder.add_conditional_edges("finish", routers.after_plan_ready)
    builder.add_conditional_edges("approval", routers.after_approval)
    return builder


graph = build().compile(name="planner")
