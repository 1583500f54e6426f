"""Building Daytona backend objects that talk to a test server, with retries fast enough for tests."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from coordination.store import CoordinationStore, MemoryStore
from sandbox.daytona import DaytonaProvider
from sandbox.daytona_settings import DaytonaSettings
from sandbox.settings import SandboxSettings
from tests.daytona_server.server import API_KEY, DaytonaTestServer


def settings_for(server: DaytonaTestServer, **overrides: Any) -> DaytonaSettings:
    values: dict[str, Any] = {
        "api_key": SecretStr(API_KEY),
        "api_url": server.api_url,
        "snapshot": "test-snapshot",
        "retry_deadline": 5.0,
        "retry_base_delay": 0.01,
        "retry_max_delay": 0.05,
        "create_timeout": 20.0,
        "start_timeout": 20.0,
        "redis_url": None,
    }
    values.update(overrides)
    return DaytonaSettings.model_construct(**(DaytonaSettings().model_dump() | values))


def provider_for(
    server: DaytonaTestServer,
    *,
    store: CoordinationStore | None = None,
    sandbox_settings: SandboxSettings | None = None,
    **overrides: Any,
) -> DaytonaProvider:
    return DaytonaProvider(
        settings_for(server, **overrides),
        store=store if store is not None else MemoryStore(),
        sandbox_settings=sandbox_settings or SandboxSettings(exec_timeout=30.0),
    )
