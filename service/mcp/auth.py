"""Bearer-key authentication for the MCP endpoint, with the service's own API keys (agent/http/auth).

The key comes as `Authorization: Bearer <key>` (or `x-api-key`). A missing or wrong key is answered 401 with a
plain `WWW-Authenticate: Bearer` challenge and no OAuth resource metadata, so clients configured with a header
keep using their key instead of starting an OAuth flow. The key's name becomes the request's user: the MCP SDK
binds each session to it, and the tools read it as the owner of the sandboxes.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from langgraph_sdk import Auth
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from starlette.authentication import AuthCredentials
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from agent.http.auth import AuthConfig, current_auth_config, presented_key, resolve_identity

ConfigSource = Callable[[], Awaitable[AuthConfig]]


class ApiKeyAuth:
    """ASGI wrapper: authenticate each HTTP request, then pass it on with `scope["user"]` set to the key's owner."""

    def __init__(self, app: ASGIApp, config: ConfigSource = current_auth_config) -> None:
        self._app = app
        self._config = config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        headers = {name.lower(): value for name, value in scope.get("headers", [])}
        try:
            owner = resolve_identity(await self._config(), presented_key(headers))
        except Auth.exceptions.HTTPException as exc:
            await _refuse(send, exc.detail or "unauthorized")
            return
        scope["user"] = AuthenticatedUser(AccessToken(token="api-key", client_id=owner, scopes=[]))
        scope["auth"] = AuthCredentials([])
        await self._app(scope, receive, send)


async def _refuse(send: Send, detail: str) -> None:
    body = json.dumps({"error": "invalid_token", "error_description": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"www-authenticate", b'Bearer realm="open-swe"'),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def owner_of(request: object) -> str:
    """The key owner `ApiKeyAuth` attached to this request (the MCP tools' caller)."""
    user = request.scope.get("user") if isinstance(request, Request) else None
    if not isinstance(user, AuthenticatedUser):
        raise PermissionError("unauthenticated request reached an MCP tool")
    return user.access_token.client_id
