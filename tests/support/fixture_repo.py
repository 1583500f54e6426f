"""A small real git repository with a real bug, and `fix_bug_policy`, a scripted model that fixes it.

Usage::

    from tests.support.fixture_repo import create_fixture_repo, run_fixture_tests, fix_bug_policy, FIXTURE_TASK

    repo = create_fixture_repo(tmp_path / "repo")   # FixtureRepo(path, base_commit, test_command, ...)
    assert not run_fixture_tests(repo.path).passed   # `python3 -B -m unittest -v` fails: add() subtracts
    with ScriptedOpenAI(fix_bug_policy) as server:    # tests/support/scripted_openai.py
        ...  # run the agent on repo.path with the task FIXTURE_TASK (any wording works)
    assert run_fixture_tests(repo.path).passed

The repository: `calc.py` (`add` returns `a - b`), `test_calc.py` (unittest, fails on `add`), `AGENTS.md` (rules),
`README.md`, `.gitignore`. One commit on branch `main`.

`fix_bug_policy(request) -> Reply` drives the whole flow, deciding only from the request (stateless, so concurrent
tasks can share it):
- router: `start_new_task` with the user's message;
- planner: runs the tests with `shell` (they fail), `view`s calc.py, then `session_plan` with PLAN (2 items);
- programmer: `view` calc.py, `str_replace` `return a - b` -> `return a + b` (unless already fixed),
  `mark_task_completed`; then for each
  further item runs the tests with `shell` and `mark_task_completed`;
- reviewer: runs the tests with `shell`, then `accept_review` when they pass (`request_changes` otherwise);
- summarizer / diagnose: a short text.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support.scripted_openai import ChatRequest, Reply

TEST_COMMAND = "python3 -B -m unittest -v"
FIXTURE_TASK = "The tests of calc fail: add() returns the wrong result. Fix the bug so that the tests pass."
PLAN = ["Fix the bug in calc.add so that it returns a + b", "Run the test suite and check that it passes"]
SUMMARY = "Fixed calc.add, which subtracted instead of adding; the test suite passes."

FILES = {
    "calc.py": '"""Small arithmetic helpers."""\n\n\ndef add(a, b):\n    """Return the sum of a and b."""\n'
    '    return a - b\n\n\ndef mul(a, b):\n    """Return the product of a and b."""\n    return a * b\n',
    "test_calc.py": "import unittest\n\nimport calc\n\n\nclass CalcTest(unittest.TestCase):\n"
    "    def test_add(self):\n        self.assertEqual(calc.add(2, 3), 5)\n\n"
    "    def test_mul(self):\n        self.assertEqual(calc.mul(2, 3), 6)\n\n\n"
    'if __name__ == "__main__":\n    unittest.main()\n',
    "AGENTS.md": f"# Rules\n\n- Run the tests with `{TEST_COMMAND}`.\n- Keep functions documented.\n",
    "README.md": "# calc\n\nTiny arithmetic helpers.\n",
    ".gitignore": "__pycache__/\n*.pyc\n",
}


@dataclass(frozen=True)
class FixtureRepo:
    path: Path
    base_commit: str
    test_command: str = TEST_COMMAND
    buggy_file: str = "calc.py"


@dataclass(frozen=True)
class FixtureTestRun:
    passed: bool
    output: str


def _git(path: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(path), *args], check=True, capture_output=True, text=True).stdout.strip()


def create_fixture_repo(path: Path) -> FixtureRepo:
    """Create the repository at `path` (created if missing; must be empty) and return it."""
    path.mkdir(parents=True, exist_ok=True)
    for name, text in FILES.items():
        (path / name).write_text(text)
    _git(path, "init", "-q", "-b", "main")
    _git(path, "add", "-A")
    _git(
        path, "-c", "user.name=fixture", "-c", "user.email=fixture@localhost", "commit", "-q", "-m", "calc: add and mul"
    )
    return FixtureRepo(path=path, base_commit=_git(path, "rev-parse", "HEAD"))


def run_fixture_tests(path: Path) -> FixtureTestRun:
    """Run the fixture's tests on the host (outside any sandbox)."""
    proc = subprocess.run(
        TEST_COMMAND.split(),
        cwd=path,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"},
    )
    return FixtureTestRun(proc.returncode == 0, proc.stdout + proc.stderr)


def unittest_output_ok(output: str) -> bool:
    return "\nOK" in output and "FAILED" not in output


def _router(request: ChatRequest) -> Reply:
    message = request.user_text.split("The user's message:\n", 1)[-1].strip()
    return Reply.call("start_new_task", task=message or FIXTURE_TASK)


def _planner(request: ChatRequest) -> Reply:
    names = request.call_names
    if "session_plan" not in request.tool_names:
        return Reply.text("\n".join(PLAN))
    if "shell" not in names and "shell" in request.tool_names:
        return Reply.call("shell", command=TEST_COMMAND)
    if "view" not in names and "view" in request.tool_names:
        return Reply.call("view", path="calc.py")
    return Reply.call("session_plan", title="Fix calc.add", plan=PLAN)


def _programmer(request: ChatRequest) -> Reply:
    names = request.call_names
    replaced = any(
        (r.name == "str_replace" and r.content.startswith("replaced"))
        or (r.name == "view" and "return a + b" in r.content)
        for r in request.tool_results
    )
    if not replaced:
        if "view" not in names:
            return Reply.call("view", path="calc.py")
        return Reply.call("str_replace", path="calc.py", old_str="return a - b", new_str="return a + b")
    if "mark_task_completed" not in names:
        return Reply.call("mark_task_completed", summary="add() now returns a + b")
    last_mark = len(names) - 1 - names[::-1].index("mark_task_completed")
    if "shell" not in names[last_mark:]:
        return Reply.call("shell", command=TEST_COMMAND)
    last = request.last_tool_result
    verdict = "the tests pass" if last and unittest_output_ok(last.content) else "the tests ran"
    return Reply.call("mark_task_completed", summary=f"Ran `{TEST_COMMAND}`: {verdict}.")


def _reviewer(request: ChatRequest) -> Reply:
    shell_results = [r for r in request.tool_results if r.name == "shell"]
    if not shell_results:
        return Reply.call("shell", command=TEST_COMMAND)
    if unittest_output_ok(shell_results[-1].content):
        return Reply.call("accept_review", summary=SUMMARY)
    return Reply.call("request_changes", items=["Make the failing tests pass"], feedback="the tests still fail")


def fix_bug_policy(request: ChatRequest) -> Reply:
    """The scripted model for the fixture: see the module docstring."""
    role = request.role
    if role == "router":
        return _router(request)
    if role == "planner":
        return _planner(request)
    if role == "programmer":
        return _programmer(request)
    if role == "reviewer":
        return _reviewer(request)
    if role == "summarizer":
        return Reply.text("Earlier: explored calc.py and ran the tests.")
    return Reply.text("The commands failed because of a wrong path or command; check the file names first.")


ASK_MARKER = "(ask me first)"
QUESTION = "Should mul() stay exactly as it is?"


def ask_first_policy(request: ChatRequest) -> Reply:
    """fix_bug_policy; when the task contains ASK_MARKER, the programmer first asks the human QUESTION."""
    if (
        request.role == "programmer"
        and ASK_MARKER in json.dumps(request.messages)
        and "request_human_help" not in request.call_names
    ):
        return Reply.call("request_human_help", question=QUESTION)
    return fix_bug_policy(request)
