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
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from agent.http.cors import allowed_origins, origin_allowed
from agent.http.deps import caller_identity, task_service
from agent.http.service import TaskService
from agent.http.tickets import PROTOCOL

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


ClientStep = TypeAdapter(Annotated[Approve | Edit | Reject | Message | Cancel, Field(discriminator="type")])


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


@router.websocket("/tasks/{task_id}/events")
async def task_events(websocket: WebSocket, task_id: str, after: Annotated[int, Query(ge=0)] = 0) -> None:
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
        owner = caller_identity(websocket)
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
        while True:
            listener.clear()
            for event in await log.since(task_id, last):
                await send({"type": "event", **event})
                last = event["id"]
            await listener.wait()

    follower = asyncio.create_task(follow(), name=f"ws-follow-{task_id}")
    try:
        while True:
            raw = await websocket.receive_text()
            try:
                step = ClientStep.validate_json(raw)
            except ValidationError as exc:
                detail = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'message'}: {e['msg']}" for e in exc.errors())
                await send(
                    {
                        "type": "error",
                        "status": 400,
                        "detail": f"invalid step ({detail}); expected approve, edit, reject, message or cancel",
                    }
                )
                continue
            try:
                result = await _apply(service, owner, task_id, step)
                await send({"type": "ack", "action": step.type, "result": result})
            except HTTPException as exc:
                await send({"type": "error", "status": exc.status_code, "detail": exc.detail, "action": step.type})
    except WebSocketDisconnect:
        pass
    finally:
        follower.cancel()
        await asyncio.gather(follower, return_exceptions=True)
        log.unlisten(task_id, listener)
