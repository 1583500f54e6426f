"""Two replicas (two real `langgraph dev` servers) sharing one redis-server and one state directory: a websocket
ticket issued by replica A opens the task's events socket on replica B, and is refused when used again on A."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest
import websockets
from redis.asyncio import Redis

from agent.http.apikeys import hash_key
from agent.http.tickets import ticket_key
from tests.service.taskclient import TaskClient, next_message
from tests.support.fixture_repo import FIXTURE_TASK, FixtureRepo
from tests.support.langgraph_server import LangGraphServer, running_server
from tests.support.scripted_openai import ScriptedOpenAI
from tests.web.conftest import ALICE_KEY, BOB_KEY

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def replicas(
    scripted_model: ScriptedOpenAI, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LangGraphServer, LangGraphServer]]:
    root = tmp_path_factory.mktemp("replicas")
    env = {
        "OPENAI_BASE_URL": scripted_model.base_url,
        "OPENAI_API_KEY": "sk-scripted-replicas",
        "MODEL": "scripted",
        "API_KEYS": f"alice:{hash_key(ALICE_KEY)},bob:{hash_key(BOB_KEY)}",
        "OPEN_SWE_STATE_DIR": str(root / "state"),  # shared: B reads the task's event log that A writes
        "OPEN_SWE_LOCAL_MODE": "true",
        "SANDBOX_WORKSPACE_MODE": "in_place",
        "SANDBOX_ISOLATION": "none",  # about tickets; the sandbox's isolation has its own tests
        "REDIS_URL": redis_url,
    }
    with ExitStack() as stack:
        a = stack.enter_context(running_server(root / "a", env))
        b = stack.enter_context(running_server(root / "b", env))
        yield a, b


async def test_a_ticket_from_one_replica_opens_the_socket_on_another_once(
    replicas: tuple[LangGraphServer, LangGraphServer], new_repo: FixtureRepo, redis_url: str
) -> None:
    a, b = replicas
    alice_a, alice_b = TaskClient(a.url, ALICE_KEY), TaskClient(b.url, ALICE_KEY)
    bob_a = TaskClient(a.url, BOB_KEY)
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        task_id = (await alice_a.create(FIXTURE_TASK, str(new_repo.path)))["id"]
        assert (await bob_a.http.post(f"/tasks/{task_id}/events/ticket")).status_code == 404  # not bob's task
        issued = await alice_a.http.post(f"/tasks/{task_id}/events/ticket")
        assert issued.status_code == 200, issued.text
        ticket, protocols = issued.json()["ticket"], issued.json()["protocols"]
        stored = [str(k) for k in await redis.keys(f"*{ticket_key(ticket)}")]
        assert len(stored) == 1 and ticket not in stored[0]  # shared through Redis, under its digest only

        async with websockets.connect(alice_b.ws_url(task_id), subprotocols=protocols) as ws:  # replica B
            assert ws.subprotocol == "open-swe"
            first = await next_message(ws)
        assert first["type"] == "event" and first["event"] == "task_created"
        assert await redis.keys(f"*{ticket_key(ticket)}") == []  # spent

        for replica in (alice_a, alice_b):  # a second use is refused on either replica, at the handshake
            with pytest.raises(websockets.InvalidStatus) as refused:
                async with websockets.connect(replica.ws_url(task_id), subprotocols=protocols):
                    pass
            assert refused.value.response.status_code == 403
    finally:
        await redis.aclose()
        for client in (alice_a, alice_b, bob_a):
            await client.aclose()
