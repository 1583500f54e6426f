"""The programmer asks a human and resumes; the reviewer sends work back (bounded); repeated failures get diagnosed."""

from __future__ import annotations

from agent.contract import TaskStatus
from agent.hitl import answer, question_request
from tests.graphs.helpers import by_role, driver
from tests.support.fixture_repo import FixtureRepo, run_fixture_tests
from tests.support.scripted_openai import ChatRequest, Reply

QUESTION = "Should add() also accept strings?"


def asks_first(request: ChatRequest) -> Reply | None:
    if "request_human_help" not in request.call_names:
        return Reply.call("request_human_help", question=QUESTION)
    return None


async def test_ask_a_human_then_resume_with_the_answer(fixture_repo: FixtureRepo, provider) -> None:
    d = driver(by_role(programmer=asks_first), provider, auto_approve=True)
    state = await d.send(repo=str(fixture_repo.path))
    assert state["status"] == TaskStatus.AWAITING_ANSWER
    (request,) = await d.interrupts()
    assert request == question_request(QUESTION)
    (action,) = request["action_requests"]
    assert action["name"] == "answer_question" and QUESTION in action["description"]
    assert {"event": "question_asked", "question": QUESTION} | {
        "call_id": state["pending_question"]["call_id"]
    } in d.events
    state = await d.resume(answer("No, numbers only."))  # {"decisions": [{"type": "edit", "edited_action": ...}]}
    assert state["status"] == TaskStatus.COMPLETED
    assert state["pending_question"] is None
    after = [r for r in d.model.requests if r.role == "programmer"][-1]
    assert "Answer from the human to your question" in str(after.messages) and "No, numbers only." in str(
        after.messages
    )
    assert run_fixture_tests(fixture_repo.path).passed


async def test_an_invalid_answer_asks_again(fixture_repo: FixtureRepo, provider) -> None:
    d = driver(by_role(programmer=asks_first), provider, auto_approve=True)
    await d.send(repo=str(fixture_repo.path))
    await d.resume({"type": "answer"})
    (request,) = await d.interrupts()
    assert request["type"] == "question" and "invalid resume value" in request["error"]
    state = await d.resume({"type": "answer", "message": "numbers only"})
    assert state["status"] == TaskStatus.COMPLETED


def sends_back_once(request: ChatRequest) -> Reply | None:
    if "Review round 1." in request.user_text and "request_changes" not in request.call_names:
        return Reply.call("request_changes", items=["Run the tests again after the fix"], feedback="show it passes")
    return None


async def test_the_reviewer_sends_work_back(fixture_repo: FixtureRepo, provider) -> None:
    d = driver(by_role(reviewer=sends_back_once), provider, auto_approve=True)
    state = await d.send(repo=str(fixture_repo.path))
    assert state["status"] == TaskStatus.COMPLETED
    assert state["review_round"] == 2
    assert [i["status"] for i in state["plan"]] == ["done", "done", "done"]
    assert state["plan"][2]["description"] == "Run the tests again after the fix"
    reviews = [e for e in d.events if e["event"] == "review"]
    assert [r["verdict"] for r in reviews] == ["changes_requested", "accepted"]
    assert sum(1 for r in d.model.requests if r.role == "reviewer" and "Review round 2." in r.user_text) >= 1


def never_satisfied(request: ChatRequest) -> Reply:
    return Reply.call("request_changes", items=["Polish once more"], feedback="not yet")


async def test_review_rounds_are_bounded(fixture_repo: FixtureRepo, provider) -> None:
    d = driver(by_role(reviewer=never_satisfied), provider, auto_approve=True, max_review_rounds=1)
    state = await d.send(repo=str(fixture_repo.path))
    assert state["status"] == TaskStatus.NEEDS_REVIEW
    assert state["review_round"] == 1 and state["review_verdict"] == "rounds_exhausted"
    assert state["plan"][-1]["status"] == "skipped"
    assert state["open_requests"] == ["Polish once more"]
    assert "Polish once more" in state["summary"]
    assert sum(1 for e in d.events if e["event"] == "review") == 1


def fails_three_times(request: ChatRequest) -> Reply | None:
    missing = sum(1 for name, args in request.calls if name == "view" and args.get("path") == "nope.py")
    if missing < 3:
        return Reply.call("view", path="nope.py")
    return None


async def test_repeated_failures_trigger_a_diagnosis(fixture_repo: FixtureRepo, provider) -> None:
    d = driver(by_role(programmer=fails_three_times), provider, auto_approve=True)
    state = await d.send(repo=str(fixture_repo.path))
    assert state["status"] == TaskStatus.COMPLETED
    diagnoses = [r for r in d.model.requests if r.role == "diagnose"]
    assert len(diagnoses) == 1 and "nope.py" in diagnoses[0].user_text
    assert "Diagnosis of the repeated failures" in str(state["programmer_messages"])
    assert state["usage"]["diagnose"]["calls"] == 1


def replans_first(request: ChatRequest) -> Reply | None:
    if "update_plan" not in request.call_names:
        return Reply.call("update_plan", remaining=["Fix calc.add", "Run the tests"], reason="simpler")
    return None


async def test_the_programmer_can_update_the_plan(fixture_repo: FixtureRepo, provider) -> None:
    d = driver(by_role(programmer=replans_first), provider, auto_approve=True)
    state = await d.send(repo=str(fixture_repo.path))
    assert state["status"] == TaskStatus.COMPLETED
    assert [(i["description"], i["status"]) for i in state["plan"]] == [
        ("Fix the bug in calc.add so that it returns a + b", "skipped"),  # in progress when replaced
        ("Fix calc.add", "done"),
        ("Run the tests", "done"),
    ]  # the pending item was replaced
    assert state["plan"][0]["summary"] == "replaced by a plan update: simpler"
    started = [e["index"] for e in d.events if e["event"] == "item_started"]
    assert started == [0, 1, 2]
