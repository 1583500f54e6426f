"""/readyz's sandbox check reads the Daytona settings as the backend does: the environment and .env."""

from __future__ import annotations

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
