"""/readyz's sandbox check reads the Daytona settings as the backend does: the environment and .env."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.http.readiness import sandbox_check
from sandbox.settings import SandboxSettings
from tests.support.net import free_port

DAYTONA_VARIABLES = ("DAYTONA_API_KEY", "DAYTONA_API_URL", "SANDBOX_BACKEND", "OPEN_SWE_LOCAL_MODE")


async def test_daytona_settings_in_dotenv_count(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in DAYTONA_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    closed = f"http://127.0.0.1:{free_port()}/api"
    (tmp_path / ".env").write_text(f"DAYTONA_API_KEY=dtn-in-dotenv-0123\nDAYTONA_API_URL={closed}\n")
    check = await sandbox_check(SandboxSettings(SANDBOX_BACKEND="daytona"))
    assert not check.ok and check.detail == f"daytona API at {closed} is unreachable (ConnectError)"


async def test_a_missing_daytona_key_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in DAYTONA_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    check = await sandbox_check(SandboxSettings(SANDBOX_BACKEND="daytona"))
    assert not check.ok and "DAYTONA_API_KEY is not set" in check.detail


async def test_a_probe_reads_no_settings(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """/readyz's settings are read once at startup (ReadinessProbe.read); a probe only checks what can change."""
    from agent.http import readiness
    from coordination.store import MemoryStore

    monkeypatch.chdir(tmp_path)
    for name in DAYTONA_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SANDBOX_BACKEND", "daytona")
    monkeypatch.setenv("DAYTONA_API_KEY", "dtn-read-once-0123")
    closed = f"http://127.0.0.1:{free_port()}/api"
    monkeypatch.setenv("DAYTONA_API_URL", closed)
    probe = readiness.ReadinessProbe.read(MemoryStore(), redis_configured=False)

    def no_parsing(*args: object, **kwargs: object) -> None:
        raise AssertionError("a probe re-read the settings")

    for name in ("SandboxSettings", "DaytonaSettings", "model_check"):
        monkeypatch.setattr(readiness, name, no_parsing)
    checks = await probe.run()
    assert set(checks) == {"model", "sandbox", "redis"}
    assert checks["sandbox"].detail == f"daytona API at {closed} is unreachable (ConnectError)"
    assert checks["redis"].ok and checks["model"] is probe.model


def broken_bwrap(directory: Path) -> Path:
    """A bubblewrap that is installed but cannot build a sandbox, as in a container without user namespaces."""
    script = directory / "bwrap"
    message = "bwrap: Cannot mount proc on /newroot/proc: Operation not permitted"
    script.write_text(f"#!/bin/sh\necho '{message}' >&2\nexit 1\n")
    script.chmod(0o755)
    return script


async def test_bubblewrap_that_cannot_build_a_sandbox_is_not_reported_as_isolation(tmp_path: Path) -> None:
    """/readyz used to say `isolation: bwrap` when bwrap was merely on PATH; it now starts it once."""
    bwrap = str(broken_bwrap(tmp_path))
    auto = await sandbox_check(SandboxSettings(SANDBOX_BACKEND="local", SANDBOX_BWRAP_PATH=bwrap))
    assert auto.ok and "isolation: none" in auto.detail and "Cannot mount proc" in auto.detail
    required = await sandbox_check(
        SandboxSettings(SANDBOX_BACKEND="local", SANDBOX_BWRAP_PATH=bwrap, SANDBOX_ISOLATION="bwrap")
    )
    assert not required.ok and "SANDBOX_ISOLATION=bwrap but bubblewrap cannot create a sandbox" in required.detail


async def test_working_bubblewrap_is_reported_and_a_missing_one_named(tmp_path: Path) -> None:
    working = await sandbox_check(SandboxSettings(SANDBOX_BACKEND="local", SANDBOX_ISOLATION="bwrap"))
    assert working.ok and working.detail == "local sandbox (isolation: bwrap)"
    missing = str(tmp_path / "no-such-bwrap")
    required = await sandbox_check(
        SandboxSettings(SANDBOX_BACKEND="local", SANDBOX_BWRAP_PATH=missing, SANDBOX_ISOLATION="bwrap")
    )
    assert not required.ok and "not installed" in required.detail
    plain = await sandbox_check(SandboxSettings(SANDBOX_BACKEND="local", SANDBOX_ISOLATION="none"))
    assert plain.ok and "isolation: none" in plain.detail
