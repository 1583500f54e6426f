"""`open-swe run --server URL`: drive a running service through its task API instead of running in process.

Creates the task over REST, follows its events on the websocket (the key in the `x-api-key` header), asks for the
plan approval and the agent's questions in the terminal and sends the answers back on the same socket, then prints
the task's diff and summary from `GET /tasks/{id}`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import httpx
import websockets

from agent.cli_render import TaskPrinter, literal

TERMINAL = frozenset(
    {"completed", "failed", "limit_reached", "rejected", "cancelled", "answered", "needs_review", "lost"}
)
AWAITING = frozenset({"awaiting_approval", "awaiting_answer"})
SUCCESS = frozenset({"completed", "answered"})


class RemoteError(Exception):
    """The service could not be used (unreachable, refused key, invalid task): a one-line reason."""


def step_for(resume: Mapping[str, Any]) -> dict[str, Any]:
    """The websocket step (agent/http/events.py) for a resume value the terminal prompts return."""
    match resume.get("type"):
        case "accept":
            return {"type": "approve"}
        case "edit":
            return {"type": "edit", "plan": list(resume.get("plan") or [])}
        case "ignore":
            return {"type": "reject"}
        case _:
            return {"type": "message", "message": str(resume.get("message") or "")}


def events_url(server: str, task_id: str, after: int = 0) -> str:
    base = server.rstrip("/")
    scheme, sep, rest = base.partition("://")
    if not sep or scheme not in ("http", "https"):
        raise RemoteError(f"--server must be an http(s) URL, not {server!r}")
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest}/tasks/{task_id}/events?after={after}"


async def _json(request: Any, server: str) -> dict[str, Any]:
    try:
        response: httpx.Response = await request
    except httpx.HTTPError as exc:
        raise RemoteError(f"cannot reach {server}: {exc or type(exc).__name__}") from None
    if response.is_error:
        try:
            detail = response.json().get("detail")
        except ValueError:
            detail = response.text[:200]
        raise RemoteError(f"{server} answered {response.status_code}: {detail}")
    return dict(response.json())


async def run_remote(
    printer: TaskPrinter,
    *,
    server: str,
    api_key: str,
    body: dict[str, Any],
) -> int:
    """Run one task on the service at `server`; 0 when it completed, 1 when it did not."""
    headers = {"x-api-key": api_key}
    server = server.rstrip("/")
    async with httpx.AsyncClient(base_url=server, headers=headers, timeout=60) as http:
        created = await _json(http.post("/tasks", json=body), server)
        task_id = str(created["id"])
        printer.console.print(f"[bold]task id[/bold] {task_id}  [dim]({server})[/dim]")
        try:
            async with websockets.connect(
                events_url(server, task_id), additional_headers=headers, max_size=None
            ) as socket:
                await _follow(printer, http, socket, task_id, server)
        except (OSError, websockets.InvalidHandshake) as exc:
            raise RemoteError(f"cannot follow the task's events on {server}: {exc}") from None
        view = await _json(http.get(f"/tasks/{task_id}"), server)
    printer.result(view)
    return 0 if view.get("status") in SUCCESS else 1


async def _follow(printer: TaskPrinter, http: httpx.AsyncClient, socket: Any, task_id: str, server: str) -> None:
    async for raw in socket:
        message = json.loads(raw)
        if message.get("type") == "error":
            printer.console.print(f"[red]error[/red] {literal(message.get('detail'))}")
            if message.get("status") == 404:
                raise RemoteError(f"task {task_id} not found on {server}")
            continue
        if message.get("type") != "event":
            continue
        printer.render(message)
        if message.get("event") != "run_ended":
            continue
        status = message.get("status")
        if status in TERMINAL:
            return
        if status in AWAITING:
            pending = (await _json(http.get(f"/tasks/{task_id}"), server)).get("pending")
            if pending:
                ask = printer.ask_approval if pending.get("type") == "plan_approval" else printer.ask_answer
                resume = await asyncio.to_thread(ask, pending)  # the socket keeps answering pings meanwhile
                await socket.send(json.dumps(step_for(resume)))
