"""Two replicas of the service on Aegra sharing one PostgreSQL and one Redis (each with its own state directory, as on
two hosts): a task created on one is seen, approved and finished through the other, and survives the first replica
stopping. Through a round-robin proxy, with the websocket on either replica and a replica killed mid-run:
test_replicas_proxy.py."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.prod.conftest import aegra_env
from tests.service.conftest import ALICE_KEY, BOB_KEY
from tests.service.taskclient import TaskClient
from tests.support.fixture_repo import FIXTURE_TASK, PLAN, run_fixture_tests
from tests.support.langgraph_server import LangGraphServer, running_server
from tests.support.scripted_openai import ScriptedOpenAI

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def replicas(
    scripted_model: ScriptedOpenAI, postgres_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LangGraphServer, LangGraphServer]]:
    root = tmp_path_factory.mktemp("replicas")
    with (
        running_server(
            root / "a", aegra_env(scripted_model, root / "state-a", postgres_url, redis_url), args=AEGRA
        ) as first,
        running_server(
            root / "b", aegra_env(scripted_model, root / "state-b", postgres_url, redis_url), args=AEGRA
        ) as second,
    ):
        yield first, second


AEGRA = ("--runtime", "aegra")


@pytest.fixture
async def clients(replicas: tuple[LangGraphServer, LangGraphServer]) -> AsyncIterator[tuple[TaskClient, TaskClient]]:
    first, second = TaskClient(replicas[0].url, ALICE_KEY), TaskClient(replicas[1].url, ALICE_KEY)
    yield first, second
    await first.aclose()
    await second.aclose()


async def test_create_on_one_replica_approve_and_finish_on_the_other(clients, replicas, new_repo) -> None:
    on_a, on_b = clients
    repo = new_repo()
    task_id = (await on_a.create(FIXTURE_TASK, str(repo.path)))["id"]
    seen_on_b = await on_b.wait_for(task_id, lambda v: v["status"] == "awaiting_approval")
    assert [item["description"] for item in seen_on_b["pending"]["plan"]] == PLAN
    assert task_id in {t["id"] for t in (await on_b.http.get("/tasks")).json()["tasks"]}

    bob_on_b = TaskClient(replicas[1].url, BOB_KEY)
    try:
        assert (await bob_on_b.http.get(f"/tasks/{task_id}")).status_code == 404
    finally:
        await bob_on_b.aclose()

    approved = await on_b.http.post(f"/tasks/{task_id}/approve")
    assert approved.status_code == 200, approved.text
    done = await on_b.wait_terminal(task_id)
    assert done["status"] == "completed" and "+    return a + b" in done["diff"]
    assert run_fixture_tests(repo.path).passed
    on_a_view = await on_a.get(task_id)
    assert on_a_view["status"] == "completed" and on_a_view["diff"] == done["diff"]


async def test_a_task_outlives_the_replica_it_was_created_on(clients, replicas, new_repo) -> None:
    on_a, on_b = clients
    repo = new_repo()
    task_id = (await on_a.create(FIXTURE_TASK, str(repo.path)))["id"]
    await on_a.wait_for(task_id, lambda v: v["status"] == "awaiting_approval")
    replicas[0].stop()
    assert (await on_b.get(task_id))["status"] == "awaiting_approval"
    assert (await on_b.http.post(f"/tasks/{task_id}/approve")).status_code == 200
    done = await on_b.wait_terminal(task_id)
    assert done["status"] == "completed" and "+    return a + b" in done["diff"]
