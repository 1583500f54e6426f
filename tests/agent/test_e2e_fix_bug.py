"""End to end through the real ChatOpenAI client: the scripted model fixes a real bug in a real repository, running
the tests with the agent's own `shell` tool in the local sandbox."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver

from agent.contract import TaskStatus
from graphs.manager import build
from tests.support.fixture_repo import FIXTURE_TASK, FixtureRepo, fix_bug_policy, run_fixture_tests, unittest_output_ok
from tests.support.scripted_openai import model_endpoint

SECRET = "sk-test-secret-0123456789"


def git(path: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(path), *args], check=True, capture_output=True, text=True).stdout


async def test_scripted_agent_fixes_the_bug_through_chat_openai(
    fixture_repo: FixtureRepo, agent_env: None, runtime_cleanup: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = fixture_repo.path
    (repo / ".env").write_text(f"OPENAI_API_KEY={SECRET}\n")  # untracked, not ignored: must never be committed
    assert not run_fixture_tests(repo).passed
    with model_endpoint(fix_bug_policy, monkeypatch, api_key=SECRET, model="scripted-model") as server:
        graph = build().compile(checkpointer=InMemorySaver())
        config: RunnableConfig = {
            "configurable": {"thread_id": "e2e-1", "auto_approve": True, "sandbox_backend": "local"}
        }
        events: list[dict[str, Any]] = []
        async for _namespace, mode, chunk in graph.astream(
            {"messages": [{"role": "user", "content": FIXTURE_TASK}], "repo": str(repo)},
            config,
            stream_mode=["custom", "updates", "messages"],
            subgraphs=True,
        ):
            if mode == "custom" and isinstance(chunk, dict):
                events.append(chunk)
        state = (await graph.aget_state(config)).values

    assert state["status"] == TaskStatus.COMPLETED, state.get("reason")
    assert run_fixture_tests(repo).passed
    # the agent's own shell saw the failure before the fix and the success after it
    shell_outputs = [(r.role, res.content) for r in server.requests for res in r.tool_results if res.name == "shell"]
    assert any(role == "planner" and "FAILED" in out for role, out in shell_outputs)
    assert any(role == "reviewer" and unittest_output_ok(out) for role, out in shell_outputs)
    # the real client streamed (messages mode) and asked for usage
    assert any(r.stream and r.raw.get("stream_options", {}).get("include_usage") for r in server.requests)
    assert {r.model for r in server.requests} == {"scripted-model"}
    # branch, commits, diff
    assert state["branch"] == "agent/e2e-1"
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip() == "agent/e2e-1"
    assert state["base_commit"] == fixture_repo.base_commit
    assert state["commits"] and all(len(c["sha"]) == 40 for c in state["commits"])
    assert "+    return a + b" in state["diff"] and "-    return a - b" in state["diff"]
    committed = git(repo, "log", "--name-only", "--format=", f"{fixture_repo.base_commit}..HEAD").split()
    assert committed == ["calc.py"] and ".env" not in committed
    # plan, summary, usage
    assert [i["status"] for i in state["plan"]] == ["done", "done"]
    assert "calc.add" in state["summary"]
    for role in ("router", "planner", "programmer", "reviewer", "total"):
        assert state["usage"][role]["calls"] >= 1 and state["usage"][role]["total_tokens"] > 0
    assert state["usage"]["total"]["calls"] == sum(v["calls"] for k, v in state["usage"].items() if k != "total")
    # events, in order
    kinds = [e["event"] for e in events]
    for earlier, later in [
        ("task_started", "plan_proposed"),
        ("plan_proposed", "plan_approved"),
        ("plan_approved", "item_started"),
        ("item_started", "item_completed"),
        ("item_completed", "review"),
        ("review", "finished"),
    ]:
        assert kinds.index(earlier) < kinds.index(later), (earlier, later, kinds)
    assert "tool_output" in kinds and "diff_updated" in kinds
    # the secret never reached a tool output or an event
    assert all(SECRET not in str(e) for e in events)


async def test_one_scripted_server_serves_concurrent_tasks(
    tmp_path: Path, agent_env: None, runtime_cleanup: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from tests.support.fixture_repo import create_fixture_repo

    repos = [create_fixture_repo(tmp_path / f"repo{i}") for i in range(4)]
    with model_endpoint(fix_bug_policy, monkeypatch, api_key=SECRET, model="scripted-model"):
        graph = build().compile(checkpointer=InMemorySaver())

        async def run(i: int) -> dict:
            config: RunnableConfig = {"configurable": {"thread_id": f"many-{i}", "auto_approve": True}}
            await graph.ainvoke(
                {"messages": [{"role": "user", "content": FIXTURE_TASK}], "repo": str(repos[i].path)}, config
            )
            return (await graph.aget_state(config)).values

        states = await asyncio.gather(*(run(i) for i in range(len(repos))))
    assert [s["status"] for s in states] == [TaskStatus.COMPLETED] * len(repos)
    assert all(run_fixture_tests(r.path).passed for r in repos)
    assert sorted(s["branch"] for s in states) == [f"agent/many-{i}" for i in range(len(repos))]
