"""Daytona's error envelope and the application keys shared by the route modules."""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from tests.daytona_server.faults import Faults
from tests.daytona_server.state import ServerState

STATE_KEY = web.AppKey("state", ServerState)
FAULTS_KEY = web.AppKey("faults", Faults)

_CODES = {
    400: "BAD_REQUEST",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    408: "REQUEST_TIMEOUT",
    409: "CONFLICT",
    429: "TOO_MANY_REQUESTS",
    500: "INTERNAL_ERROR",
    502: "BAD_GATEWAY",
    503: "SERVICE_UNAVAILABLE",
}


def error(
    status: int,
    message: str,
    *,
    code: str | None = None,
    source: str = "DAYTONA_API",
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    body = {"statusCode": status, "message": message, "code": code or _CODES.get(status, "ERROR"), "source": source}
    return web.json_response(body, status=status, headers=headers)


class ErrorResponse(web.HTTPException):
    """Raise from a handler to answer with the error envelope."""

    def __init__(self, status: int, message: str, *, code: str | None = None, source: str = "DAYTONA_API") -> None:
        self.status_code = status
        response = error(status, message, code=code, source=source)
        super().__init__(text=response.text, content_type="application/json")
