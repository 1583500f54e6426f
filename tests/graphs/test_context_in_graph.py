"""Context management inside a run: long histories get summarized and every prompt stays under the budget."""

from __future__ import annotations

from collections.abc import Callable

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from agent.context import SUMMARY_PREFIX
from agent.contract import TaskStatus
from tests.graphs.helpers import by_role, driver
from tests.support.fixture_repo import FixtureRepo
from tests.support.scripted_openai import ChatRequest, Reply

BUDGET = 6000


def noisy_programmer() -> Callable[[ChatRequest], Reply | None]:
    ran = [0]

    def handler(request: ChatRequest) -> Reply | None:
        if ran[0] < 14:
            ran[0] += 1
            return Reply.call("shell", command=f"echo run {ran[0]}; seq 100000 101500")
        return None

    return handler


async def test_long_histories_are_summarized_within_the_budget(fixture_repo: FixtureRepo, provider) -> None:
    d = driver(by_role(programmer=noisy_programmer()), provider, auto_approve=True, prompt_token_budget=BUDGET)
    state = await d.send(repo=str(fixture_repo.path))
    assert state["status"] == TaskStatus.COMPLETED, state.get("reason")
    assert max(d.model.prompt_tokens) <= BUDGET
    summaries = [r for r in d.model.requests if r.role == "summarizer"]
    assert summaries and state["usage"]["summarizer"]["calls"] == len(summaries)
    conversation = state["programmer_messages"]
    assert isinstance(conversation[0], HumanMessage) and conversation[0].text.startswith(SUMMARY_PREFIX)
    assert not isinstance(conversation[1], ToolMessage)
    owners = {c["id"] for m in conversation if isinstance(m, AIMessage) for c in m.tool_calls}
    assert all(m.tool_call_id in owners for m in conversation if isinstance(m, ToolMessage))
    # every request the model saw pairs each tool result with its call
    for request in d.model.requests:
        called = {c["id"] for m in request.messages for c in m.get("tool_calls") or []}
        assert all(m["tool_call_id"] in called for m in request.messages if m.get("role") == "tool")


async def test_a_git_url_is_cloned_for_the_local_backend(fixture_repo: FixtureRepo, provider, agent_env) -> None:
    from tests.support.fixture_repo import fix_bug_policy

    d = driver(fix_bug_policy, provider, auto_approve=True, thread_id="clone-1")
    state = await d.send(repo=f"file://{fixture_repo.path}")
    assert state["status"] == TaskStatus.COMPLETED
    assert state["project_path"].endswith("/clones/clone-1") and state["project_path"] != str(fixture_repo.path)
    assert "+    return a + b" in state["diff"]
    assert "return a - b" in (fixture_repo.path / "calc.py").read_text()  # the original is untouched
