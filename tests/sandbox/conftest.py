"""The sandbox conformance suite runs every test here once per backend.

Each backend contributes one module under `tests/sandbox/backends/` exposing
`open_sandbox(request, tmp_path)`: an async context manager yielding a ready `Sandbox` whose
workspace is an empty directory. Adding a backend = adding its module and its name below.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandbox.base import Sandbox

BACKENDS = {
    "local-plain": ("tests.sandbox.backends.local", "plain"),
    "local-bwrap": ("tests.sandbox.backends.local", "bwrap"),
    "daytona": ("tests.sandbox.backends.daytona", "default"),
}


@pytest.fixture(params=list(BACKENDS))
def backend_name(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
async def sandbox(backend_name: str, request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Sandbox]:
    module_name, variant = BACKENDS[backend_name]
    module = importlib.import_module(module_name)
    async with module.open_sandbox(request, tmp_path, variant) as sb:
        yield sb
