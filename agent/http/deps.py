"""Request dependencies shared by the routes: the authenticated caller and the task service."""

from __future__ import annotations

from fastapi import HTTPException
from starlette.requests import HTTPConnection

from agent.http.auth import ANONYMOUS_USER
from agent.http.service import TaskService
from service.aegra.context import acting_owner


async def caller_identity(conn: HTTPConnection) -> str:
    """The identity the server's auth middleware attached to this request (enable_custom_route_auth). Async so
    FastAPI runs it in the request's own context, where the owner it sets for the service's own calls stays."""
    user = conn.scope.get("user")
    identity = getattr(user, "identity", None)
    if not identity or identity == ANONYMOUS_USER or not getattr(user, "is_authenticated", True):
        raise HTTPException(
            401, "authentication required: send an API key in x-api-key or 'Authorization: Bearer <key>'"
        )
    acting_owner.set(str(identity))  # the service's own calls act as this caller (needed on Aegra; harmless elsewhere)
    return str(identity)


def task_service(conn: HTTPConnection) -> TaskService:
    service = getattr(conn.app.state, "task_service", None)
    if service is None:
        raise HTTPException(503, "the task service is starting; retry shortly", headers={"Retry-After": "1"})
    return service
