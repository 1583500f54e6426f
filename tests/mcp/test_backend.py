"""The MCP backend's provider against a real `open-swe mcp` server process: lifecycle, and clear failures."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from pydantic import SecretStr

from sandbox.base import BackendError, SandboxError, SandboxGone
from sandbox.mcp.backend import McpProvider
from sandbox.mcp.settings import McpBackendSettings
from sandbox.registry import create_provider
from tests.mcp.process import McpServerProcess, mcp_server_process
from tests.support.net import free_port

pytestmark = pytest.mark.e2e


@pytest.fixture
def server(mcp_process: McpServerProcess) -> McpServerProcess:
    return mcp_process


def provider(server: McpServerProcess, *, key: str | None = None, url: str | None = None) -> McpProvider:
    return McpProvider(McpBackendSettings(url=url or server.url, api_key=SecretStr(key or server.key)))


async def test_acquire_reuses_a_known_sandbox_replaces_a_gone_one_and_release_deletes(server: McpServerProcess) -> None:
    live = REGISTRY.get_sample_value("sandbox_live", {"backend": "mcp"}) or 0
    first = provider(server)
    lease = await first.acquire("thread-a")
    assert lease.fresh and lease.backend == "mcp"
    assert REGISTRY.get_sample_value("sandbox_live", {"backend": "mcp"}) == live + 1
    await lease.sandbox.write("note.txt", "kept")
    await first.aclose()

    second = provider(server)  # a restarted service: nothing held, the id remembered in the thread's state
    again = await second.acquire("thread-a", sandbox_id=lease.sandbox.id)
    assert not again.fresh and again.sandbox.id == lease.sandbox.id
    assert (await again.sandbox.read("note.txt")).text == "kept"
    await second.release(lease.sandbox.id)  # default: deleted on the server
    with pytest.raises(SandboxGone):
        await again.sandbox.exec("true")
    replaced = await second.acquire("thread-a", sandbox_id=lease.sandbox.id)
    assert replaced.fresh and replaced.sandbox.id != lease.sandbox.id
    await second.release(replaced.sandbox.id)
    await second.release(replaced.sandbox.id)  # twice: already gone is fine
    await second.aclose()


async def test_the_registry_builds_it_from_the_environment(
    server: McpServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SANDBOX_MCP_URL", server.url)
    monkeypatch.setenv("SANDBOX_MCP_API_KEY", server.key)
    built = create_provider("mcp")
    assert isinstance(built, McpProvider)
    lease = await built.acquire("thread-env")
    assert (await lease.sandbox.exec("echo hi")).output == "hi\n"
    await built.release(lease.sandbox.id)
    await built.aclose()
    monkeypatch.delenv("SANDBOX_MCP_URL")
    with pytest.raises(SandboxError, match="SANDBOX_BACKEND=mcp needs SANDBOX_MCP_URL"):
        create_provider("mcp")


async def test_a_wrong_key_or_url_fails_with_what_to_check(server: McpServerProcess) -> None:
    failures = REGISTRY.get_sample_value("sandbox_errors_total", {"backend": "mcp", "kind": "backend"}) or 0
    wrong_key = provider(server, key="osk_wrong")
    with pytest.raises(BackendError, match=r"refused the API key \(401\): check SANDBOX_MCP_API_KEY"):
        await wrong_key.acquire("thread-k")
    assert REGISTRY.get_sample_value("sandbox_errors_total", {"backend": "mcp", "kind": "backend"}) == failures + 1
    await wrong_key.aclose()
    nobody = provider(server, url=f"http://127.0.0.1:{free_port()}/mcp")
    with pytest.raises(BackendError, match=r"cannot reach it .*check SANDBOX_MCP_URL"):
        await nobody.acquire("thread-u")
    await nobody.aclose()
    wrong_path = provider(server, url=server.url.removesuffix("/mcp") + "/nope")
    with pytest.raises(BackendError, match=r"\(404\)"):
        await wrong_path.acquire("thread-p")
    await wrong_path.aclose()


async def test_a_local_path_is_refused(server: McpServerProcess) -> None:
    remote = provider(server)
    with pytest.raises(SandboxError, match="cannot use the local path '/src/project'; give the task a git URL"):
        await remote.acquire("thread-l", project_path="/src/project")
    await remote.aclose()


async def test_stopping_the_server_deletes_its_sandboxes(tmp_path: Path) -> None:
    with mcp_server_process(tmp_path / "short-lived") as short_lived:
        remote = provider(short_lived)
        lease = await remote.acquire("thread-stop")
        await lease.sandbox.write("work.txt", "x")
        workspace = short_lived.state_dir / "mcp" / lease.sandbox.id
        assert (workspace / "work.txt").is_file()
        await remote.aclose()
    assert not workspace.exists()  # open-swe mcp stopped (SIGTERM): nothing left behind
