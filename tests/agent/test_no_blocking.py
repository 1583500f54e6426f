"""The agent's own code never blocks the event loop: the whole flow runs under the same blockbuster check that
`langgraph dev` enables (without --allow-blocking), the local provider's first acquire of the workspace included."""

from __future__ import annotations

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph_runtime_inmem.queue import _enable_blockbuster

from agent.contract import TaskStatus
from graphs.manager import build
from tests.support.fixture_repo import FIXTURE_TASK, FixtureRepo, fix_bug_policy, run_fixture_tests
from tests.support.scripted_openai import model_endpoint


async def test_the_flow_makes_no_blocking_calls(
    fixture_repo: FixtureRepo, agent_env: None, runtime_cleanup: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with model_endpoint(fix_bug_policy, monkeypatch, api_key="sk-test-0000000", model="scripted"):
        graph = build().compile(checkpointer=InMemorySaver())
        config: RunnableConfig = {"configurable": {"thread_id": "nb-1", "auto_approve": True}}
        blockbuster = _enable_blockbuster()
        try:
            await graph.ainvoke(
                {"messages": [{"role": "user", "content": FIXTURE_TASK}], "repo": str(fixture_repo.path)}, config
            )
        finally:
            blockbuster.deactivate()
        state = (await graph.aget_state(config)).values
    assert state["status"] == TaskStatus.COMPLETED, state.get("reason")
    assert run_fixture_tests(fixture_repo.path).passed
