"""Snapshots of each graph's shape (mermaid), of every role's tool schemas and of the interrupt payloads. Regenerate
deliberately with `UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/graphs/test_snapshots.py` and review the diff."""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path

import pytest

from agent.hitl import plan_approval_request, question_request
from agent.nodes.manager import ROUTER_TOOLS
from agent.tools import ROLE_TOOLS
from agent.tools.workflow import make_plan

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("UPDATE_SNAPSHOTS") == "1"


def check(name: str, text: str) -> None:
    path = SNAPSHOTS / name
    if UPDATE:
        path.write_text(text)
    assert path.exists(), f"missing snapshot {path}: run with UPDATE_SNAPSHOTS=1"
    assert text == path.read_text(), f"{name} changed: review it and run with UPDATE_SNAPSHOTS=1"


@pytest.mark.parametrize("module", ["manager", "planner", "programmer", "reviewer"])
def test_graph_shape(module: str) -> None:
    graph = importlib.import_module(f"graphs.{module}").graph
    assert graph.checkpointer is None  # the server supplies one
    check(f"graph_{module}.mmd", graph.get_graph().draw_mermaid())


@pytest.mark.parametrize("role", ["planner", "programmer", "reviewer", "router"])
def test_tool_schemas(role: str) -> None:
    tools = ROUTER_TOOLS if role == "router" else ROLE_TOOLS[role]
    check(f"tools_{role}.json", json.dumps([t.schema() for t in tools], indent=2, sort_keys=True) + "\n")


def test_interrupt_payloads() -> None:
    """The human-in-the-loop requests that chat UIs render and the task API reads (agent/hitl.py)."""
    payloads = {
        "plan_approval": plan_approval_request(make_plan(["Fix calc.add", "Run the tests"]), title="Fix calc.add"),
        "question": question_request("Should add() also accept strings?"),
    }
    check("interrupts.json", json.dumps(payloads, indent=2, sort_keys=True) + "\n")


def test_langgraph_json_points_at_the_graphs() -> None:
    config = json.loads((Path(__file__).parents[2] / "langgraph.json").read_text())
    for name, target in config["graphs"].items():
        path, attr = target.split(":")
        module = importlib.import_module(path.removeprefix("./").removesuffix(".py").replace("/", "."))
        assert getattr(module, attr).name == ("agent" if name == "agent" else name)
