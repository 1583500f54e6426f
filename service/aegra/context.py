"""What the service needs to run on a runtime without an in-process client (Aegra):

- The request's path, for the authenticate handler: Aegra calls it as `handler(headers)` without the path, so an
  outer ASGI middleware (service/aegra/asgi.py) records it here.
- Acting as the task's owner: Aegra stamps every thread with the caller and filters every query by it, so the
  service's own client (a real HTTP client of its own server) presents the internal token and the identity of the
  owner it acts for; `deps.caller_identity` sets that owner for the request (and the relay tasks it starts).
"""

from __future__ import annotations

import hmac
import os
from contextvars import ContextVar

import httpx

INTERNAL_TOKEN_ENV = "OPEN_SWE_INTERNAL_TOKEN"
"""A random secret shared by the server's processes (set by `python -m agent.serve --runtime aegra`)."""
SELF_URL_ENV = "OPEN_SWE_SELF_URL"
"""The URL of this server's own API (loopback), for runtimes with no in-process transport."""
TOKEN_HEADER = "x-open-swe-internal"
ACT_AS_HEADER = "x-open-swe-act-as"
SERVICE_IDENTITY = "open-swe-service"

request_path: ContextVar[str | None] = ContextVar("request_path", default=None)
acting_owner: ContextVar[str | None] = ContextVar("acting_owner", default=None)


def internal_identity(headers: dict[str, str]) -> str | None:
    """The identity an internal call acts as; None unless it carries this server's internal token."""
    expected = os.environ.get(INTERNAL_TOKEN_ENV, "")
    offered = headers.get(TOKEN_HEADER, "")
    if not expected or not offered or not hmac.compare_digest(offered.encode(), expected.encode()):
        return None
    return headers.get(ACT_AS_HEADER) or SERVICE_IDENTITY


async def _act_as_owner(request: httpx.Request) -> None:
    owner = acting_owner.get()
    if owner is not None:
        request.headers[ACT_AS_HEADER] = owner


def self_client_settings() -> tuple[str, dict[str, str]] | None:
    """(url, headers) of the service's own API when the runtime needs a real URL; None under `langgraph dev`."""
    url = os.environ.get(SELF_URL_ENV)
    token = os.environ.get(INTERNAL_TOKEN_ENV)
    if not url or not token:
        return None
    return url, {TOKEN_HEADER: token}


def install_act_as(http: httpx.AsyncClient) -> None:
    """Every request of `http` carries the owner the current context acts for."""
    http.event_hooks["request"] = [*http.event_hooks.get("request", []), _act_as_owner]
