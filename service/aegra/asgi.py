"""The ASGI app `python -m agent.serve --runtime aegra` serves: Aegra's app (which loads langgraph.json: graphs,
auth, http.app) with three adjustments so the service behaves as it does on `langgraph dev`:

- the request's path is recorded for the authenticate handler (Aegra calls it without the path);
- websockets are authenticated at the handshake (Aegra's custom-route auth covers only HTTP routes): a bad key is
  refused with 403 before the socket opens, as `langgraph dev` does;
- HTTP errors keep their headers (Retry-After) and carry `detail` as LangGraph's API does, beside Aegra's
  `error`/`message` fields;
- PostgreSQL or Redis restarting is answered and logged clearly, and run streams survive it (service/aegra/outage.py,
  checkpoints.py, eventids.py, streams.py, queue.py).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi import HTTPException as FastAPIHTTPException
from fastapi.responses import JSONResponse
from langgraph_sdk import Auth
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from service.aegra import checkpoints, eventids, outage, queue
from service.aegra.context import request_path


class ServiceAdjustments:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            request_path.set(scope["path"])
        if scope["type"] == "websocket" and "user" not in scope:
            from agent.http.auth import authenticate  # the same handler langgraph.json names

            try:
                user = await authenticate(dict(scope["headers"]), scope["path"])
            except Auth.exceptions.HTTPException:
                await send({"type": "websocket.close", "code": 1008})  # before accept: the handshake gets 403
                return
            scope["user"] = WebsocketUser(str(user["identity"]))
        await self.app(scope, receive, send)


class WebsocketUser:
    is_authenticated = True

    def __init__(self, identity: str) -> None:
        self.identity = identity


async def http_error(_request: Request, exc: Exception) -> JSONResponse:
    from aegra_api.models.errors import get_error_type  # type: ignore[import-untyped]  # aegra-api has no py.typed

    assert isinstance(exc, HTTPException)
    body: dict[str, Any] = {"detail": exc.detail, "error": get_error_type(exc.status_code), "message": exc.detail}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


def _aegra_app() -> FastAPI:
    # Imported here: it reads langgraph.json (AEGRA_CONFIG) when imported. aegra-api ships no py.typed.
    from aegra_api.main import app  # type: ignore[import-untyped]

    for kind in (HTTPException, FastAPIHTTPException):  # Aegra registers its handler for FastAPI's subclass
        app.add_exception_handler(kind, http_error)
    outage.install(app)
    eventids.install()
    checkpoints.install()
    queue.install()
    return app


app = ServiceAdjustments(_aegra_app())
