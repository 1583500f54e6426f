"""Human-in-the-loop payloads in the format LangChain's chat UIs speak, and the resume values the graphs accept.

The plan approval and the programmer's questions are `interrupt(...)` values shaped like LangChain v1's
`HumanInTheLoopMiddleware` request (what Agent Chat UI and Agent Inbox render):

    {"action_requests": [{"name", "args", "description"}],
     "review_configs": [{"action_name", "allowed_decisions": ["approve", "edit", "reject"], "args_schema"}],
     "type": "plan_approval" | "question", ...}

`type` (with `plan` or `question`) is kept beside them for the task API and the CLI. They are resumed with
`{"decisions": [{"type": "approve"} | {"type": "edit", "edited_action": {"name", "args"}} | {"type": "reject",
"message"}]}`; the older `HumanInterrupt` response list (`[{"type": "accept" | "edit" | "response" | "ignore",
"args"}]`) and the project's first dict form (`{"type": "accept" | "edit" | "response" | "ignore" | "answer", ...}`)
are accepted too. Everything here is pure: the nodes call `interrupt` and act on the parsed decision.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal, NotRequired, TypedDict

from agent.contract import PlanItem

APPROVE_PLAN = "approve_plan"
ANSWER_QUESTION = "answer_question"
DecisionType = Literal["approve", "edit", "reject"]


class ActionRequest(TypedDict):
    name: str
    args: dict[str, Any]
    description: NotRequired[str]
    arguments: NotRequired[dict[str, Any]]
    """The same as `args`, under the middleware's earlier name, which Agent Inbox still reads."""


class ReviewConfig(TypedDict):
    action_name: str
    allowed_decisions: list[DecisionType]
    args_schema: NotRequired[dict[str, Any]]


class HITLRequest(TypedDict):
    action_requests: list[ActionRequest]
    review_configs: list[ReviewConfig]


PLAN_ARGS_SCHEMA = {
    "type": "object",
    "properties": {"plan": {"type": "array", "items": {"type": "string"}, "minItems": 1}},
    "required": ["plan"],
}
ANSWER_ARGS_SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
BULLET = re.compile(r"^(?:[-*+]|\d+[.)])(?:\s+|$)")
"""A list marker at the start of a step written one per line: "- ", "* ", "1. ", "2) "."""
DECLINED = "The user did not answer. Decide yourself, and say what you assumed in your summary."


# ---------------------------------------------------------------- requests (graph -> human)


def plan_text(plan: list[PlanItem], title: str = "") -> str:
    lines = [f"**{title}**", ""] if title else []
    for item in plan:
        mark = "x" if item["status"] == "done" else " "
        lines.append(f"{item['index'] + 1}. [{mark}] {item['description']}")
    return "\n".join(lines)


def plan_approval_request(plan: list[PlanItem], *, title: str = "", error: str = "") -> dict[str, Any]:
    """The plan-approval interrupt. `args.plan` holds the steps still to do (an edit replaces them; done steps of a
    follow-up stay)."""
    description = (
        f"The agent proposes this plan:\n\n{plan_text(plan, title)}\n\n"
        "Approve to start; edit `plan` (one step per entry) to run your own steps; reject with a message to have the "
        "plan revised, or without one to end the task."
    )
    if error:
        description = f"{error}\n\n{description}"
    todo = [i["description"] for i in plan if i["status"] != "done"]
    request = _request(APPROVE_PLAN, {"plan": todo}, description, ["approve", "edit", "reject"], PLAN_ARGS_SCHEMA)
    return {"type": "plan_approval", "plan": plan, **request, **({"error": error} if error else {})}


def question_request(question: str, *, error: str = "") -> dict[str, Any]:
    """The interrupt of the programmer's `request_human_help`: edit `answer` (or reject with a message) to reply."""
    description = f"The agent asks:\n\n{question}\n\nReply by editing `answer`, or reject with your reply as message."
    if error:
        description = f"{error}\n\n{description}"
    request = _request(ANSWER_QUESTION, {"answer": ""}, description, ["edit", "reject"], ANSWER_ARGS_SCHEMA)
    return {"type": "question", "question": question, **request, **({"error": error} if error else {})}


def _request(
    name: str, args: dict[str, Any], description: str, allowed: list[DecisionType], schema: dict[str, Any]
) -> HITLRequest:
    return HITLRequest(
        action_requests=[ActionRequest(name=name, args=args, description=description, arguments=args)],
        review_configs=[ReviewConfig(action_name=name, allowed_decisions=allowed, args_schema=schema)],
    )


# ---------------------------------------------------------------- resume values the project's own clients send


def approve() -> dict[str, Any]:
    return {"decisions": [{"type": "approve"}]}


def edit_plan(plan: list[str]) -> dict[str, Any]:
    return {"decisions": [{"type": "edit", "edited_action": {"name": APPROVE_PLAN, "args": {"plan": list(plan)}}}]}


def reject(message: str = "") -> dict[str, Any]:
    """Without a message the task ends `rejected`; with one, the message is feedback and the planner revises."""
    return {"decisions": [{"type": "reject", **({"message": message} if message else {})}]}


def answer(text: str) -> dict[str, Any]:
    return {"decisions": [{"type": "edit", "edited_action": {"name": ANSWER_QUESTION, "args": {"answer": text}}}]}


# ---------------------------------------------------------------- parsing resume values (human -> graph)


@dataclass(frozen=True, slots=True)
class PlanDecision:
    kind: Literal["approve", "edit", "feedback", "reject"]
    plan: tuple[str, ...] = ()
    message: str = ""


class InvalidResume(ValueError):
    """A resume value the interrupt cannot use; the node asks again with this message."""


def _single(value: Any) -> dict[str, Any]:
    """The one decision in any accepted envelope: {"decisions": [d]}, [d] (HumanInterrupt responses), d, or "type"."""
    if isinstance(value, dict) and "decisions" in value:
        value = value["decisions"]
    if isinstance(value, str):
        value = {"type": value}
    if isinstance(value, list):
        if len(value) != 1:
            raise InvalidResume(f"expected exactly one decision, got {len(value)}")
        value = value[0]
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        raise InvalidResume("expected {'decisions': [{'type': 'approve' | 'edit' | 'reject', ...}]}")
    return value


def _edited_args(decision: dict[str, Any]) -> dict[str, Any]:
    """An edit's new args: `edited_action.args` (HITL), `args.args` (HumanInterrupt), or the decision itself."""
    action = decision.get("edited_action")
    if isinstance(action, dict):
        args = action.get("args")
        if not isinstance(args, dict):
            raise InvalidResume("an edit needs 'edited_action': {'name': ..., 'args': {...}}")
        return args
    legacy = decision.get("args")
    if isinstance(legacy, dict):
        return legacy["args"] if isinstance(legacy.get("args"), dict) else legacy
    return decision


def _steps(raw: Any) -> tuple[str, ...]:
    """Plan steps from a list of strings, a JSON list in a string (chat UIs edit args as text) or one step per line."""
    if isinstance(raw, str):
        text = raw.strip()
        try:
            raw = json.loads(text) if text.startswith("[") else None
        except json.JSONDecodeError:
            raw = None
        if raw is None:
            raw = [BULLET.sub("", line.strip()) for line in text.splitlines()]
            raw = [line for line in raw if line]
    if not isinstance(raw, list) or not raw or not all(isinstance(s, str) and s.strip() for s in raw):
        raise InvalidResume("an edit needs 'plan': a non-empty list of non-empty strings")
    return tuple(s.strip() for s in raw)


def _message(decision: dict[str, Any]) -> str:
    for key in ("message", "args"):
        if isinstance(decision.get(key), str):
            return str(decision[key]).strip()
    return ""


def parse_plan_decision(value: Any) -> PlanDecision:
    decision = _single(value)
    kind = decision["type"]
    if kind in ("approve", "accept"):
        return PlanDecision("approve")
    if kind == "edit":
        return PlanDecision("edit", plan=_steps(_edited_args(decision).get("plan")))
    if kind == "reject":
        message = _message(decision)
        return PlanDecision("feedback", message=message) if message else PlanDecision("reject")
    if kind == "response":
        message = _message(decision)
        if not message:
            raise InvalidResume("a response needs a non-empty message")
        return PlanDecision("feedback", message=message)
    if kind == "ignore":
        return PlanDecision("reject")
    raise InvalidResume(f"unknown decision type {kind!r}: expected 'approve', 'edit' or 'reject'")


def parse_answer(value: Any) -> str:
    """The human's reply to a question. A reject or ignore without a message tells the agent to decide itself."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    decision = _single(value)
    kind = decision["type"]
    if kind == "edit":
        text = _edited_args(decision).get("answer")
        if isinstance(text, str) and text.strip():
            return text.strip()
        raise InvalidResume("an edit needs a non-empty 'answer'")
    if kind in ("reject", "response", "answer", "ignore"):
        text = _message(decision)
        if text:
            return text
        if kind in ("reject", "ignore"):
            return DECLINED
        raise InvalidResume(f"{kind!r} needs a non-empty message")
    raise InvalidResume("expected {'decisions': [{'type': 'edit', 'edited_action': {'args': {'answer': '...'}}}]}")
