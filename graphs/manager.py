"""The manager graph (`agent` in langgraph.json): route the user's message, then run planner -> programmer ->
reviewer as subgraphs in the same thread (one checkpoint history, interrupts surface on the thread), then finish."""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from agent.nodes.manager import answer, finish, follow_up, route_message, start_task
from agent.state import AgentState
from graphs import routers
from graphs.planner import graph as planner_graph
from graphs.programmer import graph as programmer_graph
from graphs.reviewer import graph as reviewer_graph


def build() -> StateGraph:
    builder = StateGraph(AgentState)
    builder.add_node("route", route_message)
    builder.add_node("start_task", start_task)
    builder.add_node("follow_up", follow_up)
    builder.add_node("answer", answer)
    builder.add_node("planner", planner_graph)
    builder.add_node("programmer", programmer_graph)
    builder.add_node("reviewer", reviewer_graph)
    builder.add_node("finish", finish)
    builder.add_edge(START, "route")
    builder.add_conditional_edges("route", routers.manager_after_route)
    builder.add_edge("start_task", "planner")
    builder.add_edge("follow_up", "planner")
    builder.add_edge("answer", END)
    builder.add_conditional_edges("planner", routers.manager_after_planner)
    builder.add_conditional_edges("programmer", routers.manager_after_programmer)
    builder.add_conditional_edges("reviewer", routers.manager_after_reviewer)
    builder.add_edge("finish", END)
    return builder


graph = build().compile(name="agent")
