"""Backend selection: short names to providers, imported lazily (cloud SDKs load only when used)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandbox.base import SandboxProvider
from sandbox.settings import BackendName, SandboxSettings

_TRUE = {"1", "true", "yes", "on"}


def local_mode_override(configurable: Mapping[str, Any] | None) -> bool | None:
    """The `x-local-mode` configurable of a run, if present ("true"/"false" or a bool)."""
    if not configurable or "x-local-mode" not in configurable:
        return None
    value = configurable["x-local-mode"]
    return value if isinstance(value, bool) else str(value).strip().lower() in _TRUE


def create_provider(name: BackendName | str, settings: SandboxSettings | None = None, **kwargs: Any) -> SandboxProvider:
    """Build a provider by backend name. Extra keyword arguments go to the backend's constructor."""
    settings = settings or SandboxSettings()
    match BackendName(name):
        case BackendName.LOCAL:
            from sandbox.local import LocalProvider

            return LocalProvider(settings, **kwargs)
        case BackendName.DAYTONA:
            from sandbox.daytona import DaytonaProvider

            kwargs.setdefault("sandbox_settings", settings)  # command limits shared with the local backend
            return DaytonaProvider(**kwargs)
        case BackendName.MCP:
            from sandbox.mcp.backend import McpProvider

            return McpProvider(**kwargs)
    raise ValueError(f"unknown sandbox backend {name!r}")  # pragma: no cover - StrEnum rejects it first
