"""What keeps the task API answering under abuse: a request body limit (413) and a UTF-8 check of JSON bodies (422)
before anything parses them, a JSON 503 with Retry-After naming a dependency that is down, 422 bodies that never echo
large inputs or URL credentials, and a JSON 500 that keeps the connection open.

The middlewares are the app's own (`app.user_middleware`), which langgraph-api runs around every route it serves;
the body checks apply to the task API's paths only, the 500 guard to every plain HTTP request.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent.http.logs import Throttle
from coordination.store import StoreUnavailable

logger = logging.getLogger("open_swe.service.guards")

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
RETRY_AFTER_SECONDS = 5
INPUT_ECHO_CHARS = 200
"""A 422 repeats at most this many characters of an invalid input."""
GUARDED_PREFIXES = ("/tasks",)
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s]*@")
_WARN_EVERY = 10.0
DRAIN_BYTES = 64 * 1024 * 1024
DRAIN_SECONDS = 10.0


def _guarded(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in GUARDED_PREFIXES)


async def _send_json(send: Send, status: int, body: dict[str, Any], headers: Sequence[tuple[str, str]] = ()) -> None:
    payload = json.dumps(body).encode()
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in headers]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})


def _too_large(limit: int) -> dict[str, Any]:
    return {"detail": f"request body too large: at most {limit} bytes (SERVICE_MAX_BODY_BYTES)"}


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return False


async def _refuse_too_large(receive: Receive, send: Send, limit: int, *, more: bool = True) -> None:
    """413, after reading and discarding what the client is still sending (at most DRAIN_BYTES for DRAIN_SECONDS),
    like lingering close: closing with unread data resets the connection, and the client never sees the 413."""
    drained = 0
    try:
        async with asyncio.timeout(DRAIN_SECONDS):
            while more and drained <= DRAIN_BYTES:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                drained += len(message.get("body", b""))
                more = message.get("more_body", False)
    except TimeoutError:
        pass
    await _send_json(send, 413, _too_large(limit), [("connection", "close")])


def _unreadable_json(body: bytes) -> dict[str, Any] | None:
    """Why a JSON body cannot be read at all (not UTF-8, a number beyond Python's digit limit), or None. Plain syntax
    errors are left to the route, which answers them with its usual 422."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return {
            "type": "json_invalid",
            "loc": ["body", exc.start],
            "msg": f"JSON decode error: the body is not valid UTF-8 (byte {exc.start})",
        }
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return None
    except ValueError as exc:  # e.g. an integer literal over sys.get_int_max_str_digits() digits
        return {"type": "json_invalid", "loc": ["body"], "msg": f"JSON decode error: {str(exc)[:200]}"}
    except RecursionError:
        return {"type": "json_invalid", "loc": ["body"], "msg": "JSON decode error: nested too deeply"}
    return None


class BodyGuard:
    """On the task API's paths: 413 for a body over the limit (by Content-Length, or counted while reading a chunked
    one), 422 for a JSON body that is not UTF-8; the body read is then replayed to the route."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS or not _guarded(scope["path"]):
            await self.app(scope, receive, send)
            return
        state = getattr(scope.get("app"), "state", None)
        limit = int(getattr(state, "max_body_bytes", DEFAULT_MAX_BODY_BYTES))
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await _refuse_too_large(receive, send, limit)
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _refuse_too_large(receive, send, limit, more=message.get("more_body", False))
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        problem = _unreadable_json(body) if body and _is_json(scope) else None
        if problem is not None:
            await _send_json(send, 422, {"detail": [problem]})
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class ErrorGuard:
    """An unexpected exception becomes a JSON 500 the server answers normally, so the client's keep-alive
    connection survives (Starlette's own 500 re-raises, and the server then closes the connection)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            if started:
                raise
            logger.exception("unhandled error on %s %s", scope["method"], scope["path"])
            await _send_json(send, 500, {"detail": "internal error (logged on the server)"})


_unavailable_log = Throttle(_WARN_EVERY)


async def dependency_unavailable(request: Request, exc: Exception) -> JSONResponse:
    dependency = getattr(exc, "dependency", "a dependency")
    if _unavailable_log.ready():
        logger.warning(
            "%s; answering 503 (logged at most every %.0f s)", exc, _WARN_EVERY, extra={"path": request.url.path}
        )
    return JSONResponse(
        {"detail": f"{exc}; retry shortly", "dependency": dependency},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def _short(value: Any) -> Any:
    """An input as a 422 may repeat it: long strings, containers and integers cut short, URL credentials masked."""
    if isinstance(value, bool | float) or value is None:
        return value
    if isinstance(value, int):
        return value if value.bit_length() <= 60 else f"an integer of {value.bit_length()} bits (not repeated)"
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if len(text) > INPUT_ECHO_CHARS:
        return _URL_CREDENTIALS.sub(r"\1***@", text[:INPUT_ECHO_CHARS]) + f"... ({len(text)} characters)"
    masked = _URL_CREDENTIALS.sub(r"\1***@", text)
    return value if masked == text else masked


async def validation_failed(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = []
    for error in exc.errors():
        error = {k: v for k, v in error.items() if k not in ("url", "ctx")}
        if "input" in error:
            error["input"] = _short(error["input"])
        errors.append(error)
    return JSONResponse({"detail": errors}, status_code=422)


def install_guards(app: FastAPI) -> None:
    app.add_middleware(BodyGuard)
    app.add_middleware(ErrorGuard)  # added last: the outermost of the two
    app.add_exception_handler(StoreUnavailable, dependency_unavailable)
    app.add_exception_handler(RequestValidationError, validation_failed)
