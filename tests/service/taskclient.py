"""A small async client of the task API for the end-to-end tests and the benchmark (httpx + websockets)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import websockets

TERMINAL = {"completed", "needs_review", "failed", "limit_reached", "rejected", "cancelled", "answered", "lost"}


@dataclass
class TaskClient:
    base_url: str
    api_key: str | None
    http: httpx.AsyncClient = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.AsyncClient(base_url=self.base_url, headers=self.headers, timeout=60)

    @property
    def headers(self) -> dict[str, str]:
        return {"x-api-key": self.api_key} if self.api_key else {}

    async def aclose(self) -> None:
        await self.http.aclose()

    async def create(self, task: str, repo: str, **fields: Any) -> dict[str, Any]:
        headers = {}
        if "idempotency_key" in fields:
            headers["Idempotency-Key"] = fields.pop("idempotency_key")
        response = await self.http.post("/tasks", json={"task": task, "repo": repo, **fields}, headers=headers)
        assert response.status_code in (200, 201), response.text
        return response.json()

    async def get(self, task_id: str) -> dict[str, Any]:
        response = await self.http.get(f"/tasks/{task_id}")
        assert response.status_code == 200, response.text
        return response.json()

    async def wait_for(
        self, task_id: str, predicate: Callable[[dict[str, Any]], bool], timeout: float = 120
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            view = await self.get(task_id)
            if predicate(view):
                return view
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"task {task_id} did not reach the expected state in {timeout}s; last view: {view}"
                )
            await asyncio.sleep(0.25)

    async def wait_terminal(self, task_id: str, timeout: float = 180) -> dict[str, Any]:
        return await self.wait_for(task_id, lambda v: v["status"] in TERMINAL, timeout)

    def ws_url(self, task_id: str, after: int = 0) -> str:
        return self.base_url.replace("http://", "ws://") + f"/tasks/{task_id}/events?after={after}"

    async def connect(self, task_id: str, after: int = 0) -> websockets.ClientConnection:
        return await websockets.connect(self.ws_url(task_id, after), additional_headers=self.headers, max_size=None)


async def next_message(ws: websockets.ClientConnection, timeout: float = 60) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def read_until(
    ws: websockets.ClientConnection, predicate: Callable[[dict[str, Any]], bool], timeout: float = 120
) -> list[dict[str, Any]]:
    """Messages received until (and including) the first matching one."""
    deadline = time.monotonic() + timeout
    seen: list[dict[str, Any]] = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no matching message in {timeout}s; got: {[m.get('event', m) for m in seen]}")
        message = await next_message(ws, remaining)
        seen.append(message)
        if predicate(message):
            return seen
