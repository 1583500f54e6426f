"""Per-backend sandbox metrics (sandbox/backend_metrics.py): live sandboxes, create and exec latency, failures by
kind, on the local backend and on the Daytona backend (real SDK against the test server)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from sandbox.base import SandboxBusy, SandboxGone
from sandbox.local import LocalProvider
from sandbox.registry import create_provider
from sandbox.settings import Isolation, SandboxSettings
from tests.daytona_server.fixtures import provider_for
from tests.daytona_server.server import DaytonaTestServer, running_server


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def all_errors(backend: str) -> float:
    kinds = ("gone", "backend", "busy", "isolation", "other")
    return sum(sample("sandbox_errors_total", backend=backend, kind=kind) for kind in kinds)


@pytest.fixture
def daytona_server(tmp_path: Path) -> Iterator[DaytonaTestServer]:
    with running_server(tmp_path / "daytona-server") as server:
        yield server


async def test_local_backend_metrics(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    settings = SandboxSettings(isolation=Isolation.NONE, state_dir=tmp_path / "state", project_path=project)
    provider = create_provider("local", settings)
    assert isinstance(provider, LocalProvider)  # metered, still itself
    live, creates = sample("sandbox_live", backend="local"), sample("sandbox_create_seconds_count", backend="local")
    execs, busy = (
        sample("sandbox_exec_seconds_count", backend="local"),
        sample("sandbox_errors_total", backend="local", kind="busy"),
    )

    lease = await provider.acquire("metrics-1")
    assert sample("sandbox_live", backend="local") == live + 1
    assert sample("sandbox_create_seconds_count", backend="local") == creates + 1
    await lease.sandbox.exec("true")
    await lease.sandbox.exec("false")  # a failing command is not a backend failure
    assert sample("sandbox_exec_seconds_count", backend="local") == execs + 2
    with pytest.raises(SandboxBusy):
        await provider.acquire("metrics-2")  # in place: one thread per project at a time
    assert sample("sandbox_errors_total", backend="local", kind="busy") == busy + 1
    counted = all_errors("local")
    with pytest.raises(Exception, match="outside"):
        await lease.sandbox.read("../../etc/passwd")  # the caller's mistake: not a backend failure
    assert all_errors("local") == counted
    await provider.release(lease.sandbox.id)
    assert sample("sandbox_live", backend="local") == live
    await provider.aclose()


async def test_daytona_backend_metrics(daytona_server: DaytonaTestServer) -> None:
    provider = provider_for(daytona_server)
    live, gone = (
        sample("sandbox_live", backend="daytona"),
        sample("sandbox_errors_total", backend="daytona", kind="gone"),
    )
    lease = await provider.acquire("metrics-d")
    assert sample("sandbox_live", backend="daytona") == live + 1
    assert (await lease.sandbox.exec("echo hi")).output == "hi\n"
    assert sample("sandbox_exec_seconds_count", backend="daytona") >= 1
    daytona_server.vanish(lease.sandbox.id)
    with pytest.raises(SandboxGone):
        await lease.sandbox.exec("true")
    assert sample("sandbox_errors_total", backend="daytona", kind="gone") == gone + 1
    await provider.aclose()  # closing forgets what it held
    assert sample("sandbox_live", backend="daytona") == live
