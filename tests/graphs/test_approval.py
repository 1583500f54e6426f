"""Plan approval: accept, edit, respond with feedback, ignore, and an invalid resume value."""

from __future__ import annotations

from pathlib import Path

from agent.contract import TaskStatus
from tests.graphs.helpers import driver
from tests.support.fixture_repo import PLAN, FixtureRepo, fix_bug_policy, run_fixture_tests


async def test_the_plan_waits_for_approval_and_accept_runs_it(fixture_repo: FixtureRepo, provider) -> None:
    d = driver(fix_bug_policy, provider)
    state = await d.send(repo=str(fixture_repo.path))
    assert state["status"] == TaskStatus.AWAITING_APPROVAL
    (request,) = await d.interrupts()
    assert request["type"] == "plan_approval"
    assert [i["description"] for i in request["plan"]] == PLAN
    assert "plan_approved" not in d.kinds()
    state = await d.resume({"type": "accept"})
    assert state["status"] == TaskStatus.COMPLETED
    assert run_fixture_tests(fixture_repo.path).passed


async def test_edit_replaces_the_plan(fixture_repo: FixtureRepo, provider) -> None:
    d = driver(fix_bug_policy, provider)
    await d.send(repo=str(fixture_repo.path))
    edited = ["Fix calc.add", "Run the tests", "Run the tests once more"]
    state = await d.resume({"type": "edit", "plan": edited})
    assert state["status"] == TaskStatus.COMPLETED
    assert [(i["description"], i["status"]) for i in state["plan"]] == [(e, "done") for e in edited]
    approved = next(e for e in d.events if e["event"] == "plan_approved")
    assert approved["edited"] is True


async def test_response_sends_feedback_to_the_planner_and_asks_again(fixture_repo: FixtureRepo, provider) -> None:
    d = driver(fix_bug_policy, provider)
    await d.send(repo=str(fixture_repo.path))
    state = await d.resume({"type": "response", "message": "Please keep mul untouched."})
    assert state["status"] == TaskStatus.AWAITING_APPROVAL
    (request,) = await d.interrupts()
    assert request["type"] == "plan_approval"
    replan = [r for r in d.model.requests if r.role == "planner"][-1]
    assert "Feedback on your plan from the user: Please keep mul untouched." in str(replan.messages)
    state = await d.resume({"type": "accept"})
    assert state["status"] == TaskStatus.COMPLETED


async def test_ignore_rejects_the_task_without_touching_the_repository(fixture_repo: FixtureRepo, provider) -> None:
    d = driver(fix_bug_policy, provider)
    await d.send(repo=str(fixture_repo.path))
    state = await d.resume({"type": "ignore"})
    assert state["status"] == TaskStatus.REJECTED
    assert state["reason"] == "plan rejected by the user"
    assert state["commits"] == [] and state["diff"] == ""
    assert "return a - b" in Path(fixture_repo.path, "calc.py").read_text()
    assert d.events[-1] == {"event": "failed", "status": "rejected", "reason": "plan rejected by the user"}
    assert not any(r.role == "programmer" for r in d.model.requests)


async def test_an_invalid_resume_value_asks_again_with_an_error(fixture_repo: FixtureRepo, provider) -> None:
    d = driver(fix_bug_policy, provider)
    await d.send(repo=str(fixture_repo.path))
    for bad in ({"type": "maybe"}, {"type": "edit", "plan": []}, {"type": "response"}, 42):
        state = await d.resume(bad)
        assert state["status"] == TaskStatus.AWAITING_APPROVAL
        (request,) = await d.interrupts()
        assert request["type"] == "plan_approval" and request["error"].startswith("invalid resume value:")
    state = await d.resume("accept")
    assert state["status"] == TaskStatus.COMPLETED
