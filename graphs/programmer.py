"""The programmer: carry out the plan item by item, with human questions and failure diagnosis.

`add_programmer` wires its nodes into any graph (the manager uses it); `graph` is the programmer on its own.
"""

from __future__ import annotations

from collections.abc import Hashable

from langgraph.graph import END, StateGraph

from agent.nodes.programmer import (
    ask_human,
    diagnose,
    programmer_finish,
    programmer_nudge,
    programmer_start,
    programmer_step,
)
from agent.state import AgentState
from graphs import routers
from graphs.planner import add_setup
from graphs.wiring import AgentGraph

ENTRY = "programmer_start"


def add_programmer(builder: StateGraph, *, done: str, over: str) -> str:
    builder.add_node("programmer_start", programmer_start)
    builder.add_node("programmer_step", programmer_step)
    builder.add_node("programmer_nudge", programmer_nudge)
    builder.add_node("programmer_ask_human", ask_human)
    builder.add_node("programmer_diagnose", diagnose)
    builder.add_node("programmer_finish", programmer_finish)
    builder.add_conditional_edges(
        "programmer_start",
        routers.programmer_after_start,
        {"step": "programmer_step", "finish": "programmer_finish", "over": over},
    )
    builder.add_conditional_edges(
        "programmer_step",
        routers.programmer_after_step,
        {
            "ask_human": "programmer_ask_human",
            "nudge": "programmer_nudge",
            "diagnose": "programmer_diagnose",
            "finish": "programmer_finish",
            "step": "programmer_step",
            "over": over,
        },
    )
    back: dict[Hashable, str] = {"continue": "programmer_step", "over": over}
    for node in ("programmer_nudge", "programmer_ask_human", "programmer_diagnose"):
        builder.add_conditional_edges(node, routers.continue_unless_over, back)
    builder.add_conditional_edges("programmer_finish", routers.done_unless_over, {"done": done, "over": over})
    return ENTRY


def build() -> StateGraph:
    builder = AgentGraph(AgentState)
    add_setup(builder, add_programmer(builder, done=END, over=END))
    return builder


graph = build().compile(name="programmer")
