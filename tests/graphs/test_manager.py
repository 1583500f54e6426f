"""The manager: direct answers, follow-ups to the current task, and a run with no usable model."""

from __future__ import annotations

from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver

from agent.contract import TaskStatus
from graphs.manager import build
from tests.graphs.helpers import by_role, driver
from tests.support.fixture_repo import FixtureRepo
from tests.support.scripted_openai import ChatRequest, Reply


def answers(request: ChatRequest) -> Reply:
    return Reply.call("answer", reply="The agent edits code in a sandbox.")


async def test_a_question_is_answered_without_starting_a_task(provider) -> None:
    d = driver(by_role(router=answers), provider)
    state = await d.send("What do you do?")
    assert state["status"] == TaskStatus.ANSWERED
    assert isinstance(state["messages"][-1], AIMessage)
    assert state["messages"][-1].content == "The agent edits code in a sandbox."
    assert "sandbox_id" not in state and "task" not in state
    assert [r.role for r in d.model.requests] == ["router"]


def routes_follow_ups(request: ChatRequest) -> Reply | None:
    if "There is no current task." in request.user_text:
        return None
    return Reply.call("add_to_current_task", instructions="Also run the tests one more time.")


async def test_a_follow_up_goes_to_the_current_task(fixture_repo: FixtureRepo, provider) -> None:
    d = driver(by_role(router=routes_follow_ups), provider, auto_approve=True)
    first = await d.send(repo=str(fixture_repo.path))
    assert first["status"] == TaskStatus.COMPLETED
    state = await d.send("And run the tests again, please.")
    assert state["status"] == TaskStatus.COMPLETED
    assert state["task"].endswith("Follow-up from the user: Also run the tests one more time.")
    assert state["branch"] == first["branch"] and state["sandbox_id"] == first["sandbox_id"]
    assert [i["status"] for i in state["plan"]] == ["done"] * len(state["plan"]) and len(state["plan"]) == 4
    planner = [r for r in d.model.requests if r.role == "planner"][-1]
    assert planner.user_text == "New request from the user, plan it:\nAlso run the tests one more time."
    assert sum(1 for e in d.events if e["event"] == "finished") == 2


async def test_a_new_task_in_the_same_thread_starts_fresh(fixture_repo: FixtureRepo, provider) -> None:
    d = driver(by_role(), provider, auto_approve=True)
    first = await d.send(repo=str(fixture_repo.path))
    state = await d.send("Fix calc again")
    assert state["status"] == TaskStatus.COMPLETED
    assert state["task"] == "Fix calc again"
    assert state["base_commit"] != first["base_commit"]  # the new task's diff starts after the first task's work
    assert state["usage"]["router"]["calls"] == 2  # usage is per thread


async def test_an_empty_router_reply_starts_the_task(fixture_repo: FixtureRepo, provider) -> None:
    d = driver(by_role(router=lambda r: Reply.empty()), provider, auto_approve=True)
    state = await d.send(repo=str(fixture_repo.path))
    assert state["status"] == TaskStatus.COMPLETED


async def test_no_model_configured_fails_at_once_naming_the_variables(agent_env: None) -> None:
    graph = build().compile(checkpointer=InMemorySaver())
    config: RunnableConfig = {"configurable": {"thread_id": "nomodel"}}
    events = []
    async for mode, chunk in graph.astream(
        {"messages": [{"role": "user", "content": "fix it"}]}, config, stream_mode=["custom", "updates"]
    ):
        if mode == "custom":
            events.append(chunk)
    state = (await graph.aget_state(config)).values
    assert state["status"] == TaskStatus.FAILED
    assert "MODEL" in state["reason"] and "OPENAI_API_KEY" in state["reason"] and "OPENAI_BASE_URL" in state["reason"]
    assert events == [{"event": "failed", "status": "failed", "reason": state["reason"]}]
