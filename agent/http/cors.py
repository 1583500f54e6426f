"""Browser access. Which origins may use the API: `CORS_ALLOW_ORIGINS` (comma-separated, e.g.
`https://app.example.com,http://localhost:5173`); same origin only when empty (the default).

REST: LangGraph's server applies its own CORS middleware to every route (ours included); `python -m agent.serve`
configures it from this setting through its `CORS_CONFIG` variable (`cors_config`). Websockets are not covered
by CORS in browsers, so the events socket checks the `Origin` header itself (`origin_allowed`).
"""

from __future__ import annotations

import asyncio
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def normalize_origin(origin: str) -> str:
    """`scheme://host[:port]` in lower case, default port dropped; ValueError for anything else."""
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise ValueError(f"not an origin (expected scheme://host[:port]): {origin!r}")
    if parts.query or parts.fragment or parts.username:
        raise ValueError(f"not an origin (expected scheme://host[:port]): {origin!r}")
    port = parts.port
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != _DEFAULT_PORTS[parts.scheme] else "")


class BrowserSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    cors_allow_origins: str = Field(
        default="",
        validation_alias=AliasChoices("CORS_ALLOW_ORIGINS"),
        description="Comma-separated origins allowed to call the API from a browser; same origin only when empty.",
    )
    ws_ticket_ttl: float = Field(
        default=30.0,
        gt=0,
        le=300,
        validation_alias=AliasChoices("WS_TICKET_TTL"),
        description="Seconds a websocket ticket (agent/http/tickets.py) stays valid.",
    )

    @field_validator("cors_allow_origins")
    @classmethod
    def _valid(cls, value: str) -> str:
        parse_origins(value)
        return value

    @property
    def origins(self) -> tuple[str, ...]:
        return parse_origins(self.cors_allow_origins)


def parse_origins(value: str) -> tuple[str, ...]:
    origins: list[str] = []
    for item in value.split(","):
        if not item.strip():
            continue
        if item.strip() == "*":
            raise ValueError(
                "CORS_ALLOW_ORIGINS='*' is refused: this API takes credentials; list the origins that may use it"
            )
        origins.append(normalize_origin(item))
    return tuple(dict.fromkeys(origins))


def cors_config(origins: tuple[str, ...]) -> dict[str, Any]:
    """LangGraph's `CORS_CONFIG` for these origins: keys travel in headers (no cookies), so no credentials mode."""
    return {
        "allow_origins": list(origins),
        "allow_methods": ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        "allow_headers": ["*"],
        "allow_credentials": False,
        "expose_headers": ["x-pagination-total", "x-pagination-next", "content-location", "retry-after"],
        "max_age": 600,
    }


@cache
def _settings() -> BrowserSettings:
    return BrowserSettings()


async def browser_settings() -> BrowserSettings:
    """The settings (read once from the environment and `.env`, off the event loop)."""
    return await asyncio.to_thread(_settings)


async def allowed_origins() -> tuple[str, ...]:
    return (await browser_settings()).origins


def origin_allowed(origin: str | None, host: str | None, allowed: tuple[str, ...]) -> bool:
    """A request without `Origin` (not a browser) passes; a browser's passes when listed or from the server's own
    host (`Host` header; the scheme is not compared, since a TLS-terminating proxy forwards plain HTTP)."""
    if origin is None:
        return True
    try:
        normalized = normalize_origin(origin)
    except ValueError:
        return False
    if normalized in allowed:
        return True
    if not host:
        return False
    own = host.strip().lower().removesuffix(":80").removesuffix(":443")
    return normalized.split("://", 1)[1] == own
