"""API-key authentication and per-owner authorization for the LangGraph API and the task routes alike.

- `@auth.authenticate`: the key comes in `x-api-key` or `Authorization: Bearer <key>`; it is hashed and compared
  (constant time) with the configured `name:sha256hex` entries. The entry's name is the caller's identity.
  `AUTH_DISABLED=true` makes every caller the single user `local` (logged loudly at startup).
- `@auth.on` handlers: whatever a caller creates (threads, runs, crons, assistants) is stamped with
  `metadata.owner`, and every read, search, update or delete is filtered to the caller's own resources.
  Store namespaces are confined under the caller's identity. The default graph assistants stay readable.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from langgraph_sdk import Auth

from agent.http.apikeys import ApiKeyEntry, find_owner, parse_api_keys
from agent.http.repos import RepoPolicy, RepoRefused, check_repo
from agent.http.settings import ServiceSettings
from agent.http.tickets import offered_ticket, redeem_offered
from coordination.store import StoreUnavailable
from service.aegra.context import internal_identity, request_path

LOCAL_USER = "local"
ANONYMOUS_USER = "anonymous"
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/"})
OPEN_PREFIXES = ("/web/",)
"""The web page and its assets (`agent/http/web.py`): the page signs in with a key itself."""
OWNER_KEY = "owner"

logger = logging.getLogger("open_swe.service.auth")
auth = Auth()


@dataclass(frozen=True)
class AuthConfig:
    disabled: bool
    entries: tuple[ApiKeyEntry, ...]
    repo_policy: RepoPolicy = field(default_factory=RepoPolicy)
    """Checked again on every run created through the LangGraph API, which bypasses the task API's check."""


_config: AuthConfig | None = None
_config_lock = asyncio.Lock()


def load_auth_config(settings: ServiceSettings) -> AuthConfig:
    """Blocking (reads API_KEYS_FILE): call from a thread or at startup."""
    file_text = settings.api_keys_file.read_text() if settings.api_keys_file else None
    entries = parse_api_keys(settings.api_keys, file_text=file_text)
    return AuthConfig(disabled=settings.auth_disabled, entries=tuple(entries), repo_policy=settings.repo_policy())


def set_auth_config(config: AuthConfig) -> None:
    global _config
    _config = config
    if config.disabled:
        logger.warning(
            "AUTH_DISABLED=true: authentication is OFF, every caller is the user 'local'. Never expose this server."
        )
    elif not config.entries:
        logger.warning("no API keys configured (API_KEYS / API_KEYS_FILE): every request will be refused with 401")
    else:
        logger.info("API-key auth on: %d key(s) configured", len(config.entries))


async def current_auth_config() -> AuthConfig:
    if _config is None:
        async with _config_lock:
            if _config is None:
                set_auth_config(await asyncio.to_thread(lambda: load_auth_config(ServiceSettings())))
    assert _config is not None
    return _config


def presented_key(headers: dict[bytes, bytes]) -> str | None:
    key = headers.get(b"x-api-key")
    if key:
        return key.decode("latin-1").strip()
    authorization = headers.get(b"authorization", b"").decode("latin-1").strip()
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def resolve_identity(config: AuthConfig, key: str | None) -> str:
    """The caller's identity, or Auth.exceptions.HTTPException(401) with a message saying what is wrong."""
    if config.disabled:
        return LOCAL_USER
    if not config.entries:
        raise Auth.exceptions.HTTPException(
            status_code=401, detail="no API keys are configured on this server (set API_KEYS or API_KEYS_FILE)"
        )
    if key is None:
        raise Auth.exceptions.HTTPException(
            status_code=401,
            detail="missing API key: send it in the x-api-key header or as 'Authorization: Bearer <key>'",
        )
    owner = find_owner(key, config.entries)
    if owner is None:
        raise Auth.exceptions.HTTPException(status_code=401, detail="invalid API key")
    return owner


@auth.authenticate
async def authenticate(
    headers: dict[bytes, bytes] | dict[str, str], path: str | None = None
) -> Auth.types.MinimalUserDict:
    """`langgraph dev` passes bytes headers and the path; Aegra calls `handler(headers)` with str headers and no path
    (service/aegra/asgi.py records the path, and the service's own calls there act as the task's owner)."""
    raw: dict[bytes, bytes] = {}
    for name, value in headers.items():
        raw[name if isinstance(name, bytes) else name.lower().encode("latin-1")] = (
            value if isinstance(value, bytes) else value.encode("latin-1")
        )
    if any(isinstance(name, str) for name in headers):
        text = {name.decode("latin-1"): value.decode("latin-1") for name, value in raw.items()}
        if (internal := internal_identity(text)) is not None:
            return {"identity": internal, "permissions": ["tasks"]}
    path = path if path is not None else request_path.get() or ""
    if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
        return {"identity": ANONYMOUS_USER, "permissions": []}
    config = await current_auth_config()
    key = presented_key(raw)
    ticket = offered_ticket(raw) if key is None and not config.disabled else None
    if ticket is not None:  # a browser's websocket (agent/http/tickets.py): single use, this task only
        try:
            owner = await redeem_offered(ticket, path)
        except StoreUnavailable as exc:  # tickets live in the coordination store (Redis): refused, not hung
            raise Auth.exceptions.HTTPException(
                status_code=503, detail=f"websocket tickets cannot be checked now: {exc}; retry shortly"
            ) from None
        if owner is None:
            raise Auth.exceptions.HTTPException(status_code=401, detail="invalid, expired or used websocket ticket")
        return {"identity": owner, "permissions": ["tasks"]}
    return {"identity": resolve_identity(config, key), "permissions": ["tasks"]}


def _stamp_owner(
    ctx: Auth.types.AuthContext, value: Auth.types.ThreadsCreate | Auth.types.RunsCreate | dict[str, Any]
) -> dict[str, str]:
    metadata = value.get("metadata")
    if not isinstance(metadata, dict):
        metadata = {}
        value["metadata"] = metadata
    metadata[OWNER_KEY] = ctx.user.identity
    return {OWNER_KEY: ctx.user.identity}


def _own_only(ctx: Auth.types.AuthContext) -> dict[str, str]:
    return {OWNER_KEY: ctx.user.identity}


@auth.on.threads.create
async def on_thread_create(ctx: Auth.types.AuthContext, value: Auth.types.ThreadsCreate) -> Auth.types.FilterType:
    return _stamp_owner(ctx, value)


@auth.on.threads.create_run
async def on_run_create(ctx: Auth.types.AuthContext, value: Auth.types.RunsCreate) -> Auth.types.FilterType:
    kwargs = value.get("kwargs")
    run_input = kwargs.get("input") if isinstance(kwargs, dict) else None
    repo = run_input.get("repo") if isinstance(run_input, dict) else None
    if repo is not None:  # a repo given straight to the graph passes the same allow-list as the task API's
        if not isinstance(repo, str):
            raise Auth.exceptions.HTTPException(status_code=422, detail="repo must be a string")
        try:
            await check_repo(repo, (await current_auth_config()).repo_policy)
        except RepoRefused as exc:
            raise Auth.exceptions.HTTPException(status_code=422, detail=str(exc)) from None
    return _stamp_owner(ctx, value)


# One handler serves several actions. Each `auth.on.<resource>.<action>` is typed for its own value type, so the
# handlers (which take `value: Any`) are registered with plain calls rather than stacked decorators.
async def on_thread_access(ctx: Auth.types.AuthContext, value: Any) -> Auth.types.FilterType:
    return _own_only(ctx)


auth.on.threads.read(on_thread_access)
auth.on.threads.update(on_thread_access)
auth.on.threads.delete(on_thread_access)
auth.on.threads.search(on_thread_access)


async def on_assistant_read(ctx: Auth.types.AuthContext, value: Any) -> None:
    """The graphs' assistants are shared: everyone may read them and run them on their own threads."""
    return None


auth.on.assistants.read(on_assistant_read)
auth.on.assistants.search(on_assistant_read)


async def on_owned_create(ctx: Auth.types.AuthContext, value: Any) -> Auth.types.FilterType:
    return _stamp_owner(ctx, value)


auth.on.assistants.create(on_owned_create)
auth.on.crons.create(on_owned_create)


async def on_owned_access(ctx: Auth.types.AuthContext, value: Any) -> Auth.types.FilterType:
    return _own_only(ctx)


auth.on.assistants.update(on_owned_access)
auth.on.assistants.delete(on_owned_access)
auth.on.crons.read(on_owned_access)
auth.on.crons.update(on_owned_access)
auth.on.crons.delete(on_owned_access)
auth.on.crons.search(on_owned_access)


@auth.on.store
async def on_store(ctx: Auth.types.AuthContext, value: Any) -> None:
    """Store items live under the caller's identity: namespace (owner, ...)."""
    namespace = tuple(value.get("namespace") or ())
    if not namespace or namespace[0] != ctx.user.identity:
        value["namespace"] = (ctx.user.identity, *namespace)


@auth.on
async def deny_everything_else(ctx: Auth.types.AuthContext, value: Any) -> bool:
    """Default deny for any resource or action not covered above."""
    return False
