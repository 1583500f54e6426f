"""Routes for browsers: `GET /` serves the web page built from `service/web/` (its `dist/`), `GET /web/...` its
assets (both open without a key: the page signs in with one), and `POST /tasks/{id}/events/ticket` issues the
single-use ticket a browser opens a task's event websocket with (`agent/http/tickets.py`)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import FileResponse
from pydantic import BaseModel

from agent.http.cors import browser_settings
from agent.http.deps import caller_identity, task_service
from agent.http.service import TaskService
from agent.http.tickets import PROTOCOL, TICKET_PROTOCOL_PREFIX, tickets

WEB_DIST = Path(__file__).resolve().parents[2] / "service" / "web" / "dist"
_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png"}
_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; connect-src 'self' http: https: ws: wss:; img-src 'self' data:; style-src 'self'; "
        "script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
}

router = APIRouter(include_in_schema=False)


def _bundle_file(relative: str) -> Path:
    root = WEB_DIST.resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise HTTPException(404, "not found")
    return path


@router.get("/")
async def index() -> FileResponse:
    """The page (a single-page app; its views are addressed by the URL fragment)."""
    path = WEB_DIST / "index.html"
    if not await asyncio.to_thread(path.is_file):
        raise HTTPException(503, "the web page is not built: run `make web` (npm) or check out service/web/dist")
    return FileResponse(path, media_type="text/html", headers={**_SECURITY_HEADERS, "Cache-Control": "no-cache"})


@router.get("/web/{relative:path}")
async def asset(relative: str) -> FileResponse:
    path = await asyncio.to_thread(_bundle_file, relative)
    return FileResponse(
        path,
        media_type=_TYPES.get(path.suffix, "application/octet-stream"),
        headers={**_SECURITY_HEADERS, "Cache-Control": "public, max-age=31536000, immutable"},
    )


class TicketIssued(BaseModel):
    ticket: str
    expires_in: float
    protocols: list[str]
    """Pass these to `new WebSocket(url, protocols)`."""


@router.post(
    "/tasks/{task_id}/events/ticket",
    include_in_schema=True,
    tags=["tasks"],
    response_model=TicketIssued,
    responses={
        401: {"description": "Missing or invalid API key"},
        404: {"description": "No such task for this key"},
        503: {"description": "The coordination store (Redis) is unavailable"},
    },
)
async def issue_ticket(
    task_id: str,
    owner: Annotated[str, Depends(caller_identity)],
    service: Annotated[TaskService, Depends(task_service)],
) -> TicketIssued:
    """A single-use ticket (30 s, `WS_TICKET_TTL`) to open this task's event websocket from a browser."""
    await service.check_owner(owner, task_id)
    ttl = (await browser_settings()).ws_ticket_ttl
    ticket = await tickets.issue(owner, task_id, ttl=ttl)  # StoreUnavailable: 503 (agent/http/guards.py)
    return TicketIssued(ticket=ticket, expires_in=ttl, protocols=[PROTOCOL, f"{TICKET_PROTOCOL_PREFIX}{ticket}"])
