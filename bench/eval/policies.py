"""Scripted models that prove the grading: `oracle` applies each task's reference patch through the agent's own tools,
`noop` changes nothing. Both answer every role of the agent's normal flow (router, planner, programmer, reviewer,
summarizer, diagnose) over the OpenAI wire protocol (tests/support/scripted_openai.py), statelessly: each request is
answered from its own messages, so concurrent tasks share one server.

oracle: router `start_new_task`; planner `view`s a file the patch touches, then `session_plan` (one item); programmer
`apply_patch` with the reference patch, then `mark_task_completed`; reviewer runs the task's PASS_TO_PASS tests
with `shell` in the prepared environment (`.venv`, inside the sandbox) and accepts only when they pass, so a task whose
environment does not work inside the sandbox does not end `completed`.
noop: the same flow without `apply_patch` (a plan, the item marked done, the same review).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Sequence

from bench.eval.suite import Task
from tests.support.scripted_openai import ChatRequest, Reply

PLAN = ["Make the change the task asks for"]
_FILE = re.compile(r"^\+\+\+ b/(\S+)", re.M)


def _conversation(request: ChatRequest) -> str:
    parts = []
    for message in request.messages:
        content = message.get("content")
        if isinstance(content, list):
            parts += [p.get("text", "") for p in content if isinstance(p, dict)]
        elif isinstance(content, str):
            parts.append(content)
    return "\n".join(parts)


def _find_task(tasks: Sequence[Task], request: ChatRequest) -> Task | None:
    text = _conversation(request)
    return next((t for t in tasks if t.problem_statement in text), None)


def _router(request: ChatRequest) -> Reply:
    message = request.user_text.split("The user's message:\n", 1)[-1].strip()
    return Reply.call("start_new_task", task=message or "Make the change")


def _planner(request: ChatRequest, task: Task | None) -> Reply:
    if "session_plan" not in request.tool_names:
        return Reply.text("\n".join(PLAN))
    files = _FILE.findall(task.patch) if task else []
    if files and "view" in request.tool_names and "view" not in request.call_names:
        return Reply.call("view", path=files[0])
    return Reply.call("session_plan", title="Apply the fix", plan=PLAN)


def _patched(request: ChatRequest) -> bool:
    return any(r.name == "apply_patch" and r.content.startswith("patched") for r in request.tool_results)


def check_command(task: Task) -> str:
    """A command that must pass in the workspace before and after the fix: the PASS_TO_PASS tests."""
    if task.runner == "pytest":
        return f"{task.test_hint()} -p no:cacheprovider -q {' '.join(map(shlex.quote, task.pass_to_pass))}".strip()
    return "node -e \"require('./')\"" if task.env.kind == "node" else "true"


def _reviewer(request: ChatRequest, task: Task | None) -> Reply:
    shell = [r for r in request.tool_results if r.name == "shell"]
    if task is not None and "shell" in request.tool_names:
        if not shell:
            return Reply.call("shell", command=check_command(task))
        if not shell[-1].content.startswith("[exit code 0]"):
            return Reply.call("request_changes", items=["Make the tests pass"], feedback=shell[-1].content[-800:])
    return Reply.call("accept_review", summary="The change does what the task asks.")


def _other(request: ChatRequest) -> Reply:
    if request.role == "summarizer":
        return Reply.text("Earlier: looked at the code and made the change.")
    return Reply.text("Check the file names and the command, then try again.")


def oracle_policy(tasks: Sequence[Task]) -> Callable[[ChatRequest], Reply]:
    def policy(request: ChatRequest) -> Reply:
        role = request.role
        if role == "router":
            return _router(request)
        task = _find_task(tasks, request)
        if role == "planner":
            return _planner(request, task)
        if role == "programmer":
            tried = "apply_patch" in request.call_names
            if task is not None and not _patched(request) and not tried:
                return Reply.call("apply_patch", patch=task.patch)
            return Reply.call("mark_task_completed", summary="Applied the fix.")
        if role == "reviewer":
            return _reviewer(request, task)
        return _other(request)

    return policy


def noop_policy(tasks: Sequence[Task]) -> Callable[[ChatRequest], Reply]:
    def policy(request: ChatRequest) -> Reply:
        role = request.role
        if role == "router":
            return _router(request)
        if role == "planner":
            return _planner(request, _find_task(tasks, request))
        if role == "programmer":
            return Reply.call("mark_task_completed", summary="Nothing to change.")
        if role == "reviewer":
            return _reviewer(request, _find_task(tasks, request))
        return _other(request)

    return policy


POLICIES = {"oracle": oracle_policy, "noop": noop_policy}
