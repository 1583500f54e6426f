"""A full agent task whose sandbox is served over MCP: the manager graph with `sandbox_backend="mcp"` (the provider
built from SANDBOX_MCP_URL / SANDBOX_MCP_API_KEY, as the service does), the real ChatOpenAI client against the scripted
model, a real `open-swe mcp` server process holding the sandbox, real git inside it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver

from agent.contract import TaskStatus
from agent.runtime import acquire_sandbox, close_providers, release_sandbox
from graphs.manager import build
from tests.agent.conftest import agent_env, fixture_repo, runtime_cleanup  # noqa: F401
from tests.mcp.process import McpServerProcess
from tests.support.fixture_repo import FIXTURE_TASK, TEST_COMMAND, FixtureRepo, fix_bug_policy, unittest_output_ok
from tests.support.scripted_openai import model_endpoint

pytestmark = pytest.mark.e2e
OPENAI_KEY = "sk-test-mcp-task-0123456789"


@pytest.fixture
def mcp_env(
    mcp_process: McpServerProcess,
    monkeypatch: pytest.MonkeyPatch,
    agent_env: None,  # noqa: F811
    runtime_cleanup: None,  # noqa: F811
) -> McpServerProcess:
    monkeypatch.setenv("SANDBOX_MCP_URL", mcp_process.url)
    monkeypatch.setenv("SANDBOX_MCP_API_KEY", mcp_process.key)
    monkeypatch.delenv("SANDBOX_MCP_BACKEND", raising=False)
    return mcp_process


def _git(path: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(path), *args], check=True, capture_output=True, text=True).stdout


async def test_a_full_task_runs_on_a_sandbox_served_over_mcp(
    fixture_repo: FixtureRepo,  # noqa: F811
    mcp_env: McpServerProcess,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"file://{fixture_repo.path}"
    with model_endpoint(fix_bug_policy, monkeypatch, api_key=OPENAI_KEY, model="scripted") as model:
        graph = build().compile(checkpointer=InMemorySaver())
        config: RunnableConfig = {
            "configurable": {"thread_id": "mcp-1", "auto_approve": True, "sandbox_backend": "mcp"}
        }
        await graph.ainvoke({"messages": [{"role": "user", "content": FIXTURE_TASK}], "repo": url}, config)
        state = dict((await graph.aget_state(config, subgraphs=True)).values)
        assert model.requests, "the task ran through the scripted model"

    assert state["status"] == TaskStatus.COMPLETED, state.get("reason")
    assert state["sandbox_backend"] == "mcp" and state["sandbox_id"].startswith("sbx_")
    assert "-    return a - b" in state["diff"] and "+    return a + b" in state["diff"]

    # The work lives on the MCP server, in that sandbox's workspace: the branch, the commits, the fix.
    workspace = mcp_env.state_dir / "mcp" / state["sandbox_id"]
    assert _git(workspace, "rev-parse", "--abbrev-ref", "HEAD").strip() == "agent/mcp-1"
    shas = _git(workspace, "log", "--format=%H", f"{state['base_commit']}..HEAD").split()
    assert shas and {c["sha"] for c in state["commits"]} <= set(shas)
    assert "return a + b" in (workspace / "calc.py").read_text()
    assert "return a - b" in (fixture_repo.path / "calc.py").read_text()  # the source repository is untouched

    # No credential reaches the state, the model, or the sandbox's environment.
    sandbox, backend, _ = await acquire_sandbox(state, config)
    environment = await sandbox.exec("env")
    assert environment.ok and "PATH=" in environment.output
    for secret in (OPENAI_KEY, mcp_env.key):
        assert secret not in json.dumps(state, default=repr)
        assert secret not in environment.output
        assert all(secret not in json.dumps(r.messages) for r in model.requests)

    # After a restart (no provider held), the thread finds the same remote sandbox, work intact, not re-cloned.
    await close_providers()
    again, backend, _ = await acquire_sandbox(state, config)
    assert (again.id, backend) == (state["sandbox_id"], "mcp")
    tests = await again.exec(TEST_COMMAND)
    assert tests.ok and unittest_output_ok(tests.output), tests.output

    # The service's release deletes it on the server.
    await release_sandbox("mcp", state["sandbox_id"])
    assert not workspace.exists()
