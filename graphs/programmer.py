"""The programmer graph: carry out the plan item by item, with human questions and failure diagnosis."""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from agent.nodes.programmer import (ask_human, diagnose, programmer_agent, programmer_finish, programmer_nudge,
                                    programmer_start, programmer_tools)
from agent.nodes.setup import ensure_workspace
from agent.state import AgentState
from graphs import routers


def build() -> StateGraph:
    builder = StateGraph(AgentState)
    builder.add_node("setup", ensure_workspace)
    builder.add_node("start", programmer_start)
    builder.add_node("agent", programmer_agent)
    builder.add_node("tools", programmer_tools)
    builder.add_node("nudge", programmer_nudge)
    builder.add_node("ask_human", ask_human)
    builder.add_node("diagnose", diagnose)
    builder.add_node("finish", programmer_finish)
    builder.add_edge(START, "setup")
    builder.add_conditional_edges("setup", routers.after_setup, {"continue": "start", END: END})
    builder.add_conditional_edges("start", routers.programmer_after_start)
    builder.add_conditional_edges("agent", routers.programmer_after_agent)
    builder.add_conditional_edges("tools", routers.programmer_after_tools)
    builder.add_conditional_edges("nudge", routers.continue_unless_over)
    builder.add_conditional_edges("ask_human", routers.continue_unless_over)
    builder.add_conditional_edges("diagnose", routers.continue_unless_over)
    builder.add_edge("finish", END)
    return builder


graph = build().compile(name="programmer")
