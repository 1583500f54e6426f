"""The error answers of the task API, as its OpenAPI schema documents them: one place for each status code's
description, body and headers, so the routes list the codes they use and the schema matches what they send."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

MAX_OFFSET = 1_000_000
"""The largest `offset` GET /tasks accepts (the runtime's search takes 64-bit integers)."""


class ErrorBody(BaseModel):
    detail: str


class FieldError(BaseModel):
    model_config = ConfigDict(extra="allow")

    loc: list[str | int]
    msg: str
    type: str
    input: Any = None


class InvalidBody(BaseModel):
    detail: str | list[FieldError]
    """A list of what is wrong with which part of the request, or one message (a refused repo, a reused key)."""


class UnavailableBody(BaseModel):
    detail: str
    dependency: str | None = None
    """The dependency that is down ("redis"), when one is."""


_RETRY_AFTER = {
    "Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer", "minimum": 0}}
}
_RESPONSES: dict[int, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "A malformed header: an Idempotency-Key outside 1 to 255 characters"},
    401: {"model": ErrorBody, "description": "Missing or invalid API key"},
    404: {"model": ErrorBody, "description": "No such task for this key"},
    409: {
        "model": ErrorBody,
        "description": "The step does not fit the task's state (approve with no plan waiting, a message while it "
        "runs, anything after cancel), or a request with this Idempotency-Key is still being processed",
    },
    413: {"model": ErrorBody, "description": "The request body is over SERVICE_MAX_BODY_BYTES"},
    422: {
        "model": InvalidBody,
        "description": "Invalid request: the validation errors (invalid JSON or UTF-8, a missing or out-of-range "
        "field; long inputs are cut short), or one message (a repo the server does not allow, an Idempotency-Key "
        "reused with another body)",
    },
    429: {
        "model": ErrorBody,
        "description": "Rate limited: TASK_RATE_LIMIT tasks per TASK_RATE_WINDOW seconds for this key",
        "headers": _RETRY_AFTER,
    },
    503: {
        "model": UnavailableBody,
        "description": "A dependency is down (`dependency` names it, e.g. redis) or the service is starting",
        "headers": _RETRY_AFTER,
    },
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route that can answer these error codes. Errors are JSON also on a route whose own
    answer is not (FastAPI documents a model under the route's media type only)."""
    return {code: {**_RESPONSES[code], "content": {"application/json": {}}} for code in codes}
