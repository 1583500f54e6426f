"""The service's LangGraph client: in process under `langgraph dev`; a real HTTP client of its own API on runtimes
without an in-process transport (Aegra), acting as the task's owner per call, with each thread's `values` and
`interrupts` read from its state (Aegra's thread responses carry neither), and run streams that never lose a part
silently (service/aegra/streams.py)."""

from __future__ import annotations

from typing import Any

import httpx
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from service.aegra.context import install_act_as, self_client_settings
from service.aegra.streams import CheckedRuns

TIMEOUT = (10, None, 60, 10)
"""connect, read (runs stream), write, pool"""
SELF_LIMITS = httpx.Limits(max_connections=None, max_keepalive_connections=200, keepalive_expiry=2.0)
"""Calls to this server's own API: every relayed run holds one connection for its whole stream, so httpx's default
cap of 100 made every other call (task creation, websocket reads, relay rejoins) wait for a slot and fail with
PoolTimeout once about 100 tasks ran on a replica. Idle connections are dropped after 2 s, before uvicorn's 5 s
keep-alive closes them on its side (a connection reused just as the server closed it failed with ReadError)."""


def with_state(thread: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    """`thread` with `values` and `interrupts` (by task id, as langgraph dev returns them) from its state."""
    interrupts = {
        str(task.get("id")): list(task.get("interrupts") or [])
        for task in state.get("tasks") or ()
        if task.get("interrupts")
    }
    return {**thread, "values": state.get("values") or {}, "interrupts": interrupts}


class StatefulThreads:
    """`client.threads` whose get/search results carry `values` and `interrupts` when the runtime leaves them out."""

    def __init__(self, threads: Any) -> None:
        self._threads = threads

    def __getattr__(self, name: str) -> Any:
        return getattr(self._threads, name)

    async def _filled(self, thread: dict[str, Any]) -> dict[str, Any]:
        if "values" in thread and "interrupts" in thread:
            return thread
        return with_state(thread, await self._threads.get_state(str(thread["thread_id"])))

    async def get(self, thread_id: str, **kwargs: Any) -> dict[str, Any]:
        return await self._filled(await self._threads.get(thread_id, **kwargs))

    async def search(self, **kwargs: Any) -> list[dict[str, Any]]:
        return [await self._filled(thread) for thread in await self._threads.search(**kwargs)]


def service_client() -> LangGraphClient:
    settings = self_client_settings()
    if settings is None:
        return get_client(api_key=None, timeout=TIMEOUT)
    url, headers = settings
    http = httpx.AsyncClient(
        base_url=url,
        headers=headers,
        timeout=httpx.Timeout(TIMEOUT),
        transport=httpx.AsyncHTTPTransport(retries=5, limits=SELF_LIMITS),
    )
    client = LangGraphClient(http)
    install_act_as(http)
    client.threads = StatefulThreads(client.threads)  # type: ignore[assignment]  # same interface, values filled
    client.runs = CheckedRuns(client.runs)  # type: ignore[assignment]  # same interface, streams checked
    return client
