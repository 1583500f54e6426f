"""What LangChain's chat UIs see of the `agent` graph: HITL interrupts, decisions, a readable `messages`, and a
`messages` stream without the role models' chatter (in process; tests/chatui/ runs the same against `langgraph dev`)."""

from __future__ import annotations

from typing import Any, cast

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langgraph.types import Command

from agent.contract import TaskStatus
from agent.hitl import approve, edit_plan, reject
from tests.graphs.helpers import Driver, by_role, driver
from tests.graphs.test_programmer_flow import QUESTION, asks_first
from tests.support.fixture_repo import FIXTURE_TASK, PLAN, FixtureRepo, fix_bug_policy


async def test_the_plan_interrupt_is_a_hitl_request(fixture_repo: FixtureRepo, provider) -> None:
    d = driver(fix_bug_policy, provider)
    await d.send(repo=str(fixture_repo.path))
    (request,) = await d.interrupts()
    (action,) = request["action_requests"]
    assert action["name"] == "approve_plan" and action["args"] == {"plan": PLAN}
    assert all(step in action["description"] for step in PLAN)
    (config,) = request["review_configs"]
    assert config["action_name"] == "approve_plan"
    assert config["allowed_decisions"] == ["approve", "edit", "reject"]
    state = await d.resume(approve())
    assert state["status"] == TaskStatus.COMPLETED


async def test_legacy_human_interrupt_accept_list(fixture_repo: FixtureRepo, provider) -> None:
    d = driver(fix_bug_policy, provider)
    await d.send(repo=str(fixture_repo.path))
    state = await d.resume([{"type": "accept", "args": None}])
    assert state["status"] == TaskStatus.COMPLETED


@pytest.mark.parametrize("text", ['["Fix calc.add", "Run the tests"]', "Fix calc.add\n- Run the tests\n"])
async def test_an_edit_from_a_chat_ui_form_is_text(fixture_repo: FixtureRepo, provider, text: str) -> None:
    """Agent Chat UI sends edited args back as strings: a JSON list, or one step per line."""
    d = driver(fix_bug_policy, provider)
    await d.send(repo=str(fixture_repo.path))
    edited = {"type": "edit", "edited_action": {"name": "approve_plan", "args": {"plan": text}}}
    state = await d.resume({"decisions": [edited]})
    assert [i["description"] for i in state["plan"]] == ["Fix calc.add", "Run the tests"]
    assert state["status"] == TaskStatus.COMPLETED


async def test_edit_decision_runs_the_edited_plan(fixture_repo: FixtureRepo, provider) -> None:
    d = driver(fix_bug_policy, provider)
    await d.send(repo=str(fixture_repo.path))
    state = await d.resume(edit_plan(["Fix calc.add", "Run the tests"]))
    assert [(i["description"], i["status"]) for i in state["plan"]] == [
        ("Fix calc.add", "done"),
        ("Run the tests", "done"),
    ]


async def test_reject_with_a_message_is_feedback_and_without_one_ends_the_task(
    fixture_repo: FixtureRepo, provider
) -> None:
    d = driver(fix_bug_policy, provider)
    await d.send(repo=str(fixture_repo.path))
    state = await d.resume(reject("Keep mul untouched."))
    assert state["status"] == TaskStatus.AWAITING_APPROVAL
    replan = [r for r in d.model.requests if r.role == "planner"][-1]
    assert "Feedback on your plan from the user: Keep mul untouched." in str(replan.messages)
    assert any(isinstance(m, HumanMessage) and m.content == "Keep mul untouched." for m in state["messages"])
    state = await d.resume(reject())
    assert state["status"] == TaskStatus.REJECTED


async def test_invalid_decisions_ask_again_with_the_error(fixture_repo: FixtureRepo, provider) -> None:
    d = driver(fix_bug_policy, provider)
    await d.send(repo=str(fixture_repo.path))
    bad_values: tuple[dict[str, Any], ...] = (
        {"decisions": []},
        {"decisions": [{"type": "approve"}, {"type": "approve"}]},
        {"decisions": [{"type": "edit", "edited_action": {"name": "approve_plan", "args": {"plan": []}}}]},
        {"decisions": [{"type": "maybe"}]},
    )
    for bad in bad_values:
        await d.resume(bad)
        (request,) = await d.interrupts()
        assert request["error"].startswith("invalid resume value:")
        assert request["action_requests"][0]["description"].startswith("invalid resume value:")
    assert (await d.resume(approve()))["status"] == TaskStatus.COMPLETED


async def test_a_question_is_answered_by_a_reject_message_too(fixture_repo: FixtureRepo, provider) -> None:
    d = driver(by_role(programmer=asks_first), provider, auto_approve=True)
    await d.send(repo=str(fixture_repo.path))
    (request,) = await d.interrupts()
    assert request["review_configs"][0]["allowed_decisions"] == ["edit", "reject"]
    state = await d.resume({"decisions": [{"type": "reject", "message": "numbers only"}]})
    assert state["status"] == TaskStatus.COMPLETED
    texts = [str(m.content) for m in state["messages"]]
    assert QUESTION in texts and "numbers only" in texts


async def test_messages_are_a_readable_conversation(fixture_repo: FixtureRepo, provider) -> None:
    d = driver(fix_bug_policy, provider)
    streamed = await _stream(
        d, {"messages": [{"role": "user", "content": FIXTURE_TASK}], "repo": str(fixture_repo.path)}
    )
    streamed += await _stream(d, Command(resume=approve()))
    state = await d.state()
    messages = state["messages"]
    assert isinstance(messages[0], HumanMessage) and messages[0].content == FIXTURE_TASK
    assert all(isinstance(m, AIMessage) for m in messages[1:]) and not any(m.tool_calls for m in messages[1:])
    plan, *progress, final = [str(m.content) for m in messages[1:]]
    assert plan.startswith("Here is my plan:") and all(step in plan for step in PLAN)
    assert [p.split(",")[0] for p in progress] == ["Done 1/2", "Done 2/2"]
    assert "1 file changed, +1 -1 on branch `agent/t1`" in final
    assert final.startswith(state["summary"])
    # the messages stream carries exactly the graph's conversation: no role model's token or message
    assert {m.id for m in streamed} == {m.id for m in messages[1:]}
    assert all(type(m) is AIMessage and not m.tool_calls for m in streamed)  # whole messages: no chunk, no tool call
    assert len(d.model.requests) > 5  # the role models did talk: just not on this stream


async def _stream(d: Driver, payload: Any) -> list[BaseMessage]:
    out: list[BaseMessage] = []
    async for mode, chunk in d.graph.astream(payload, d.config, stream_mode=["messages", "custom"]):
        if mode == "messages":
            message, _metadata = cast(tuple[BaseMessage, dict[str, Any]], chunk)
            out.append(message)
    return out
