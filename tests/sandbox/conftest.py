"""The sandbox conformance suite runs every test here once per backend.

Each backend contributes one module under `tests/sandbox/backends/` exposing
`open_sandbox(request, tmp_path, variant)`: an async context manager yielding a ready `Sandbox` whose
workspace is an empty directory. Adding a backend = adding its module and its name below.

Capabilities that differ by design (e.g. network isolation) are declared by the backend module as
`CAPABILITIES = {variant: frozenset({...})}`; a test marked `@pytest.mark.capability("name")` is only
generated for the backends that declare that capability. A backend module that is not there yet (its
backend is still being written) is left out and named in the report header.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest

from sandbox.base import Sandbox

BACKENDS = {
    "local-plain": ("tests.sandbox.backends.local", "plain"),
    "local-bwrap": ("tests.sandbox.backends.local", "bwrap"),
    "daytona": ("tests.sandbox.backends.daytona", "default"),
    "mcp": ("tests.sandbox.backends.mcp", "default"),
}
KNOWN_CAPABILITIES = frozenset({"network_isolation", "readonly_host", "pid_isolation", "private_tmp"})
"""network_isolation: commands cannot reach the host's network. readonly_host: commands cannot write outside the
workspace (and /tmp). pid_isolation: commands see only the sandbox's processes. private_tmp: /tmp is the sandbox's
own."""


@cache
def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            return None
        raise


def capabilities(backend: str) -> frozenset[str]:
    module_name, variant = BACKENDS[backend]
    module = _module(module_name)
    return frozenset(getattr(module, "CAPABILITIES", {}).get(variant, ()))


def available_backends() -> list[str]:
    return [name for name, (module, _) in BACKENDS.items() if _module(module) is not None]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "capability(name): generate the test only for backends declaring `name`")


def pytest_report_header(config: pytest.Config) -> str:
    missing = sorted(set(BACKENDS) - set(available_backends()))
    return f"sandbox backends: {', '.join(available_backends())}" + (
        f" (not present: {', '.join(missing)})" if missing else ""
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend_name" not in metafunc.fixturenames:
        return
    needed = {name for mark in metafunc.definition.iter_markers("capability") for name in mark.args}
    unknown = needed - KNOWN_CAPABILITIES
    if unknown:
        raise pytest.UsageError(f"{metafunc.definition.nodeid}: unknown capability {sorted(unknown)}")
    backends = [name for name in available_backends() if needed <= capabilities(name)]
    metafunc.parametrize("backend_name", backends)


@pytest.fixture
async def sandbox(backend_name: str, request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Sandbox]:
    module_name, variant = BACKENDS[backend_name]
    module = importlib.import_module(module_name)
    async with module.open_sandbox(request, tmp_path, variant) as sb:
        yield sb
