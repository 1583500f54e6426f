"""Driving one task through the real service over REST (and its websocket, to count tool calls)."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import httpx
import websockets

from agent.contract import TERMINAL_STATUSES
from bench.eval.workspace import Prepared

TERMINAL = {str(s) for s in TERMINAL_STATUSES} | {"lost"}
HUMAN_ANSWER = "I cannot answer questions during this evaluation: use your best judgement and finish the task."


@dataclass
class AgentRun:
    task_id: str = ""
    status: str = "not_started"
    reason: str = ""
    diff: str = ""
    tokens: int = 0
    tool_calls: int = 0
    seconds: float = 0.0


def task_text(prepared: Prepared) -> str:
    task = prepared.task
    setup = "Its dependencies are installed in `.venv`; " if prepared.env else ""
    return (
        f"{task.problem_statement}\n\n"
        f"(The repository is ready to work on. {setup}the sandbox has no network. "
        f"Run the tests with `{task.test_hint()}`.)"
    )


class ServiceClient:
    def __init__(self, base_url: str, api_key: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = {"x-api-key": api_key}
        self.http = httpx.AsyncClient(base_url=self.base_url, headers=self.headers, timeout=60)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _diff(self, task_id: str, view: dict[str, Any]) -> str:
        """The whole diff from `GET /tasks/{id}/diff` when the service has that route, else the view's `diff`."""
        response = await self.http.get(f"/tasks/{task_id}/diff")
        if response.status_code == 200:
            if "json" in response.headers.get("content-type", ""):
                body = response.json()
                if isinstance(body, dict):
                    return str(body.get("diff") or body.get("patch") or "")
                return str(body)
            return response.text
        return str(view.get("diff") or "")

    async def _tool_calls(self, task_id: str, last_event_id: int) -> int:
        url = self.base_url.replace("http", "ws", 1) + f"/tasks/{task_id}/events?after=0"
        count = 0
        try:
            async with websockets.connect(url, additional_headers=self.headers, max_size=None) as ws:
                while True:
                    message = json.loads(await asyncio.wait_for(ws.recv(), 15))
                    if message.get("type") != "event":
                        continue
                    count += message.get("event") == "tool_call"
                    if int(message.get("id", 0)) >= last_event_id:
                        return count
        except (TimeoutError, websockets.WebSocketException, OSError):
            return count

    async def run(self, prepared: Prepared, *, sandbox: str, timeout: float, limits: dict[str, Any]) -> AgentRun:
        outcome = AgentRun()
        started = time.monotonic()
        body = {
            "task": task_text(prepared),
            "repo": str(prepared.repo),
            "sandbox": sandbox,
            "auto_approve": True,
            **limits,
        }
        response = await self.http.post("/tasks", json=body)
        if response.status_code not in (200, 201):
            outcome.status, outcome.reason = "refused", f"POST /tasks {response.status_code}: {response.text[:500]}"
            return outcome
        outcome.task_id = task_id = response.json()["id"]
        answered = 0
        view: dict[str, Any] = {}
        while True:
            reply = await self.http.get(f"/tasks/{task_id}")
            view = reply.json() if reply.status_code == 200 else view
            status = str(view.get("status", ""))
            if status in TERMINAL:
                break
            if status == "awaiting_answer" and answered < 3:  # a model asked the human: nobody is there
                answered += 1
                await self.http.post(f"/tasks/{task_id}/messages", json={"message": HUMAN_ANSWER})
            elif status == "awaiting_approval":  # auto_approve is set; approve anyway if a plan waits
                await self.http.post(f"/tasks/{task_id}/approve")
            if time.monotonic() - started > timeout:
                await self.http.delete(f"/tasks/{task_id}")
                view = (await self.http.get(f"/tasks/{task_id}")).json()
                view["status"], view["reason"] = "timeout", f"no end after {timeout:.0f}s (cancelled)"
                break
            await asyncio.sleep(1.0)
        outcome.seconds = round(time.monotonic() - started, 1)
        outcome.status = str(view.get("status"))
        outcome.reason = str(view.get("reason") or "")
        outcome.tokens = int(((view.get("usage") or {}).get("total") or {}).get("total_tokens", 0))
        outcome.diff = await self._diff(task_id, view)
        outcome.tool_calls = await self._tool_calls(task_id, int(view.get("last_event_id") or 0))
        return outcome
