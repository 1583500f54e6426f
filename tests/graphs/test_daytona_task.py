"""A full agent task on the Daytona backend: the manager graph, the real ChatOpenAI client against the scripted model,
the real `daytona` SDK against the local Daytona test server (commands under bubblewrap), real git in the sandbox.

The agent finds its provider the way the service does: `sandbox_backend="daytona"` and the DAYTONA_* environment.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver

from agent.contract import TaskStatus
from agent.runtime import acquire_sandbox, close_providers, get_provider, release_sandbox
from graphs.manager import build
from tests.daytona_server.server import API_KEY, DaytonaTestServer
from tests.support.fixture_repo import FIXTURE_TASK, TEST_COMMAND, FixtureRepo, fix_bug_policy, unittest_output_ok
from tests.support.net import free_port, wait_for_port
from tests.support.scripted_openai import ChatRequest, Reply, model_endpoint

OPENAI_KEY = "sk-test-daytona-task-0123456789"
DAYTONA_VARIABLES = (
    "DAYTONA_API_KEY",
    "DAYTONA_API_URL",
    "DAYTONA_TARGET",
    "DAYTONA_SNAPSHOT",
    "DAYTONA_OS_USER",
    "DAYTONA_WORKSPACE_DIR",
    "DAYTONA_SERVICE_LABEL",
    "DAYTONA_AUTO_STOP_MINUTES",
    "DAYTONA_AUTO_DELETE_MINUTES",
    "DAYTONA_NETWORK_BLOCK_ALL",
    "DAYTONA_RELEASE_ACTION",
    "DAYTONA_POOL_SIZE",
    "REDIS_URL",
    "DAYTONA_CREATE_TIMEOUT",
    "DAYTONA_START_TIMEOUT",
    "DAYTONA_REQUEST_TIMEOUT",
    "DAYTONA_RETRY_DEADLINE",
    "DAYTONA_RETRY_BASE_DELAY",
    "DAYTONA_RETRY_MAX_DELAY",
)


@pytest.fixture
def daytona_env(
    daytona_server: DaytonaTestServer, monkeypatch: pytest.MonkeyPatch, agent_env: None, runtime_cleanup: None
) -> DaytonaTestServer:
    """The agent's daytona provider points at the test server (created by the run, closed after the test)."""
    for name in DAYTONA_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DAYTONA_API_KEY", API_KEY)
    monkeypatch.setenv("DAYTONA_API_URL", daytona_server.api_url)
    monkeypatch.setenv("DAYTONA_SNAPSHOT", "test-snapshot")
    monkeypatch.setenv("DAYTONA_RETRY_DEADLINE", "5")
    monkeypatch.setenv("DAYTONA_RETRY_BASE_DELAY", "0.01")
    monkeypatch.setenv("DAYTONA_RETRY_MAX_DELAY", "0.05")
    monkeypatch.setenv("DAYTONA_CREATE_TIMEOUT", "20")
    monkeypatch.setenv("DAYTONA_START_TIMEOUT", "20")
    return daytona_server


@pytest.fixture
def git_url(fixture_repo: FixtureRepo) -> Iterator[str]:
    """A git:// URL of the fixture repository, served by `git daemon` on loopback: the sandbox has its own /tmp,
    so a file:// URL of a repository under the host's /tmp does not resolve inside it (as on a real Daytona)."""
    port = free_port()
    daemon = subprocess.Popen(
        [
            "git",
            "daemon",
            "--reuseaddr",
            "--export-all",
            "--informative-errors",
            "--listen=127.0.0.1",
            f"--port={port}",
            f"--base-path={fixture_repo.path.parent}",
            str(fixture_repo.path.parent),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,  # the port probe's hang-ups
    )
    try:
        wait_for_port(port, timeout=10)
        yield f"git://127.0.0.1:{port}/{fixture_repo.path.name}"
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)


def _git(path: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(path), *args], check=True, capture_output=True, text=True).stdout


async def test_a_full_task_runs_on_the_daytona_backend(
    fixture_repo: FixtureRepo, git_url: str, daytona_env: DaytonaTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    host_status_before = _git(fixture_repo.path, "status", "--porcelain")
    with model_endpoint(fix_bug_policy, monkeypatch, api_key=OPENAI_KEY, model="scripted") as model:
        graph = build().compile(checkpointer=InMemorySaver())
        config: RunnableConfig = {
            "configurable": {"thread_id": "dt-1", "auto_approve": True, "sandbox_backend": "daytona"}
        }
        await graph.ainvoke({"messages": [{"role": "user", "content": FIXTURE_TASK}], "repo": git_url}, config)
        state = dict((await graph.aget_state(config, subgraphs=True)).values)
        assert model.requests, "the task ran through the scripted model"

    assert state["status"] == TaskStatus.COMPLETED, state.get("reason")
    assert state["sandbox_backend"] == "daytona" and state["sandbox_id"]
    assert "-    return a - b" in state["diff"] and "+    return a + b" in state["diff"]
    assert state["branch"] == "agent/dt-1"

    # The sandbox is a real one on the test server, made by the agent's own (environment-configured) provider.
    record = daytona_env.sandbox(state["sandbox_id"])
    assert record is not None and record.labels.get("open-swe.thread") == "dt-1"
    sandbox = (await get_provider("daytona").acquire("dt-1", sandbox_id=state["sandbox_id"])).sandbox
    assert sandbox.id == state["sandbox_id"]
    branch = await sandbox.exec("git rev-parse --abbrev-ref HEAD")
    assert branch.ok and branch.output.strip() == "agent/dt-1", branch.output
    commits = await sandbox.exec(f"git log --format=%H {state['base_commit']}..agent/dt-1")
    shas = commits.output.split()
    assert commits.ok and shas, commits.output
    assert state["commits"] and {c["sha"] for c in state["commits"]} <= set(shas)
    base = await sandbox.exec("git rev-parse agent/dt-1~" + str(len(shas)))
    assert base.output.strip() == fixture_repo.base_commit  # the branch grows from the cloned repository
    tests = await sandbox.exec(TEST_COMMAND)
    assert tests.ok and unittest_output_ok(tests.output), tests.output

    # The host repository is untouched: same commit, same branch, clean tree, the bug still there.
    assert _git(fixture_repo.path, "rev-parse", "HEAD").strip() == fixture_repo.base_commit
    assert _git(fixture_repo.path, "branch", "--format=%(refname:short)").split() == ["main"]
    assert _git(fixture_repo.path, "status", "--porcelain") == host_status_before == ""
    assert "return a - b" in (fixture_repo.path / "calc.py").read_text()

    # No credential reaches the state, the messages, or the sandbox's environment.
    dumped = json.dumps(state, default=repr)
    environment = await sandbox.exec("env; cat /proc/1/environ | tr '\\0' '\\n'")
    assert environment.ok and "PATH=" in environment.output
    for secret in (OPENAI_KEY, API_KEY):
        assert secret not in dumped
        assert secret not in environment.output
        assert secret not in json.dumps(record.env)
        assert all(secret not in json.dumps(r.messages) for r in model.requests)

    # After a restart (no provider, nothing held), the thread gets the same sandbox back, work intact, not re-cloned.
    await close_providers()
    again, backend, _ = await acquire_sandbox(state, config)
    assert (again.id, backend) == (state["sandbox_id"], "daytona")
    head = await again.exec("git rev-parse HEAD && git status --porcelain")
    assert head.ok and head.output.split() == [shas[0]], head.output
    assert len(daytona_env.state.sandboxes) == 1

    # The service's cancel/cleanup path gives it back through the same provider: stopped, and with the default
    # DAYTONA_AUTO_DELETE_MINUTES=0 deleted at once.
    await release_sandbox("daytona", state["sandbox_id"])
    assert daytona_env.sandbox(state["sandbox_id"]) is None and not daytona_env.state.sandboxes


async def test_a_local_path_is_refused_by_the_daytona_backend(
    fixture_repo: FixtureRepo, daytona_env: DaytonaTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with model_endpoint(fix_bug_policy, monkeypatch, api_key=OPENAI_KEY, model="scripted") as model:
        graph = build().compile(checkpointer=InMemorySaver())
        config: RunnableConfig = {
            "configurable": {"thread_id": "dt-local", "auto_approve": True, "sandbox_backend": "daytona"}
        }
        await graph.ainvoke(
            {"messages": [{"role": "user", "content": FIXTURE_TASK}], "repo": str(fixture_repo.path)}, config
        )
        state = dict((await graph.aget_state(config)).values)
        roles = {r.role for r in model.requests}

    assert state["status"] == TaskStatus.FAILED
    reason = state["reason"]
    assert "\n" not in reason and "local path" in reason and "git URL" in reason and "daytona" in reason, reason
    assert not state.get("sandbox_id")
    assert not daytona_env.state.sandboxes, "no sandbox is created for a refused task"
    assert roles <= {"router"}, roles  # it fails at setup: no planning, no programming


async def test_a_follow_up_task_survives_its_sandbox_being_deleted(
    fixture_repo: FixtureRepo, git_url: str, daytona_env: DaytonaTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Daytona deletes an idle sandbox (DAYTONA_AUTO_STOP_MINUTES, then DAYTONA_AUTO_DELETE_MINUTES=0): the thread's
    next task gets a new sandbox with the repository on the thread's branch, in the same process."""
    with model_endpoint(fix_bug_policy, monkeypatch, api_key=OPENAI_KEY, model="scripted"):
        graph = build().compile(checkpointer=InMemorySaver())
        config: RunnableConfig = {
            "configurable": {"thread_id": "dt-2", "auto_approve": True, "sandbox_backend": "daytona"}
        }
        await graph.ainvoke({"messages": [{"role": "user", "content": FIXTURE_TASK}], "repo": git_url}, config)
        first = dict((await graph.aget_state(config)).values)
        assert first["status"] == TaskStatus.COMPLETED, first.get("reason")
        daytona_env.vanish(first["sandbox_id"])
        await graph.ainvoke({"messages": [{"role": "user", "content": FIXTURE_TASK}]}, config)
        state = dict((await graph.aget_state(config)).values)

    assert state["status"] == TaskStatus.COMPLETED, state.get("reason")
    assert state["sandbox_id"] != first["sandbox_id"] and daytona_env.sandbox(state["sandbox_id"]) is not None
    assert state["base_commit"] == fixture_repo.base_commit  # a fresh clone: the first task's commits went with it
    assert "+    return a + b" in state["diff"]
    sandbox = (await get_provider("daytona").acquire("dt-2", sandbox_id=state["sandbox_id"])).sandbox
    branch = await sandbox.exec("git rev-parse --abbrev-ref HEAD")
    assert branch.output.strip() == "agent/dt-2", branch.output
    tests = await sandbox.exec(TEST_COMMAND)
    assert tests.ok and unittest_output_ok(tests.output), tests.output


async def test_a_sandbox_vanishing_mid_task_ends_the_task_at_once_with_a_clear_reason(
    fixture_repo: FixtureRepo, git_url: str, daytona_env: DaytonaTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deleted while the programmer works (e.g. idle past its auto-stop during a long human wait): the task ends on the
    first tool call that meets the gone sandbox, saying so, instead of the model retrying tools that cannot succeed;
    a follow-up message then continues on a fresh sandbox."""
    vanished: list[str] = []

    def deleting_policy(request: ChatRequest) -> Reply:
        if request.role == "programmer" and not vanished:
            vanished.extend(daytona_env.state.sandboxes)
            for sandbox_id in vanished:
                daytona_env.vanish(sandbox_id)
        return fix_bug_policy(request)

    with model_endpoint(deleting_policy, monkeypatch, api_key=OPENAI_KEY, model="scripted") as model:
        graph = build().compile(checkpointer=InMemorySaver())
        config: RunnableConfig = {
            "configurable": {"thread_id": "dt-3", "auto_approve": True, "sandbox_backend": "daytona"}
        }
        await graph.ainvoke({"messages": [{"role": "user", "content": FIXTURE_TASK}], "repo": git_url}, config)
        ended = dict((await graph.aget_state(config)).values)
        programmer_calls = len(model.requests_for("programmer"))
        await graph.ainvoke({"messages": [{"role": "user", "content": FIXTURE_TASK}]}, config)
        resumed = dict((await graph.aget_state(config)).values)

    assert vanished == [ended["sandbox_id"]]
    assert ended["status"] == TaskStatus.FAILED
    assert "sandbox vanished mid-task" in ended["reason"] and "follow-up" in ended["reason"], ended["reason"]
    assert "\n" not in ended["reason"]
    assert programmer_calls == 1, "the task ended on the first tool batch that met the gone sandbox"
    assert resumed["status"] == TaskStatus.COMPLETED, resumed.get("reason")
    assert resumed["sandbox_id"] != ended["sandbox_id"] and "+    return a + b" in resumed["diff"]
