"""The aiohttp application: control-plane routes under /api, toolbox routes under /toolbox/{sandbox_id}.

A middleware counts every request by route name and applies the armed faults before the handler runs.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from tests.daytona_server import toolbox
from tests.daytona_server.faults import Faults
from tests.daytona_server.responses import FAULTS_KEY, STATE_KEY, ErrorResponse, error
from tests.daytona_server.state import SELF_HOSTED_VERSION, TOOLBOX_ROUTES, SandboxRecord, ServerState


@web.middleware
async def faults_middleware(request: web.Request, handler):
    route = request.match_info.route.name or "unknown"
    state, faults = request.app[STATE_KEY], request.app[FAULTS_KEY]
    state.count(route)
    plane = "toolbox" if route in TOOLBOX_ROUTES else "control"
    fault = faults.take(route, plane)
    if fault is not None:
        if fault.kind == "drop":
            assert request.transport is not None
            request.transport.abort()
            raise asyncio.CancelledError  # the connection is gone: nothing can be answered
        if fault.kind == "drop_after":
            await handler(request)
            assert request.transport is not None
            request.transport.abort()
            raise asyncio.CancelledError
        headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else None
        message = (fault.message or "injected fault: HTTP {status}").format(
            status=fault.status, authorization=request.headers.get("Authorization", "")
        )
        return error(fault.status, message, headers=headers)
    return await handler(request)


def toolbox_url(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}/toolbox"


def sandbox_json(request: web.Request, record: SandboxRecord) -> web.Response:
    return web.json_response(record.to_json(toolbox_url(request), omit=request.app[STATE_KEY].omit))


def found(request: web.Request) -> SandboxRecord:
    sid = request.match_info["sid"]
    record = request.app[STATE_KEY].find(sid)
    if record is None:
        raise ErrorResponse(404, f"Sandbox with ID or name {sid} not found")
    return record


async def create(request: web.Request) -> web.Response:
    faults = request.app[FAULTS_KEY]
    body = await request.json()
    if faults.create_delay:
        await asyncio.sleep(faults.create_delay)
    record = request.app[STATE_KEY].create(body)
    if faults.stuck_starting:
        record.state = "starting"
    return sandbox_json(request, record)


async def get(request: web.Request) -> web.Response:
    return sandbox_json(request, found(request))


async def list_sandboxes(request: web.Request) -> web.Response:
    labels = json.loads(request.query.get("labels") or "{}")
    states: set[str] = set()
    for value in request.query.getall("states", []):
        states.update(s for s in value.split(",") if s)
    state = request.app[STATE_KEY]
    records = state.list(labels, states)
    items = [r.to_json(toolbox_url(request), omit=state.omit) for r in records]
    if state.version == SELF_HOSTED_VERSION:
        return web.json_response(items)
    return web.json_response({"items": items, "nextCursor": None})


async def config(request: web.Request) -> web.Response:
    """Public (no key), as on Daytona: the server's version among its settings."""
    return web.json_response({"version": request.app[STATE_KEY].version, "environment": "test"})


async def start(request: web.Request) -> web.Response:
    record = found(request)
    if record.state in ("stopped", "archived"):
        record.state = "started"
        record.stopped_at = None
    record.touch()
    return sandbox_json(request, record)


async def stop(request: web.Request) -> web.Response:
    record = found(request)
    request.app[STATE_KEY].stop(record)
    return sandbox_json(request, record)


async def archive(request: web.Request) -> web.Response:
    record = found(request)
    record.state = "archived"
    return sandbox_json(request, record)


async def delete(request: web.Request) -> web.Response:
    record = found(request)
    request.app[STATE_KEY].destroy(record.id)
    return sandbox_json(request, record)


async def labels(request: web.Request) -> web.Response:
    record = found(request)
    record.labels = dict((await request.json()).get("labels") or {})
    return web.json_response({"labels": record.labels})


async def last_activity(request: web.Request) -> web.Response:
    found(request).touch()
    return web.Response(status=201)


async def proxy_url(request: web.Request) -> web.Response:
    found(request)
    return web.json_response({"url": toolbox_url(request)})


async def expire_loop(app: web.Application) -> Any:
    async def loop() -> None:
        state = app[STATE_KEY]
        while True:
            await asyncio.sleep(min(0.05, state.minute_seconds / 10))
            state.expire()

    task = asyncio.create_task(loop())
    yield
    task.cancel()


def build_app(state: ServerState, faults: Faults) -> web.Application:
    app = web.Application(middlewares=[faults_middleware], client_max_size=512 * 1024 * 1024)
    app[STATE_KEY] = state
    app[FAULTS_KEY] = faults
    r = app.router
    r.add_get("/api/config", config, name="config")
    r.add_post("/api/sandbox", create, name="create")
    r.add_get("/api/sandbox", list_sandboxes, name="list")
    r.add_get("/api/sandbox/{sid}", get, name="get")
    r.add_delete("/api/sandbox/{sid}", delete, name="delete")
    r.add_post("/api/sandbox/{sid}/start", start, name="start")
    r.add_post("/api/sandbox/{sid}/stop", stop, name="stop")
    r.add_post("/api/sandbox/{sid}/archive", archive, name="archive")
    r.add_put("/api/sandbox/{sid}/labels", labels, name="labels")
    r.add_post("/api/sandbox/{sid}/last-activity", last_activity, name="last_activity")
    r.add_get("/api/sandbox/{sid}/toolbox-proxy-url", proxy_url, name="toolbox_proxy_url")
    toolbox.add_routes(r)
    app.cleanup_ctx.append(expire_loop)
    return app
