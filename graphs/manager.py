"""The manager graph (`agent` in langgraph.json), the entry point the service and the CLI run.

It routes the user's message (new task, follow-up to the current task, or a direct answer), then runs the planner,
programmer and reviewer nodes *in the same graph and thread*: they are wired in with `add_planner` /
`add_programmer` / `add_reviewer`, so every node's update (status, plan progress, commits, diff) is visible in the
thread's state as it happens, custom events need no subgraph streaming, and interrupts surface on the thread.
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from agent.nodes.manager import answer, finish, follow_up, route_message, start_task
from agent.nodes.setup import ensure_workspace
from agent.state import AgentState
from graphs import routers
from graphs.planner import add_planner
from graphs.programmer import add_programmer
from graphs.reviewer import add_reviewer
from graphs.wiring import AgentGraph


def build() -> StateGraph:
    builder = AgentGraph(AgentState)
    builder.add_node("route", route_message)
    builder.add_node("start_task", start_task)
    builder.add_node("follow_up", follow_up)
    builder.add_node("answer", answer)
    builder.add_node("setup", ensure_workspace)
    builder.add_node("finish", finish)
    programmer = add_programmer(builder, done="reviewer_start", over="finish")
    planner = add_planner(builder, done=programmer, over="finish")
    add_reviewer(builder, accepted="finish", changes=programmer, over="finish")
    builder.add_edge(START, "route")
    builder.add_conditional_edges(
        "route",
        routers.manager_after_route,
        {"start_task": "start_task", "follow_up": "follow_up", "answer": "answer", "end": END},
    )
    builder.add_edge("start_task", "setup")
    builder.add_edge("follow_up", "setup")
    builder.add_conditional_edges("setup", routers.continue_unless_over, {"continue": planner, "over": "finish"})
    builder.add_edge("answer", END)
    builder.add_edge("finish", END)
    return builder


graph = build().compile(name="agent")
