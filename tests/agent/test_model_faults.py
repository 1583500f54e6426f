"""Malformed model output and transport errors, through the real ChatOpenAI client and the scripted endpoint."""

from __future__ import annotations

import threading

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver

from agent.contract import TaskStatus
from graphs.manager import build
from tests.support.fixture_repo import FIXTURE_TASK, FixtureRepo, fix_bug_policy, run_fixture_tests
from tests.support.scripted_openai import ChatRequest, Reply, ScriptedOpenAI, use_model_endpoint

NUDGE_START = "You replied without calling a tool"


def faulty_programmer(request: ChatRequest) -> Reply:
    """unknown tool, invalid arguments, broken JSON, then an empty reply; after the reminder, the normal fix."""
    if request.role != "programmer":
        return fix_bug_policy(request)
    n = len(request.calls)
    if n == 0:
        return Reply.call("delete_everything", path="/")
    if n == 1:
        return Reply.call("str_replace", path="calc.py", old="return a - b")
    if n == 2:
        return Reply.raw_call("view", '{"path": "calc.py"')
    if n == 3 and not request.user_text.startswith(NUDGE_START):
        return Reply.empty()
    return fix_bug_policy(request)


async def run(server: ScriptedOpenAI, repo: str, monkeypatch: pytest.MonkeyPatch, **configurable) -> dict:
    use_model_endpoint(server, monkeypatch, api_key="sk-test-key-000000")
    graph = build().compile(checkpointer=InMemorySaver())
    config: RunnableConfig = {
        "configurable": {"thread_id": "faults", "auto_approve": True, "sandbox_backend": "local", **configurable}
    }
    await graph.ainvoke({"messages": [{"role": "user", "content": FIXTURE_TASK}], "repo": repo}, config)
    return (await graph.aget_state(config)).values


async def test_malformed_output_becomes_tool_errors_and_the_task_completes(
    fixture_repo: FixtureRepo, agent_env: None, runtime_cleanup: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ScriptedOpenAI(faulty_programmer) as server:
        state = await run(server, str(fixture_repo.path), monkeypatch)
    assert state["status"] == TaskStatus.COMPLETED, state.get("reason")
    assert run_fixture_tests(fixture_repo.path).passed
    results = [r.content for r in server.requests_for("programmer")[-1].tool_results]
    assert results[0].startswith("unknown tool 'delete_everything'")
    assert results[1].startswith("invalid arguments for str_replace: old_str: Field required")
    assert "are not valid JSON" in results[2]
    later = server.requests_for("programmer")
    assert any(r.user_text.startswith(NUDGE_START) for r in later)  # the empty reply got a reminder
    # three failures in a row: the programmer diagnosed before going on
    assert len(server.requests_for("diagnose")) == 1


async def test_model_errors_are_retried_with_backoff(
    fixture_repo: FixtureRepo, agent_env: None, runtime_cleanup: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    failures = {"router": 1, "planner": 1}
    lock = threading.Lock()

    def flaky(request: ChatRequest) -> Reply:
        with lock:
            if failures.get(request.role, 0) > 0:
                failures[request.role] -= 1
                return Reply.http_error(500 if request.role == "router" else 429)
        return fix_bug_policy(request)

    with ScriptedOpenAI(flaky) as server:
        state = await run(server, str(fixture_repo.path), monkeypatch)
    assert state["status"] == TaskStatus.COMPLETED
    assert len(server.requests_for("router")) == 2
    assert state["usage"]["router"]["calls"] == 1


async def test_a_model_that_keeps_failing_fails_the_task_with_a_clear_reason(
    fixture_repo: FixtureRepo, agent_env: None, runtime_cleanup: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODEL_MAX_RETRIES", "1")
    with ScriptedOpenAI(lambda r: Reply.http_error(500, "the backend is down")) as server:
        state = await run(server, str(fixture_repo.path), monkeypatch)
    assert state["status"] == TaskStatus.FAILED
    assert state["reason"].startswith("model error (router): ") and "500" in state["reason"]
    assert "the backend is down" in state["reason"]
    assert len(server.requests) == 2  # one try + one retry, no fallback anywhere else
