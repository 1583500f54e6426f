"""Fixtures for the agent's tests: a fixture repository, a local sandbox provider, the agent's environment."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from agent.config import reset_settings_cache
from agent.runtime import close_providers
from sandbox.local import LocalProvider
from sandbox.settings import SandboxSettings
from tests.support.fixture_repo import FixtureRepo, create_fixture_repo


@pytest.fixture
def fixture_repo(tmp_path: Path) -> FixtureRepo:
    return create_fixture_repo(tmp_path / "repo")


@pytest.fixture
async def provider(tmp_path: Path) -> AsyncIterator[LocalProvider]:
    """A local provider with its own state dir (passed to runs as the `sandbox_provider` configurable)."""
    p = LocalProvider(SandboxSettings(state_dir=tmp_path / "state"))
    yield p
    await p.aclose()


@pytest.fixture
def agent_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """A clean agent environment: no model configured, local sandboxes under tmp_path; providers closed after."""
    for name in (
        "MODEL",
        "OPENAI_BASE_URL",
        "OPENAI_API_KEY",
        "PLANNER_MODEL",
        "PROGRAMMER_MODEL",
        "REVIEWER_MODEL",
        "ROUTER_MODEL",
        "SUMMARIZER_MODEL",
        "SANDBOX_BACKEND",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPEN_SWE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("OPEN_SWE_LOCAL_MODE", "true")
    monkeypatch.chdir(tmp_path)  # no project .env is read
    reset_settings_cache()
    yield
    reset_settings_cache()


@pytest.fixture
async def runtime_cleanup() -> AsyncIterator[None]:
    yield
    await close_providers()
