"""The self-hosted layout end to end: the service's MCP backend -> our MCP sandbox server over HTTP -> a self-hosted
Daytona answering in the v0.190 shape (the Daytona test server, real SDK), with a repository cloned inside."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from sandbox.mcp.backend import McpProvider
from sandbox.mcp.settings import McpBackendSettings
from tests.agent.conftest import fixture_repo  # noqa: F401 - used by git_url
from tests.daytona_server.server import API_KEY, DaytonaTestServer
from tests.daytona_server.state import SELF_HOSTED_VERSION
from tests.graphs.test_daytona_task import git_url  # noqa: F401 - the fixture repository over git://
from tests.mcp.support import connect, running_server, structured
from tests.support.fixture_repo import FixtureRepo

pytestmark = pytest.mark.e2e


@pytest.fixture
def self_hosted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DaytonaTestServer]:
    root = tmp_path / "daytona-v0190"
    root.mkdir()
    server = DaytonaTestServer(root, version=SELF_HOSTED_VERSION)
    server.start()
    monkeypatch.chdir(tmp_path)  # no .env of the tree
    for name, value in {
        "DAYTONA_API_KEY": API_KEY,
        "DAYTONA_API_URL": server.api_url,
        "DAYTONA_SNAPSHOT": "test-snapshot",
        "DAYTONA_RETRY_DEADLINE": "5",
        "DAYTONA_RELEASE_ACTION": "delete",
        "REDIS_URL": "",
    }.items():
        monkeypatch.setenv(name, value)
    try:
        yield server
    finally:
        server.stop()


async def test_the_mcp_backend_runs_on_self_hosted_daytona_through_the_mcp_server(
    self_hosted: DaytonaTestServer,
    git_url: str,  # noqa: F811
    fixture_repo: FixtureRepo,  # noqa: F811
    tmp_path: Path,
) -> None:
    async with running_server(tmp_path / "mcp", backends="daytona") as server:
        # A client names the backend and a repository: the server clones it inside the Daytona sandbox.
        async with connect(server.url, server.keys["alice"]) as client:
            info = structured(await client.call_tool("sandbox_create", {"repository": git_url}))
            assert info["backend"] == "daytona" and len(self_hosted.state.sandboxes) == 1
            head = structured(
                await client.call_tool("exec", {"sandbox_id": info["id"], "command": "git rev-parse HEAD"})
            )
            assert head["output"].strip() == fixture_repo.base_commit
            assert structured(await client.call_tool("sandbox_delete", {"sandbox_id": info["id"]}))["deleted"]
            assert not self_hosted.state.sandboxes

        # The service's side: SANDBOX_BACKEND=mcp against that server.
        provider = McpProvider(McpBackendSettings(url=server.url, api_key=SecretStr(server.keys["bob"])))
        lease = await provider.acquire("thread-self-hosted")
        assert lease.fresh and (await lease.sandbox.exec("echo hi")).output == "hi\n"
        await lease.sandbox.write("notes.txt", "kept")
        [record] = self_hosted.state.sandboxes.values()
        assert (record.home / "workspace" / "notes.txt").read_text() == "kept"
        await provider.release(lease.sandbox.id)
        assert not self_hosted.state.sandboxes  # deleted on Daytona through the MCP server
        await provider.aclose()
