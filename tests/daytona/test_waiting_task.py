"""Through the service: a task waiting for plan approval keeps its Daytona sandbox past the auto-stop (the relay's
keep-alive), and completes after a late approval in the same sandbox. A real `langgraph dev` server, the scripted
model, the real SDK against the Daytona test server with its minutes shrunk to 0.5 s (auto-stop after 5 s)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agent.conftest import fixture_repo  # noqa: F401 - used by git_url
from tests.daytona_server.server import API_KEY, DaytonaTestServer
from tests.daytona_server.server import running_server as running_daytona
from tests.graphs.test_daytona_task import git_url  # noqa: F401 - the fixture repository over git://
from tests.service.conftest import ALICE_KEY, scripted_model, server_env  # noqa: F401 - fixtures
from tests.service.taskclient import TaskClient
from tests.support.fixture_repo import FIXTURE_TASK
from tests.support.langgraph_server import running_server
from tests.support.scripted_openai import ScriptedOpenAI

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(400)]
MINUTE = 0.5
"""One Daytona minute on the test server: auto-stop after 10 minutes is 5 s, long enough for a loaded machine's
model and tool steps while the task works, short against the wait below."""


@pytest.fixture
def fast_daytona(tmp_path: Path) -> Iterator[DaytonaTestServer]:
    with running_daytona(tmp_path / "daytona-fast", minute_seconds=MINUTE) as server:
        yield server


def daytona_service_env(
    model: ScriptedOpenAI, daytona: DaytonaTestServer, tmp_path: Path, **extra: str
) -> dict[str, str]:
    """A service whose tasks run on the Daytona test server, with the keep-alive beating every test minute."""
    return server_env(
        model,
        tmp_path / "state",
        OPEN_SWE_LOCAL_MODE="false",
        TASK_REPO_URL_SCHEMES="https,ssh,git",
        DAYTONA_API_KEY=API_KEY,
        DAYTONA_API_URL=daytona.api_url,
        DAYTONA_SNAPSHOT="test-snapshot",
        DAYTONA_KEEPALIVE_INTERVAL=str(MINUTE),
        **extra,
    )


async def test_a_task_waiting_for_approval_keeps_its_sandbox_and_completes_after_a_late_approval(
    fast_daytona: DaytonaTestServer,
    scripted_model: ScriptedOpenAI,  # noqa: F811
    git_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    env = daytona_service_env(
        scripted_model, fast_daytona, tmp_path, DAYTONA_AUTO_STOP_MINUTES="10", DAYTONA_AUTO_DELETE_MINUTES="0"
    )
    with running_server(tmp_path / "srv", env, jobs=2) as server:
        alice = TaskClient(server.url, ALICE_KEY)
        try:
            task_id = (await alice.create(FIXTURE_TASK, git_url, sandbox="daytona"))["id"]
            await alice.wait_for(task_id, lambda v: v["status"] == "awaiting_approval", timeout=180)
            [sandbox_id] = list(fast_daytona.state.sandboxes)
            await asyncio.sleep(30 * MINUTE)  # three times the auto-stop, waiting for a human
            record = fast_daytona.sandbox(sandbox_id)
            assert record is not None and record.state == "started", "the waiting task's sandbox was stopped"
            assert fast_daytona.state.counts["last_activity"] >= 10  # kept alive by heartbeats, not by chance

            response = await alice.http.post(f"/tasks/{task_id}/approve")
            assert response.status_code == 200, response.text
            view = await alice.wait_for(task_id, lambda v: v["status"] in ("completed", "failed"), timeout=180)
            assert view["status"] == "completed", (view.get("reason"), view.get("summary"))
            assert fast_daytona.state.counts["create"] == 1  # the work went on in the same sandbox, not a new one
        finally:
            await alice.aclose()


async def test_after_a_restart_the_service_keeps_a_waiting_tasks_sandbox_alive_again(
    fast_daytona: DaytonaTestServer,
    scripted_model: ScriptedOpenAI,  # noqa: F811
    git_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    # auto-stop after 2 minutes here: the restart itself must not stop it
    env = daytona_service_env(scripted_model, fast_daytona, tmp_path, DAYTONA_AUTO_STOP_MINUTES="240")
    with running_server(tmp_path / "srv", env, jobs=2) as server:
        alice = TaskClient(server.url, ALICE_KEY)
        task_id = (await alice.create(FIXTURE_TASK, git_url, sandbox="daytona"))["id"]
        await alice.wait_for(task_id, lambda v: v["status"] == "awaiting_approval", timeout=180)
        await alice.aclose()
        server.stop()
        stopped = fast_daytona.state.counts["last_activity"]
        await asyncio.sleep(4 * MINUTE)
        assert fast_daytona.state.counts["last_activity"] == stopped  # nobody refreshes it while the service is down
        server.start()
        restarted = TaskClient(server.url, ALICE_KEY)
        try:
            assert (await restarted.get(task_id))["status"] == "awaiting_approval"
            before = fast_daytona.state.counts["last_activity"]
            # the recovered task is held again: heartbeats resume (how soon depends on the restart's recovery pass)
            deadline = asyncio.get_running_loop().time() + 120 * MINUTE
            while fast_daytona.state.counts["last_activity"] < before + 5:
                assert asyncio.get_running_loop().time() < deadline, "no heartbeats after the restart"
                await asyncio.sleep(MINUTE)
        finally:
            await restarted.aclose()
