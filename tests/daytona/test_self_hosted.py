"""Self-hosted Daytona: the pinned SDK (0.226) against a server answering in the shape of the open-source server
archived at v0.190 (no `kvm` in Sandbox JSON, `GET /sandbox` a bare array, version in `GET /config`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.base import BackendError
from sandbox.daytona_compat import server_version
from sandbox.metrics import API_ERRORS
from tests.daytona_server.fixtures import provider_for
from tests.daytona_server.server import DaytonaTestServer, running_server
from tests.daytona_server.state import SELF_HOSTED_VERSION, V0190_MISSING


@pytest.fixture
def self_hosted(tmp_path: Path) -> Iterator[DaytonaTestServer]:
    with running_server(tmp_path / "daytona-v0190", version=SELF_HOSTED_VERSION) as server:
        yield server


async def test_the_backend_works_against_a_v0190_server(self_hosted: DaytonaTestServer) -> None:
    assert await server_version(self_hosted.api_url) == "0.190.0"
    provider = provider_for(self_hosted)
    lease = await provider.acquire("self-hosted-1")
    assert lease.fresh
    assert (await lease.sandbox.exec("echo hi")).output == "hi\n"
    await lease.sandbox.write("notes/a.txt", "kept")
    await provider.aclose()

    restarted = provider_for(self_hosted)  # no id remembered: found again through the (bare-array) list by label
    again = await restarted.acquire("self-hosted-1")
    assert not again.fresh and again.sandbox.id == lease.sandbox.id
    assert (await again.sandbox.read("notes/a.txt")).text == "kept"
    await restarted.release(again.sandbox.id, delete=True)
    assert not self_hosted.state.sandboxes
    await restarted.aclose()


async def test_an_answer_it_cannot_read_fails_at_once_naming_the_version_and_leaves_nothing_running(
    self_hosted: DaytonaTestServer,
) -> None:
    self_hosted.state.omit = V0190_MISSING | {"cpu"}  # a field the shim does not know how to fill
    before = API_ERRORS.labels("incompatible_server")._value.get()
    provider = provider_for(self_hosted)
    with pytest.raises(BackendError) as failed:
        await provider.acquire("self-hosted-2")
    message = str(failed.value)
    assert "\n" not in message, message
    assert f"the server at {self_hosted.api_url} (version 0.190.0)" in message
    assert "cannot read (Sandbox.cpu: " in message and "check that DAYTONA_API_URL" in message
    assert self_hosted.state.counts["create"] == 1  # the first request that failed was not retried
    assert not self_hosted.state.sandboxes  # the sandbox it created was deleted by its label
    assert API_ERRORS.labels("incompatible_server")._value.get() == before + 1
    await provider.aclose()
