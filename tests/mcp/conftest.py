"""One `open-swe mcp` server process per test session, shared by the backend and agent-task tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.mcp.process import McpServerProcess, mcp_server_process


@pytest.fixture(scope="session")
def mcp_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[McpServerProcess]:
    with mcp_server_process(tmp_path_factory.mktemp("mcp-process")) as server:
        yield server
