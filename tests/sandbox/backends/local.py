"""The local backend in the conformance suite: "plain" (no isolation) and "bwrap" (bubblewrap, required)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandbox.isolation import INSTALL_HINT, choose
from sandbox.local import LocalSandbox
from sandbox.settings import Isolation, SandboxSettings

CAPABILITIES: dict[str, frozenset[str]] = {
    "plain": frozenset(),
    "bwrap": frozenset({"network_isolation", "readonly_host", "pid_isolation", "private_tmp"}),
}


@contextlib.asynccontextmanager
async def open_sandbox(request: pytest.FixtureRequest, tmp_path: Path, variant: str) -> AsyncIterator[LocalSandbox]:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    settings = SandboxSettings(
        isolation=Isolation.BWRAP if variant == "bwrap" else Isolation.NONE,
        state_dir=tmp_path / "state",
        output_limit=64 * 1024,
        read_limit=1024 * 1024,
        exec_timeout=60,
    )
    isolation = None
    if variant == "bwrap":
        try:
            isolation = await choose(settings)
        except Exception as exc:  # a missing bwrap must fail the suite, never skip it
            pytest.fail(f"local-bwrap needs bubblewrap ({INSTALL_HINT}): {exc}", pytrace=False)
    async with LocalSandbox(workspace, settings=settings, isolation=isolation) as sandbox:
        yield sandbox
