"""The service's own secrets stay out of a local sandbox: its checkout is never the default project, its `.env`
values are redacted like its environment's, its `.env` is masked when a workspace would show it."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.serve import default_project
from sandbox.local import LocalProvider
from sandbox.secrets import REDACTED, SERVICE_ROOT, redact
from sandbox.settings import Isolation, SandboxSettings

TOKEN = "tok-from-dotenv-0123456789"


@pytest.fixture
def outside_tmp() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(dir="/var/tmp") as tmp:
        yield Path(tmp)


def test_the_default_project_is_never_the_services_checkout(outside_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = SandboxSettings(state_dir=outside_tmp / "state")
    for inside in (SERVICE_ROOT, SERVICE_ROOT / "sandbox"):
        monkeypatch.chdir(inside)
        chosen = default_project(settings)
        assert chosen == outside_tmp / "state" / "workspace" and chosen.is_dir()
    monkeypatch.chdir(outside_tmp)
    assert default_project(settings) == outside_tmp.resolve()


@pytest.mark.parametrize("isolation", ["bwrap", "none"])
async def test_dotenv_values_are_redacted_and_the_dotenv_is_masked(
    outside_tmp: Path, monkeypatch: pytest.MonkeyPatch, isolation: str
) -> None:
    service = outside_tmp / "service"  # the service runs here and works on this very directory
    service.mkdir()
    (service / ".env").write_text(f"MY_SERVICE_TOKEN={TOKEN}\nMODEL=gpt\n")
    (service / "notes.txt").write_text(f"copied {TOKEN} here\n")
    monkeypatch.chdir(service)
    monkeypatch.delenv("MY_SERVICE_TOKEN", raising=False)
    provider = LocalProvider(SandboxSettings(isolation=Isolation(isolation), state_dir=outside_tmp / "state"))
    try:
        sandbox = (await provider.acquire("t1", project_path=str(service))).sandbox
        shown = await sandbox.exec("cat notes.txt; cat .env")
        assert redact(shown.output).count(REDACTED) >= 1 and TOKEN not in redact(shown.output)
        if isolation == "bwrap":
            assert "MY_SERVICE_TOKEN" not in shown.output, "the service's .env is masked inside the sandbox"
    finally:
        await provider.aclose()
