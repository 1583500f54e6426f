"""The MCP sandbox server over streamable HTTP: standalone (`open-swe mcp --port P`) or inside the service at `/mcp`.

`McpEndpoint` is one ASGI endpoint: API-key auth (service/mcp/auth.py) in front of the MCP SDK's streamable HTTP
session manager, which speaks both the 2026-07-28 protocol (one request per call) and the 2025 handshake one
(sessions, bound to the key that opened them). The endpoint exists from import time (so the service's auth
middleware can wrap its route); the server behind it starts in `running()` (the app's lifespan).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from mcp.server.mcpserver import MCPServer
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from agent.http.auth import current_auth_config
from service.mcp.auth import ApiKeyAuth, ConfigSource
from service.mcp.sandboxes import OwnedSandboxes
from service.mcp.tools import register

log = logging.getLogger("open_swe.mcp")

PATH = "/mcp"
INSTRUCTIONS = (
    "Sandboxes for coding work. Create one with sandbox_create (optionally cloning a repository), then run "
    "commands (exec), read, write, search and list files, move files in and out (upload_files, download_file), "
    "inspect and commit with git_status, git_diff and git_commit, and delete it with sandbox_delete."
)


def build_server(sandboxes: OwnedSandboxes) -> MCPServer:
    server: MCPServer = MCPServer("open-swe-sandboxes", instructions=INSTRUCTIONS, version="0.1.0", log_level="WARNING")
    register(server, sandboxes)
    return server


class McpEndpoint:
    """The `/mcp` ASGI endpoint. Answers 503 until `running()` has started it."""

    def __init__(self, *, auth_config: ConfigSource = current_auth_config) -> None:
        self._auth_config = auth_config
        self._inner: ApiKeyAuth | None = None
        self.sandboxes: OwnedSandboxes | None = None

    @asynccontextmanager
    async def running(self, sandboxes: OwnedSandboxes | None = None) -> AsyncIterator[OwnedSandboxes]:
        """Start the MCP server (a fresh one each time); on exit delete every sandbox it created."""
        if sandboxes is None:
            sandboxes = await asyncio.to_thread(OwnedSandboxes)  # reads settings and .env: not on the loop
        owned: OwnedSandboxes = sandboxes
        server = build_server(owned)
        # DNS-rebinding protection is off: every request must carry an API key, which a rebinding page cannot send.
        server.streamable_http_app(
            streamable_http_path=PATH,
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        async with server.session_manager.run():
            self.sandboxes = owned
            self._inner = ApiKeyAuth(StreamableHTTPASGIApp(server.session_manager), self._auth_config)
            try:
                yield owned
            finally:
                self._inner = None
                self.sandboxes = None
                await owned.aclose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        inner = self._inner
        if inner is None:
            await JSONResponse({"detail": "the MCP server is starting; retry shortly"}, 503)(scope, receive, send)
            return
        await inner(scope, receive, send)

    def route(self) -> Route:
        return Route(PATH, endpoint=self)


async def _healthz(request: Request) -> Response:
    return JSONResponse({"ok": True})


def standalone_app(endpoint: McpEndpoint | None = None) -> Starlette:
    """The MCP server alone (`open-swe mcp`): `/mcp` and an open `/healthz`."""
    endpoint = endpoint or McpEndpoint()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with endpoint.running():
            yield

    return Starlette(routes=[endpoint.route(), Route("/healthz", _healthz)], lifespan=lifespan)


async def serve(host: str, port: int) -> None:
    import uvicorn

    config = uvicorn.Config(standalone_app(), host=host, port=port, log_level="info", lifespan="on")
    await uvicorn.Server(config).serve()
