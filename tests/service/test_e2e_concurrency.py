"""50 concurrent tasks through one real server: all finish with their diff, nothing lost; then the per-key rate
limit refuses the next task with 429 and Retry-After."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.service.conftest import ALICE_KEY, server_env
from tests.service.load import make_repos, run_load
from tests.service.taskclient import TaskClient
from tests.support.fixture_repo import FIXTURE_TASK
from tests.support.langgraph_server import LangGraphServer, running_server

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]
TASKS = 50


@pytest.fixture(scope="module")
def busy_server(scripted_model, tmp_path_factory) -> Iterator[LangGraphServer]:
    root = tmp_path_factory.mktemp("concurrency")
    env = server_env(scripted_model, root / "state", TASK_RATE_LIMIT=str(TASKS), TASK_RATE_WINDOW="86400")
    with running_server(root / "srv", env, jobs=TASKS) as server:
        yield server


async def test_fifty_concurrent_tasks_all_finish_and_none_is_lost(busy_server, tmp_path):
    repos = make_repos(tmp_path, TASKS)
    result = await run_load(busy_server.url, ALICE_KEY, repos, timeout=600)
    failures = [o for o in result.outcomes if o.status != "completed" or not o.diff_fixed]
    assert not failures, failures[:3]
    assert result.lost == 0 and result.completed == TASKS
    assert len({o.task_id for o in result.outcomes}) == TASKS

    client = TaskClient(busy_server.url, ALICE_KEY)
    try:
        listed = (await client.http.get("/tasks", params={"limit": 200})).json()["tasks"]
        assert {t["id"] for t in listed} >= {o.task_id for o in result.outcomes}
        refused = await client.http.post("/tasks", json={"task": FIXTURE_TASK, "repo": str(repos[0])})
        assert refused.status_code == 429, refused.text
        assert int(refused.headers["Retry-After"]) > 0 and "rate limit" in refused.json()["detail"]
    finally:
        await client.aclose()
