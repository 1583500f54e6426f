"""Honest outcomes: `completed` only when the reviewer accepted; exactly MAX_REVIEW_ROUNDS review passes, then
`needs_review` with the open requests; the task API's intent is not the router's guess; a chatty router still starts
the task; the project's test runs are recorded; the planner's test caches are not "modified files"."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from agent.config import AgentSettings
from agent.contract import TaskStatus
from tests.graphs.helpers import by_role, driver
from tests.support.fixture_repo import FIXTURE_TASK, TEST_COMMAND, FixtureRepo, run_fixture_tests
from tests.support.scripted_openai import ChatRequest, Reply

ROOT = Path(__file__).resolve().parents[2]


def never_satisfied(request: ChatRequest) -> Reply:
    return Reply.call("request_changes", items=[f"Polish {request.user_text[:15]!r}"], feedback="not yet")


async def test_exactly_max_review_rounds_run_then_the_task_needs_review(fixture_repo: FixtureRepo, provider) -> None:
    d = driver(by_role(reviewer=never_satisfied), provider, auto_approve=True)
    state = await d.send(repo=str(fixture_repo.path))
    rounds = AgentSettings().max_review_rounds
    assert rounds == 2
    assert state["status"] == TaskStatus.NEEDS_REVIEW
    assert state["review_round"] == rounds
    reviews = [e for e in d.events if e["event"] == "review"]
    assert [r["round"] for r in reviews] == [1, 2] and reviews[-1]["rounds_exhausted"] is True
    assert not any("Review round 3." in r.user_text for r in d.model.requests if r.role == "reviewer")
    assert state["open_requests"] == ["Polish 'Review round 2.'"]
    finished = [e for e in d.events if e["event"] == "finished"]
    assert [(e["status"], e["open_requests"]) for e in finished] == [("needs_review", state["open_requests"])]
    assert not any(e["event"] == "finished" and e["status"] == "completed" for e in d.events)


def test_the_readme_and_env_example_state_the_review_rounds_the_settings_use() -> None:
    default = AgentSettings.model_fields["max_review_rounds"].default
    assert f"MAX_REVIEW_ROUNDS={default}" in (ROOT / ".env.example").read_text()
    readme = (ROOT / "README.md").read_text()
    assert re.search(rf"`MAX_REVIEW_ROUNDS` \(default {default}\)", readme), "README must state the default rounds"


async def test_a_reviewer_that_only_talks_does_not_complete_the_task(fixture_repo: FixtureRepo, provider) -> None:
    d = driver(
        by_role(reviewer=lambda r: Reply.text("Looks mostly fine, but I have doubts.")), provider, auto_approve=True
    )
    state = await d.send(repo=str(fixture_repo.path))
    assert state["status"] == TaskStatus.NEEDS_REVIEW
    assert state["open_requests"] == [
        "the reviewer gave no verdict; its last reply: Looks mostly fine, but I have doubts."
    ]


async def test_a_chatty_router_still_starts_the_task(fixture_repo: FixtureRepo, provider) -> None:
    prose = "Sure! It sounds like add() has a bug. I would look at calc.py and fix the subtraction."
    d = driver(by_role(router=lambda r: Reply.text(prose)), provider, auto_approve=True)
    state = await d.send(repo=str(fixture_repo.path))
    assert state["status"] == TaskStatus.COMPLETED, state.get("reason")
    assert state["task"] == FIXTURE_TASK and not state.get("answer")
    assert run_fixture_tests(fixture_repo.path).passed


async def test_a_task_from_the_task_api_skips_the_router(fixture_repo: FixtureRepo, provider) -> None:
    answers = by_role(router=lambda r: Reply.call("answer", reply="Nothing to do."))
    d = driver(answers, provider, auto_approve=True)
    state = await d._run(
        {"messages": [{"role": "user", "content": FIXTURE_TASK}], "repo": str(fixture_repo.path), "intent": "task"}
    )
    assert state["status"] == TaskStatus.COMPLETED
    assert "router" not in {r.role for r in d.model.requests}
    assert state["intent"] == ""  # consumed: a later chat message goes through the router again
    state = await d.send("What did you change?")
    assert state["status"] == TaskStatus.COMPLETED and state["answer"] == "Nothing to do."
    assert [r.role for r in d.model.requests].count("router") == 1


async def test_an_answer_is_a_finished_event_and_kept_in_the_state(provider) -> None:
    d = driver(by_role(router=lambda r: Reply.call("answer", reply="I edit code in a sandbox.")), provider)
    state = await d.send("What do you do?")
    assert state["status"] == TaskStatus.ANSWERED
    assert state["answer"] == state["summary"] == "I edit code in a sandbox."
    assert [e for e in d.events if e["event"] in ("finished", "failed")] == [
        {"event": "finished", "status": "answered", "summary": "I edit code in a sandbox.", "answer": state["answer"]}
    ]


async def test_the_project_test_runs_are_recorded(fixture_repo: FixtureRepo, provider) -> None:
    d = driver(by_role(), provider, auto_approve=True)
    state = await d.send(repo=str(fixture_repo.path))
    assert state["status"] == TaskStatus.COMPLETED
    assert state["test_runs"] == 3  # planner (failing), programmer and reviewer (passing)
    last = state["last_test_run"]
    assert (last["command"], last["exit_code"], last["framework"], last["ok"]) == (TEST_COMMAND, 0, "unittest", True)
    assert (last["passed"], last["failed"], last["total"]) == (2, 0, 2)
    runs = [e for e in d.events if e["event"] == "test_run"]
    assert [(r["ok"], r["failed"], r["errors"]) for r in runs] == [(False, 1, 0), (True, 0, 0), (True, 0, 0)]


def _planner_runs_tests_and_scribbles(request: ChatRequest) -> Reply | None:
    names = request.call_names
    if "session_plan" not in request.tool_names:
        return None
    if names.count("shell") == 0:  # writes __pycache__ (no -B) and a pytest-style cache
        return Reply.call(
            "shell", command="python3 -m unittest; mkdir -p .pytest_cache/v && echo 1 > .pytest_cache/v/x"
        )
    if names.count("shell") == 1:
        return Reply.call("shell", command="echo scribble >> README.md && echo new > notes.txt")
    return Reply.call("session_plan", title="Fix calc.add", plan=["Fix calc.add"])


async def test_the_planner_may_run_tests_but_real_writes_are_reverted(fixture_repo: FixtureRepo, provider) -> None:
    repo = fixture_repo.path
    subprocess.run(["git", "-C", str(repo), "rm", "-q", ".gitignore"], check=True)
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "no ignore"], check=True
    )
    d = driver(by_role(planner=_planner_runs_tests_and_scribbles), provider)
    state = await d.send(repo=str(repo))
    assert state["status"] == TaskStatus.AWAITING_APPROVAL
    assert sorted(state["reverted_paths"]) == ["README.md", "notes.txt"]
    assert (repo / "__pycache__").is_dir() and (repo / ".pytest_cache/v/x").is_file()  # caches stay, unreported
    assert "scribble" not in (repo / "README.md").read_text() and not (repo / "notes.txt").exists()
    note = next(e for e in d.events if e.get("call_id") == "planner-revert")
    assert "__pycache__" not in note["output"] and ".pytest_cache" not in note["output"]


def satisfied_after_follow_up(request: ChatRequest) -> Reply | None:
    if "Follow-up from the user" in request.system:
        return None  # fix_bug_policy: runs the tests, then accepts
    return never_satisfied(request)


async def test_a_follow_up_to_a_task_that_needs_review_can_complete_it(fixture_repo: FixtureRepo, provider) -> None:
    d = driver(by_role(reviewer=satisfied_after_follow_up), provider, auto_approve=True, max_review_rounds=1)
    first = await d.send(repo=str(fixture_repo.path))
    assert first["status"] == TaskStatus.NEEDS_REVIEW and first["open_requests"]
    state = await d._run({"messages": [{"role": "user", "content": "Do the polish."}], "intent": "follow_up"})
    assert state["status"] == TaskStatus.COMPLETED, state.get("reason")
    assert state["open_requests"] == [] and state["review_verdict"] == "accepted"
    assert state["branch"] == first["branch"]
