"""A scripted model that makes the agent call every tool it has, some of them failing on purpose.

The roles follow fixed scripts, indexed by how many tool calls the role already made in its conversation (the model
server keeps no state). The planner explores with every read tool; the programmer fixes `calc.add`, asks a human,
writes a large file with `shell` (its diff is larger than a sandbox's 64 KB output cap), patches, installs, replans
and streams a dot-per-test style output; the reviewer requests changes once, then accepts. EXPECTED_FAILURES are the
calls that must come back `ok: false`.
"""

from __future__ import annotations

from typing import Any

from tests.support.fixture_repo import TEST_COMMAND
from tests.support.scripted_openai import ChatRequest, Reply

QUESTION = "May I add a helper module?"
BIG_LINE = "0123456789abcdef" * 4 + "\n"
BIG_FILE = "".join(f"{i:06d} {BIG_LINE}" for i in range(2000))  # ~142 KB
MAKE_BIG_FILE = (
    'import sys; sys.stdout.write("".join(f"{i:06d} " + "0123456789abcdef" * 4 + "\\n" for i in range(2000)))'
)
DOTS = "import sys, time\nfor i in range(300):\n    sys.stdout.write('.'); sys.stdout.flush(); time.sleep(0.002)\n"
README_PATCH = (
    "--- a/README.md\n+++ b/README.md\n@@ -1,3 +1,4 @@\n # calc\n \n Tiny arithmetic helpers.\n+See helper.py.\n"
)

PLANNER: list[tuple[str, dict[str, Any]]] = [
    ("view", {"path": "calc.py"}),
    ("view", {"path": "missing.py"}),  # fails: no such file
    ("grep", {"pattern": "def add"}),
    ("find_files", {"pattern": "*.py"}),
    ("shell", {"command": TEST_COMMAND}),  # fails: the tests fail before the fix
    ("scratchpad", {"note": "add() subtracts"}),
    ("session_plan", {"title": "Fix add", "plan": ["Fix calc.add", "Add a helper module"]}),
]
PROGRAMMER: list[tuple[str, dict[str, Any]]] = [
    ("view", {"path": "calc.py"}),
    ("str_replace", {"path": "calc.py", "old_str": "return a ** b", "new_str": "x"}),  # fails: no match
    ("str_replace", {"path": "calc.py", "old_str": "return a - b", "new_str": "return a + b"}),
    ("shell", {"command": TEST_COMMAND}),
    ("request_human_help", {"question": QUESTION}),
    ("mark_task_completed", {"summary": "add() adds"}),
    ("create_file", {"path": "helper.py", "content": "def twice(x):\n    return 2 * x\n"}),
    ("insert", {"path": "helper.py", "insert_line": 0, "text": '"""Helpers."""'}),
    ("shell", {"command": f"python3 -c '{MAKE_BIG_FILE}' > data.txt"}),  # a file too big for a tool argument
    ("apply_patch", {"patch": README_PATCH}),
    ("apply_patch", {"patch": "this is not a diff"}),  # fails
    ("install_dependencies", {"command": "python3 -c 'print(\"nothing to install\")'"}),
    ("grep", {"pattern": "twice", "glob": "*.py"}),
    ("find_files", {"pattern": "helper*"}),
    ("scratchpad", {"note": "helper added"}),
    ("create_file", {"path": "dots.py", "content": DOTS}),
    ("shell", {"command": "python3 dots.py"}),
    ("update_plan", {"remaining": ["Document the helper"], "reason": "the helper is written"}),
    ("mark_task_completed", {"summary": "documented in README"}),
    ("shell", {"command": TEST_COMMAND}),
    ("mark_task_completed", {"summary": "the tests pass again"}),
]
REVIEWER_ROUND_1: list[tuple[str, dict[str, Any]]] = [
    ("shell", {"command": TEST_COMMAND}),
    ("view", {"path": "helper.py"}),
    ("grep", {"pattern": "a \\+ b"}),
    ("find_files", {"pattern": "*.txt"}),
    ("scratchpad", {"note": "tests pass"}),
    ("request_changes", {"items": ["Run the tests once more"], "feedback": "show them passing after the docs"}),
]
REVIEWER_ROUND_2: list[tuple[str, dict[str, Any]]] = [
    ("shell", {"command": TEST_COMMAND}),
    ("accept_review", {"summary": "add() fixed, helper added, tests pass"}),
]
EXPECTED_FAILURES = {
    ("planner", 1),
    ("planner", 4),
    ("programmer", 1),
    ("programmer", 10),
}
"""(role, index in its script) of the calls that fail."""


def _next(script: list[tuple[str, dict[str, Any]]], request: ChatRequest) -> Reply:
    done = len(request.calls)
    if done >= len(script):
        return Reply.text("done")
    name, args = script[done]
    return Reply.call(name, **args)


def every_tool_policy(request: ChatRequest) -> Reply:
    role = request.role
    if role == "router":
        return Reply.text("Happy to help! It sounds like calc.add has a bug; let me know if you want me to fix it.")
    if role == "planner":
        return _next(PLANNER, request)
    if role == "programmer":
        return _next(PROGRAMMER, request)
    if role == "reviewer":
        first = str(request.messages[1].get("content", "")) if len(request.messages) > 1 else ""
        return _next(REVIEWER_ROUND_1 if "Review round 1." in first else REVIEWER_ROUND_2, request)
    return Reply.text("ok")
