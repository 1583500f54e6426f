"""The MCP sandbox server run in-process on a real loopback port, and the official `mcp` client pointed at it."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult

from agent.http.apikeys import ApiKeyEntry, hash_key
from agent.http.auth import AuthConfig
from sandbox.settings import Isolation, SandboxSettings
from service.mcp.app import McpEndpoint, standalone_app
from service.mcp.sandboxes import OwnedSandboxes
from service.mcp.settings import McpSettings
from tests.support.net import free_port

PROTOCOLS = ("2026-07-28", "legacy")
"""The 2026-07-28 protocol (one request per call) and the 2025 handshake protocol (sessions)."""


@dataclass(frozen=True)
class RunningServer:
    url: str
    keys: dict[str, str]
    """owner -> API key"""
    endpoint: McpEndpoint
    state_dir: Path
    repo_root: Path


def sandbox_settings(state_dir: Path) -> SandboxSettings:
    return SandboxSettings(
        isolation=Isolation.NONE, state_dir=state_dir, output_limit=64 * 1024, read_limit=1024 * 1024, exec_timeout=60
    )


@asynccontextmanager
async def running_server(
    base: Path, *, owners: tuple[str, ...] = ("alice", "bob"), **settings: Any
) -> AsyncIterator[RunningServer]:
    """The standalone MCP app (`open-swe mcp`) under uvicorn in this event loop, with one key per owner."""
    keys = {owner: f"osk_{secrets.token_urlsafe(16)}" for owner in owners}
    config = AuthConfig(disabled=False, entries=tuple(ApiKeyEntry(o, hash_key(k)) for o, k in keys.items()))

    async def auth_config() -> AuthConfig:
        return config

    state_dir, repo_root = base / "state", base / "repos"
    repo_root.mkdir(parents=True, exist_ok=True)
    mcp_settings = McpSettings(state_dir=state_dir, repo_roots=str(repo_root), **settings)
    endpoint = McpEndpoint(auth_config=auth_config)
    owned = OwnedSandboxes(mcp_settings, sandbox_settings=sandbox_settings(state_dir))

    app = standalone_app(endpoint)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    async with endpoint.running(owned):
        task = asyncio.create_task(server.serve())
        try:
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.02)
            yield RunningServer(f"http://127.0.0.1:{port}/mcp", keys, endpoint, state_dir, repo_root)
        finally:
            server.should_exit = True
            await task


@asynccontextmanager
async def connect(url: str, key: str, *, mode: str = "auto") -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=httpx2.Timeout(30, read=300)) as http,
        Client(streamable_http_client(url, http_client=http), mode=mode) as client,
    ):
        yield client


def structured(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, text(result)
    assert result.structured_content is not None
    return result.structured_content


def text(result: CallToolResult) -> str:
    return "\n".join(getattr(block, "text", json.dumps(block.model_dump())) for block in result.content)
