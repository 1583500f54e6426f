"""agent/hitl.py: the HITL requests, and every resume value form the graphs accept (and the ones they refuse)."""

from __future__ import annotations

from typing import Any

import pytest

from agent.contract import PlanItem
from agent.hitl import (
    DECLINED,
    InvalidResume,
    PlanDecision,
    answer,
    approve,
    edit_plan,
    parse_answer,
    parse_plan_decision,
    plan_approval_request,
    question_request,
    reject,
)

PLAN = [
    PlanItem(index=0, description="Set up", status="done", summary="ok"),
    PlanItem(index=1, description="Fix add", status="pending", summary=""),
]


def test_plan_request_is_what_chat_uis_render() -> None:
    request = plan_approval_request(PLAN, title="Fix calc")
    (action,) = request["action_requests"]
    assert action["name"] == "approve_plan"
    assert action["args"] == action["arguments"] == {"plan": ["Fix add"]}, "the steps an edit replaces"
    assert "**Fix calc**" in action["description"] and "2. [ ] Fix add" in action["description"]
    assert "1. [x] Set up" in action["description"]
    (config,) = request["review_configs"]
    assert config["action_name"] == "approve_plan" and config["allowed_decisions"] == [
        "approve",
        "edit",
        "reject",
    ]
    assert request["type"] == "plan_approval" and request["plan"] == PLAN and "error" not in request


def test_question_request_and_the_error_of_a_re_ask() -> None:
    request = question_request("Which db?", error="invalid resume value: x")
    (action,) = request["action_requests"]
    assert action["args"] == {"answer": ""} and action["description"].startswith("invalid resume value: x")
    assert request["review_configs"][0]["allowed_decisions"] == ["edit", "reject"]
    assert request["error"] == "invalid resume value: x" and request["question"] == "Which db?"


@pytest.mark.parametrize(
    ("value", "decision"),
    [
        (approve(), PlanDecision("approve")),
        ({"decisions": [{"type": "approve"}]}, PlanDecision("approve")),
        (
            [{"type": "accept", "args": None}],
            PlanDecision("approve"),
        ),  # HumanInterrupt (Agent Chat UI < v1)
        (
            [{"type": "accept", "args": {"action": "approve_plan", "args": {}}}],
            PlanDecision("approve"),
        ),  # Agent Inbox
        ({"type": "accept"}, PlanDecision("approve")),
        ("accept", PlanDecision("approve")),
        (edit_plan(["a", "b"]), PlanDecision("edit", plan=("a", "b"))),
        (
            {
                "decisions": [
                    {
                        "type": "edit",
                        "edited_action": {
                            "name": "approve_plan",
                            "args": {"plan": '["a", "b"]'},
                        },
                    }
                ]
            },
            PlanDecision("edit", plan=("a", "b")),
        ),
        (
            {
                "decisions": [
                    {
                        "type": "edit",
                        "edited_action": {
                            "name": "approve_plan",
                            "args": {"plan": "1. a\n- b\n2)\n1.5x faster"},
                        },
                    }
                ]
            },
            PlanDecision("edit", plan=("a", "b", "1.5x faster")),
        ),
        (
            [
                {
                    "type": "edit",
                    "args": {"action": "approve_plan", "args": {"plan": ["a"]}},
                }
            ],
            PlanDecision("edit", plan=("a",)),
        ),
        ({"type": "edit", "plan": [" a "]}, PlanDecision("edit", plan=("a",))),
        (reject("keep mul"), PlanDecision("feedback", message="keep mul")),
        (
            [{"type": "response", "args": "keep mul"}],
            PlanDecision("feedback", message="keep mul"),
        ),
        (
            {"type": "response", "message": "keep mul"},
            PlanDecision("feedback", message="keep mul"),
        ),
        (reject(), PlanDecision("reject")),
        ({"decisions": [{"type": "reject", "message": "  "}]}, PlanDecision("reject")),
        ([{"type": "ignore", "args": None}], PlanDecision("reject")),
    ],
)
def test_plan_decisions(value: Any, decision: PlanDecision) -> None:
    assert parse_plan_decision(value) == decision


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ({"decisions": []}, "exactly one decision, got 0"),
        ([{"type": "accept"}, {"type": "accept"}], "exactly one decision, got 2"),
        ({"decisions": [{"type": "maybe"}]}, "unknown decision type 'maybe'"),
        (42, "expected {'decisions'"),
        (
            {
                "decisions": [
                    {
                        "type": "edit",
                        "edited_action": {"name": "approve_plan", "args": {"plan": []}},
                    }
                ]
            },
            "non-empty",
        ),
        (
            {"decisions": [{"type": "edit", "edited_action": {"name": "approve_plan"}}]},
            "needs 'edited_action'",
        ),
        (
            {"decisions": [{"type": "edit", "edited_action": {"args": {"plan": "  \n "}}}]},
            "non-empty",
        ),
        ([{"type": "response", "args": ""}], "a response needs a non-empty message"),
    ],
)
def test_invalid_plan_decisions_say_why(value: Any, error: str) -> None:
    with pytest.raises(InvalidResume, match=error.replace("(", r"\(").replace("{", r"\{")):
        parse_plan_decision(value)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (answer("numbers only"), "numbers only"),
        (
            {"decisions": [{"type": "reject", "message": "numbers only"}]},
            "numbers only",
        ),
        ([{"type": "response", "args": "numbers only"}], "numbers only"),
        (
            [
                {
                    "type": "edit",
                    "args": {
                        "action": "answer_question",
                        "args": {"answer": "numbers only"},
                    },
                }
            ],
            "numbers only",
        ),
        ({"type": "answer", "message": "numbers only"}, "numbers only"),
        ("numbers only", "numbers only"),
        (reject(), DECLINED),
        ([{"type": "ignore", "args": None}], DECLINED),
    ],
)
def test_answers(value: Any, text: str) -> None:
    assert parse_answer(value) == text


@pytest.mark.parametrize(
    "value",
    [
        approve(),
        answer("  "),
        {"type": "answer"},
        [{"type": "response", "args": ""}],
        {"decisions": []},
        None,
    ],
)
def test_invalid_answers(value: Any) -> None:
    with pytest.raises(InvalidResume):
        parse_answer(value)
