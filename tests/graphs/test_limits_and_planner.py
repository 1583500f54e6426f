"""Each per-task limit ends the task with a named outcome; a planner that writes gets reverted."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.contract import TaskStatus
from tests.graphs.helpers import by_role, driver
from tests.support.fixture_repo import FILES, FixtureRepo, fix_bug_policy
from tests.support.scripted_openai import ChatRequest, Reply


@pytest.mark.parametrize(
    ("override", "name"),
    [
        ({"max_steps": 4}, "max_steps"),
        ({"max_total_tokens": 1500}, "max_total_tokens"),
        ({"max_wall_seconds": 0.001}, "max_wall_seconds"),
    ],
)
async def test_each_limit_ends_the_task_with_its_name(fixture_repo: FixtureRepo, provider, override, name) -> None:
    d = driver(fix_bug_policy, provider, auto_approve=True, **override)
    state = await d.send(repo=str(fixture_repo.path))
    assert state["status"] == TaskStatus.LIMIT_REACHED
    assert state["reason"].startswith(f"limit reached: {name}=")
    assert d.events[-1]["event"] == "failed" and d.events[-1]["status"] == "limit_reached"
    assert d.events[-1]["reason"] == state["reason"]
    if name == "max_steps":
        assert state["steps"] == 4


def writes_while_planning(request: ChatRequest) -> Reply | None:
    names = request.call_names
    if "shell" not in names:
        return Reply.call("shell", command="echo hacked >> calc.py && echo junk > junk.txt && mkdir -p d && touch d/x")
    if "str_replace" not in names:
        return Reply.call("str_replace", path="calc.py", old_str="a - b", new_str="a * b")
    return Reply.call("session_plan", plan=["Fix calc.add"])


async def test_a_planner_that_writes_is_reverted(fixture_repo: FixtureRepo, provider) -> None:
    d = driver(by_role(planner=writes_while_planning), provider)
    state = await d.send(repo=str(fixture_repo.path))
    assert state["status"] == TaskStatus.AWAITING_APPROVAL
    repo = Path(fixture_repo.path)
    assert (repo / "calc.py").read_text() == FILES["calc.py"]
    assert not (repo / "junk.txt").exists() and not (repo / "d").exists()
    assert sorted(state["reverted_paths"]) == ["calc.py", "d/x", "junk.txt"]
    str_replace_result = next(r for r in d.model.requests[-1].tool_results if r.name == "str_replace")
    assert str_replace_result.content.startswith("unknown tool 'str_replace'")
    assert any("reverted" in n for n in state["notes"])


def explores_forever(request: ChatRequest) -> Reply | None:
    if "session_plan" in request.tool_names and "view" in request.tool_names:
        return Reply.call("view", path="calc.py")
    return None


async def test_the_exploration_cap_forces_a_plan(fixture_repo: FixtureRepo, provider) -> None:
    d = driver(by_role(planner=explores_forever), provider, planner_max_exploration_steps=3)
    state = await d.send(repo=str(fixture_repo.path))
    assert state["status"] == TaskStatus.AWAITING_APPROVAL
    planner_calls = [r for r in d.model.requests if r.role == "planner"]
    assert len(planner_calls) == 4
    assert planner_calls[-1].tool_names == ["session_plan"]


async def test_a_thread_that_hit_the_token_limit_can_start_a_new_task(fixture_repo: FixtureRepo, provider) -> None:
    """The token limit is per task: the router's call for the thread's next message is not charged the old task's
    tokens."""
    d = driver(fix_bug_policy, provider, auto_approve=True, max_total_tokens=1500)
    first = await d.send(repo=str(fixture_repo.path))
    assert first["status"] == TaskStatus.LIMIT_REACHED
    d.events.clear()
    await d.send("Start over: fix calc.add so that the tests pass.")
    assert "task_started" in [e["event"] for e in d.events], d.events[-1]
