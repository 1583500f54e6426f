"""The MCP backend under the conformance suite: `McpSandbox` against a real `open-swe mcp` server process
(one per test session), whose sandboxes are local workspaces. Each test gets a fresh sandbox, deleted afterwards."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from pathlib import Path

import pytest
from pydantic import SecretStr

from sandbox.mcp.backend import McpProvider, McpSandbox
from sandbox.mcp.settings import McpBackendSettings
from tests.mcp.process import McpServerProcess, mcp_server_process

CAPABILITIES: dict[str, frozenset[str]] = {"default": frozenset()}
"""The server's sandboxes are local workspaces without isolation (SANDBOX_ISOLATION=none)."""

_servers: dict[int, McpServerProcess] = {}
SERVER_ENV = {
    "SANDBOX_OUTPUT_LIMIT": str(64 * 1024),
    "SANDBOX_READ_LIMIT": str(1024 * 1024),
    "SANDBOX_EXEC_TIMEOUT": "60",
}


def session_server(request: pytest.FixtureRequest) -> McpServerProcess:
    key = id(request.session)
    if key not in _servers:
        factory: pytest.TempPathFactory = request.getfixturevalue("tmp_path_factory")
        stack = ExitStack()
        _servers[key] = stack.enter_context(mcp_server_process(Path(factory.mktemp("mcp-server")), env=SERVER_ENV))

        def stop() -> None:
            _servers.pop(key, None)
            stack.close()

        request.config.add_cleanup(stop)
    return _servers[key]


@asynccontextmanager
async def open_sandbox(request: pytest.FixtureRequest, tmp_path: Path, variant: str) -> AsyncIterator[McpSandbox]:
    server = session_server(request)
    provider = McpProvider(McpBackendSettings(url=server.url, api_key=SecretStr(server.key)))
    try:
        lease = await provider.acquire(f"conformance-{uuid.uuid4().hex[:8]}")
        assert isinstance(lease.sandbox, McpSandbox) and lease.fresh
        try:
            yield lease.sandbox
        finally:
            await provider.release(lease.sandbox.id, delete=True)
    finally:
        await provider.aclose()
