"""The Daytona backend under the conformance suite: the real SDK against the local test server.

One server per test session (started lazily, stopped at session end); each test gets a fresh sandbox
for a thread of its own, deleted afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from sandbox.daytona import DaytonaSandbox
from sandbox.settings import SandboxSettings
from tests.daytona_server.fixtures import provider_for
from tests.daytona_server.server import DaytonaTestServer

CAPABILITIES: dict[str, frozenset[str]] = {
    # DAYTONA_NETWORK_BLOCK_ALL=true; a Daytona sandbox is its own machine (the test server: bubblewrap).
    "default": frozenset({"network_isolation", "readonly_host", "pid_isolation", "private_tmp"}),
}

_servers: dict[int, DaytonaTestServer] = {}


def session_server(request: pytest.FixtureRequest) -> DaytonaTestServer:
    key = id(request.session)
    if key not in _servers:
        factory: pytest.TempPathFactory = request.getfixturevalue("tmp_path_factory")
        root = factory.mktemp("daytona-server")
        server = DaytonaTestServer(Path(root))
        server.start()
        _servers[key] = server

        def stop() -> None:
            _servers.pop(key, None)
            server.stop()

        request.config.add_cleanup(stop)
    return _servers[key]


@asynccontextmanager
async def open_sandbox(request: pytest.FixtureRequest, tmp_path: Path, variant: str) -> AsyncIterator[DaytonaSandbox]:
    server = session_server(request)
    provider = provider_for(
        server,
        network_block_all=True,
        sandbox_settings=SandboxSettings(output_limit=64 * 1024, read_limit=1024 * 1024, exec_timeout=60),
    )
    try:
        lease = await provider.acquire(f"conformance-{uuid.uuid4().hex[:8]}")
        assert isinstance(lease.sandbox, DaytonaSandbox)
        try:
            yield lease.sandbox
        finally:
            await provider.release(lease.sandbox.id, delete=True)
    finally:
        await provider.aclose()
