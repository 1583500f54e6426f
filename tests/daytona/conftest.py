"""Fixtures for the Daytona backend tests: a fresh test server per test and providers that talk to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.daytona import DaytonaProvider
from tests.daytona_server.fixtures import provider_for
from tests.daytona_server.server import DaytonaTestServer, running_server


@pytest.fixture
def daytona_server(tmp_path: Path) -> Iterator[DaytonaTestServer]:
    with running_server(tmp_path / "daytona-server") as server:
        yield server


@pytest.fixture
async def make_provider(daytona_server: DaytonaTestServer) -> AsyncIterator[Callable[..., DaytonaProvider]]:
    """Build providers against the test server (closed at the end of the test)."""
    made: list[DaytonaProvider] = []

    def make(**overrides: Any) -> DaytonaProvider:
        provider = provider_for(daytona_server, **overrides)
        made.append(provider)
        return provider

    yield make
    for provider in made:
        await provider.aclose()


@pytest.fixture
async def provider(make_provider: Callable[..., DaytonaProvider]) -> DaytonaProvider:
    return make_provider()
