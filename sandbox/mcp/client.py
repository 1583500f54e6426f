"""Calls to the MCP sandbox server: one streamable-HTTP request per tool call (the 2026-07-28 protocol needs no
session), over one pooled HTTP client, with the tool's structured output validated against the wire models."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, TypeVar

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.dispatcher import ProgressFnT
from pydantic import BaseModel, ValidationError

from sandbox.base import BackendError
from sandbox.mcp.protocol import error_from_text

log = logging.getLogger(__name__)

PROTOCOL = "2026-07-28"
M = TypeVar("M", bound=BaseModel)


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


def _describe(exc: BaseException) -> str:
    leaf = next((e for e in _leaves(exc) if not isinstance(e, BaseExceptionGroup)), exc)
    return f"{type(leaf).__name__}: {leaf}".strip().rstrip(":")


class McpClient:
    """Tool calls against one MCP sandbox server. `aclose()` when done.

    One `mcp.Client` is kept open by a task of its own (its task group must be entered and left by one task), and
    every caller's tool calls go through it; it is reopened after it fails."""

    def __init__(self, url: str, api_key: str | None, *, timeout: float = 60.0) -> None:
        self.url = url
        self._timeout = timeout
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(timeout, read=None))
        self._ready: asyncio.Future[Client] | None = None
        self._stop = asyncio.Event()
        self._holder: asyncio.Task[None] | None = None

    async def _client(self) -> Client:
        if self._ready is None:
            self._ready = asyncio.get_running_loop().create_future()
            self._stop = asyncio.Event()
            self._holder = asyncio.create_task(self._hold(self._ready, self._stop), name=f"mcp-client {self.url}")
        return await asyncio.shield(self._ready)

    async def _hold(self, ready: asyncio.Future[Client], stop: asyncio.Event) -> None:
        try:
            transport = streamable_http_client(self.url, http_client=self._http, terminate_on_close=False)
            async with Client(transport, mode=PROTOCOL, read_timeout_seconds=self._timeout, cache=None) as client:
                ready.set_result(client)
                await stop.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc if isinstance(exc, Exception) else BackendError(_describe(exc)))
            elif isinstance(exc, Exception):
                log.warning("MCP sandbox server %s: connection closed: %s", self.url, _describe(exc))
        finally:
            if self._ready is ready:
                self._ready = None

    async def call(
        self,
        tool: str,
        arguments: dict[str, Any],
        output: type[M],
        *,
        timeout: float | None = None,
        progress: ProgressFnT | None = None,
    ) -> M:
        """Call `tool`; its structured output as `output`. A tool error raises the `SandboxError` it names."""
        try:
            client = await self._client()
            result = await client.call_tool(
                tool, arguments, read_timeout_seconds=self._timeout + (timeout or 0), progress_callback=progress
            )
        except Exception as exc:
            reason = await self._diagnose() or _describe(exc)
            raise BackendError(f"MCP sandbox server {self.url}: {tool} failed: {reason}") from exc
        if result.is_error:
            raise error_from_text(" ".join(getattr(block, "text", "") for block in result.content))
        try:
            return output.model_validate(result.structured_content)
        except ValidationError as exc:
            raise BackendError(f"MCP sandbox server {self.url}: {tool} answered an unexpected shape: {exc}") from exc

    async def _diagnose(self) -> str | None:
        """After a failed call: a plain HTTP request saying what is wrong with the URL or the key, if anything."""
        ping = {"jsonrpc": "2.0", "id": 0, "method": "ping"}
        try:
            response = await self._http.post(
                self.url, json=ping, headers={"Accept": "application/json, text/event-stream"}, timeout=10
            )
        except httpx2.HTTPError as exc:
            return f"cannot reach it ({type(exc).__name__}: {exc}): check SANDBOX_MCP_URL"
        if response.status_code == 401:
            return "it refused the API key (401): check SANDBOX_MCP_API_KEY"
        if response.status_code == 404:
            return "nothing answers at this URL (404): SANDBOX_MCP_URL is the server's /mcp endpoint"
        return None

    async def aclose(self) -> None:
        self._stop.set()
        holder, self._holder = self._holder, None
        if holder is not None:
            await asyncio.wait_for(holder, 10)
        await self._http.aclose()
