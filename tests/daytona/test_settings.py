"""Daytona settings from the environment; bad values are one-line errors naming the variable."""

from __future__ import annotations

import os

import pytest

from sandbox.daytona_settings import DEFAULT_SNAPSHOT, ReleaseAction, load_settings
from sandbox.registry import create_provider


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("DAYTONA_") or n == "REDIS_URL"]:
        monkeypatch.delenv(name)


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir("/")  # no .env
    settings = load_settings()
    assert settings.snapshot == DEFAULT_SNAPSHOT == "open-swe-vcpu2-mem4-disk5"
    assert (settings.os_user, settings.auto_stop_minutes, settings.auto_delete_minutes) == ("daytona", 15, 0)
    assert settings.release_action is ReleaseAction.STOP and settings.pool_size == 0


def test_every_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir("/")
    values = {
        "DAYTONA_API_KEY": "dtn-key-123456",
        "DAYTONA_API_URL": "http://daytona.local:3000/api",
        "DAYTONA_TARGET": "eu",
        "DAYTONA_SNAPSHOT": "snap",
        "DAYTONA_OS_USER": "dev",
        "DAYTONA_WORKSPACE_DIR": "/w",
        "DAYTONA_SERVICE_LABEL": "svc",
        "DAYTONA_AUTO_STOP_MINUTES": "30",
        "DAYTONA_AUTO_DELETE_MINUTES": "-1",
        "DAYTONA_NETWORK_BLOCK_ALL": "true",
        "DAYTONA_RELEASE_ACTION": "delete",
        "DAYTONA_POOL_SIZE": "3",
        "DAYTONA_CREATE_TIMEOUT": "90",
        "DAYTONA_START_TIMEOUT": "45",
        "DAYTONA_REQUEST_TIMEOUT": "10",
        "DAYTONA_RETRY_DEADLINE": "20",
        "DAYTONA_RETRY_BASE_DELAY": "0.2",
        "DAYTONA_RETRY_MAX_DELAY": "4",
        "REDIS_URL": "redis://localhost:6379/0",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    s = load_settings()
    assert s.api_key is not None and s.api_key.get_secret_value() == "dtn-key-123456"
    assert (s.api_url, s.target, s.snapshot, s.os_user, s.workspace_dir, s.service_label) == (
        "http://daytona.local:3000/api",
        "eu",
        "snap",
        "dev",
        "/w",
        "svc",
    )
    assert (s.auto_stop_minutes, s.auto_delete_minutes, s.network_block_all) == (30, -1, True)
    assert (s.release_action, s.pool_size, s.redis_url) == (ReleaseAction.DELETE, 3, "redis://localhost:6379/0")
    assert (s.create_timeout, s.start_timeout, s.request_timeout) == (90, 45, 10)
    assert (s.retry_deadline, s.retry_base_delay, s.retry_max_delay) == (20, 0.2, 4)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DAYTONA_RELEASE_ACTION", "explode"),
        ("DAYTONA_POOL_SIZE", "-1"),
        ("DAYTONA_AUTO_STOP_MINUTES", "soon"),
        ("DAYTONA_SNAPSHOT", ""),
        ("DAYTONA_RETRY_DEADLINE", "0"),
    ],
)
def test_bad_values_are_one_line_errors(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.chdir("/")
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=f"invalid Daytona settings: {name}") as caught:
        load_settings()
    assert "\n" not in str(caught.value)


async def test_registry_builds_the_daytona_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir("/")
    monkeypatch.setenv("DAYTONA_API_KEY", "dtn-key-123456")
    monkeypatch.delenv("REDIS_URL", raising=False)
    provider = create_provider("daytona")
    try:
        assert provider.name == "daytona"
    finally:
        await provider.aclose()
