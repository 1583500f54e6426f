"""A browser's websocket ticket on Aegra: the socket is authenticated at the handshake by the same handler, so a
ticket opens its task's events once and is refused the second time."""

from __future__ import annotations

import pytest
import websockets

from tests.service.conftest import ALICE_KEY
from tests.service.taskclient import TaskClient, next_message
from tests.support.fixture_repo import FIXTURE_TASK

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


async def test_a_ticket_opens_the_events_socket_once(service, new_repo) -> None:
    alice = TaskClient(service.url, ALICE_KEY)
    try:
        task_id = (await alice.create(FIXTURE_TASK, str(new_repo().path)))["id"]
        issued = await alice.http.post(f"/tasks/{task_id}/events/ticket")
        assert issued.status_code == 200, issued.text
        protocols = issued.json()["protocols"]
        url = alice.ws_url(task_id)
        async with websockets.connect(url, subprotocols=protocols) as ws:
            assert ws.subprotocol == "open-swe"
            first = await next_message(ws)
        assert first["type"] == "event" and first["event"] == "task_created"
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(url, subprotocols=protocols):
                pass
        assert refused.value.response.status_code == 403
    finally:
        await alice.aclose()
