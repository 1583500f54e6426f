"""Websocket `/tasks/{id}/events`: a task's events, replayed from `?after=<id>` and then live, and the
human's steps (approve / edit / reject / message / cancel) sent back on the same socket.

Server -> client: `{"type": "event", "id": 7, "event": "tool_output", ...}`,
`{"type": "ack", "action": ..., "result": {...}}`, `{"type": "error", "status": 409, "detail": ...}`.
Client -> server: `{"type": "approve"}`, `{"type": "edit", "plan": [..]}`, `{"type": "reject"}`,
`{"type": "message", "message": ".."}`, `{"type": "cancel"}`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, ConfigDict, Field, RootModel, ValidationError

from agent.http.cors import allowed_origins, origin_allowed
from agent.http.deps import caller_identity, task_service
from agent.http.service import TaskService
from agent.http.tickets import PROTOCOL
from coordination.store import StoreUnavailable

router = APIRouter(tags=["tasks"])
logger = logging.getLogger("open_swe.service.events")


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Approve(_Step):
    type: Literal["approve"]


class Edit(_Step):
    type: Literal["edit"]
    plan: list[str] = Field(min_length=1)


class Reject(_Step):
    type: Literal["reject"]


class Message(_Step):
    type: Literal["message"]
    message: str = Field(min_length=1, max_length=100_000)


class Cancel(_Step):
    type: Literal["cancel"]


class ClientStep(RootModel[Annotated[Approve | Edit | Reject | Message | Cancel, Field(discriminator="type")]]):
    """One step a client sends, chosen by its `type` (a model, not a TypeAdapter: mypy's TypeForm support for
    TypeAdapter(<Annotated union>) gives different verdicts with and without its cache)."""


async def _apply(service: TaskService, owner: str, task_id: str, step: Any) -> dict[str, Any]:
    match step:
        case Approve():
            result = await service.approve(owner, task_id)
        case Edit(plan=plan):
            result = await service.approve(owner, task_id, plan)
        case Reject():
            result = await service.reject(owner, task_id)
        case Message(message=message):
            result = await service.message(owner, task_id, message)
        case _:
            result = await service.cancel(owner, task_id)
    return result.model_dump()


MAX_STEP_CHARS = 1024 * 1024
EXPECTED = "expected approve, edit, reject, message or cancel"


def _read_step(frame: Mapping[str, Any], limit: int) -> tuple[Any, str]:
    """The step a client frame carries, or None and why it cannot be used (binary, too large, not a step)."""
    text = frame.get("text")
    if text is None:
        return None, f"binary frames are not accepted: send a JSON text frame ({EXPECTED})"
    if len(text) > limit:
        return None, f"message too large: at most {limit} characters ({EXPECTED})"
    try:
        return ClientStep.model_validate_json(text).root, ""
    except ValidationError as exc:
        detail = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'message'}: {e['msg']}" for e in exc.errors()[:5])
        return None, f"invalid step ({detail[:500]}); {EXPECTED}"


async def _answer(service: TaskService, owner: str, task_id: str, step: Any) -> dict[str, Any]:
    """The ack of a step, or the error it met; the socket stays open either way."""
    try:
        return {"type": "ack", "action": step.type, "result": await _apply(service, owner, task_id, step)}
    except HTTPException as exc:
        return {"type": "error", "status": exc.status_code, "detail": exc.detail, "action": step.type}
    except StoreUnavailable as exc:
        return {"type": "error", "status": 503, "detail": f"{exc}; retry shortly", "action": step.type}
    except Exception:
        logger.exception("websocket step failed", extra={"task_id": task_id})
        return {"type": "error", "status": 500, "detail": "internal error (logged on the server)", "action": step.type}


@router.websocket("/tasks/{task_id}/events")
async def task_events(websocket: WebSocket, task_id: str, after: Annotated[int, Query(ge=0, le=2**53)] = 0) -> None:
    # Browsers do not apply CORS to websockets: refuse a page from an origin not allowed (HTTP 403 at the handshake).
    if not origin_allowed(websocket.headers.get("origin"), websocket.headers.get("host"), await allowed_origins()):
        await websocket.close(code=4403, reason="origin not allowed (CORS_ALLOW_ORIGINS)")
        return
    # A browser that offered subprotocols (its ticket travels in one) requires the server to choose one.
    await websocket.accept(subprotocol=PROTOCOL if PROTOCOL in websocket.scope.get("subprotocols", ()) else None)
    send_lock = asyncio.Lock()

    async def send(message: dict[str, Any]) -> None:
        async with send_lock:
            await websocket.send_text(json.dumps(message, default=str))

    try:
        owner = await caller_identity(websocket)
        service = task_service(websocket)
        await service.check_owner(owner, task_id)
    except HTTPException as exc:
        await send({"type": "error", "status": exc.status_code, "detail": exc.detail})
        await websocket.close(code=4000 + exc.status_code, reason=str(exc.detail)[:120])
        return

    log = service.log
    listener = log.listen(task_id)

    async def follow() -> None:
        last = after
        try:
            while True:
                listener.clear()
                for event in await log.since(task_id, last):
                    await send({"type": "event", **event})
                    last = event["id"]
                await listener.wait()
        except StoreUnavailable as exc:
            # The log's database stayed away past its retry bound: say so and close, so the client reconnects with
            # `?after=<last id>` (nothing is lost: the log is durable) instead of waiting on a socket that went quiet.
            await send({"type": "error", "status": 503, "detail": f"{exc}; reconnect with ?after={last}"})
            await websocket.close(code=4503, reason="event log unavailable; reconnect with ?after")

    follower = asyncio.create_task(follow(), name=f"ws-follow-{task_id}")
    limit = int(getattr(websocket.app.state, "max_body_bytes", MAX_STEP_CHARS))
    try:
        while True:
            frame = await websocket.receive()
            if frame["type"] == "websocket.disconnect":
                break
            step, problem = _read_step(frame, limit)
            if step is None:
                await send({"type": "error", "status": 400, "detail": problem})
                continue
            await send(await _answer(service, owner, task_id, step))
    except WebSocketDisconnect:
        pass
    finally:
        follower.cancel()
        await asyncio.gather(follower, return_exceptions=True)
        log.unlisten(task_id, listener)
