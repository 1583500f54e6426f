"""Self-hosted Daytona: the open-source server (archived at v0.190) answers in an older shape than the pinned SDK reads.

Two differences are known and tolerated: its Sandbox JSON has no `kvm` (the SDK requires it: "1 validation error for
Sandbox kvm"), and `GET /sandbox` answers a bare array where the SDK expects a `{items, nextCursor}` page. The shim
below fills those in as the SDK's models parse an answer; it changes nothing for a server that sends the newer shape.
Any other answer the SDK cannot read fails the request at once with one line naming the server's version (from its
public `GET /config`) and what to do, and a sandbox whose creation answer could not be read is deleted by label.
"""

from __future__ import annotations

import json
import logging
from importlib.metadata import version as package_version
from typing import Any

import aiohttp
from pydantic import ValidationError

log = logging.getLogger(__name__)

OLDER_SANDBOX_DEFAULTS: dict[str, Any] = {"kvm": False}
"""Fields a v0.190 server leaves out of Sandbox JSON, with the value it means."""
_PATCHED = "_open_swe_tolerates_v0190"


def tolerate_older_servers() -> None:
    """Make the SDK's Sandbox and list-page models accept a v0.190 server's answers (idempotent)."""
    from daytona_api_client_async.models.list_sandboxes_response import ListSandboxesResponse
    from daytona_api_client_async.models.sandbox import Sandbox

    if getattr(Sandbox, _PATCHED, False):
        return
    parse_sandbox = Sandbox.from_dict.__func__  # type: ignore[attr-defined]
    parse_page = ListSandboxesResponse.from_dict.__func__  # type: ignore[attr-defined]

    def sandbox_from_dict(cls: type[Sandbox], obj: Any) -> Any:
        if isinstance(obj, dict):
            obj = {**OLDER_SANDBOX_DEFAULTS, **obj}
        return parse_sandbox(cls, obj)

    def page_from_dict(cls: type[ListSandboxesResponse], obj: Any) -> Any:
        if isinstance(obj, list):  # v0.190: the sandboxes themselves, all of them
            obj = {"items": obj, "nextCursor": None}
        return parse_page(cls, obj)

    Sandbox.from_dict = classmethod(sandbox_from_dict)  # type: ignore[assignment,method-assign]
    ListSandboxesResponse.from_dict = classmethod(page_from_dict)  # type: ignore[assignment,method-assign]
    setattr(Sandbox, _PATCHED, True)


def unreadable_answer(exc: BaseException) -> ValidationError | None:
    """The pydantic error behind `exc` (the SDK wraps it), when the server's answer could not be parsed."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ValidationError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


async def server_version(api_url: str, *, timeout: float = 10.0) -> str:
    """The server's version from its public `GET {api_url}/config`, or "unknown"."""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
            session.get(f"{api_url.rstrip('/')}/config") as response,
        ):
            body = await response.json(content_type=None) if response.status == 200 else {}
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return "unknown"
    found = body.get("version") if isinstance(body, dict) else None
    return str(found) if found else "unknown"


def incompatibility(api_url: str, version: str, error: ValidationError, operation: str) -> str:
    """One line: which server, which version, what could not be read, what to do."""
    first = error.errors()[0] if error.errors() else {"loc": (), "msg": str(error)}
    field = ".".join(str(part) for part in first.get("loc", ())) or error.title
    sdk = package_version("daytona")
    return (
        f"Daytona {operation}: the server at {api_url} (version {version}) answered in a shape the daytona SDK "
        f"{sdk} cannot read ({error.title}.{field}: {first.get('msg')}). Self-hosted Daytona is supported in the "
        "shape of its last release (v0.190) and Daytona's cloud in the current one: check that DAYTONA_API_URL is "
        "such a server, or upgrade it"
    )


async def delete_by_labels(api_url: str, api_key: str, labels: dict[str, str], *, timeout: float = 30.0) -> int:
    """Delete the sandboxes carrying `labels` with plain HTTP (when the SDK cannot read them). Returns how many."""
    headers = {"Authorization": f"Bearer {api_key}"}
    base = api_url.rstrip("/")
    deleted = 0
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout), headers=headers) as session:
        async with session.get(f"{base}/sandbox", params={"labels": json.dumps(labels)}) as response:
            body = await response.json(content_type=None)
        items = body.get("items", []) if isinstance(body, dict) else body
        for item in items if isinstance(items, list) else []:
            sandbox_id = item.get("id") if isinstance(item, dict) else None
            if sandbox_id:
                async with session.delete(f"{base}/sandbox/{sandbox_id}") as response:
                    deleted += int(response.status < 300 or response.status == 404)
    return deleted
