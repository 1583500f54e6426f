"""One toolbox request per operation, the Prometheus metrics, and no service secret inside a sandbox."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from prometheus_client import REGISTRY

from sandbox.daytona import DaytonaProvider
from sandbox.daytona_scripts import INLINE_UPLOAD_LIMIT
from tests.daytona_server.server import API_KEY, DaytonaTestServer


def sample(name: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


async def test_each_operation_is_exactly_one_toolbox_request(
    provider: DaytonaProvider, daytona_server: DaytonaTestServer
) -> None:
    sandbox = (await provider.acquire("t")).sandbox
    await sandbox.write("seed.txt", "alpha\n")
    operations = {
        "exec": lambda: sandbox.exec("echo hi"),
        "read": lambda: sandbox.read("seed.txt"),
        "write": lambda: sandbox.write("dir/new.txt", "x" * 10_000),
        "list": lambda: sandbox.list(".", depth=2),
        "stat": lambda: sandbox.stat("seed.txt"),
        "search": lambda: sandbox.search("alpha"),
        "upload": lambda: sandbox.upload({"u/a.txt": b"a", "u/b.txt": b"b", "c.bin": bytes(range(256))}),
        "download": lambda: sandbox.download("seed.txt"),
    }
    for name, operation in operations.items():
        daytona_server.state.reset_counts()
        await operation()
        assert daytona_server.state.toolbox_requests() == 1, name
        assert sum(daytona_server.state.counts.values()) == 1, f"{name}: no control-plane request either"


async def test_large_writes_take_two_requests(provider: DaytonaProvider, daytona_server: DaytonaTestServer) -> None:
    sandbox = (await provider.acquire("t")).sandbox
    big = bytes(range(256)) * (INLINE_UPLOAD_LIMIT // 256 + 10)
    daytona_server.state.reset_counts()
    info = await sandbox.write("big.bin", big)
    assert info.size == len(big) and await sandbox.download("big.bin") == big
    assert daytona_server.state.counts["upload"] == 1 and daytona_server.state.counts["execute"] == 2  # + download
    assert (await sandbox.exec("ls /tmp | grep -c open-swe-stage || true")).output.strip() == "0"


async def test_metrics(provider: DaytonaProvider, daytona_server: DaytonaTestServer) -> None:
    environments = sample("daytona_environment_count")
    execs = sample("daytona_execution_time_count", {"operation": "exec"})
    server_errors = sample("daytona_api_errors_total", {"kind": "server_error"})
    lease = await provider.acquire("t")
    assert sample("daytona_environment_count") == environments + 1
    await lease.sandbox.exec("true")
    assert sample("daytona_execution_time_count", {"operation": "exec"}) == execs + 1
    daytona_server.faults.status("execute", 503)
    await lease.sandbox.exec("true")
    assert sample("daytona_api_errors_total", {"kind": "server_error"}) == server_errors + 1
    await provider.release(lease.sandbox.id)
    assert sample("daytona_environment_count") == environments


async def test_pool_metrics(make_provider: Callable[..., DaytonaProvider], daytona_server: DaytonaTestServer) -> None:
    provider = make_provider(pool_size=2)
    claims = sample("daytona_pool_claim_seconds_count")
    await provider.warm_up()
    assert sample("daytona_pool_size") == 2
    await provider.acquire("t")
    assert sample("daytona_pool_claim_seconds_count") == claims + 1
    assert provider.pool is not None
    await provider.pool.wait_idle()
    assert sample("daytona_pool_size") == 2


SERVICE_SECRETS = {
    "DAYTONA_API_KEY": API_KEY,
    "OPENAI_API_KEY": "sk-service-secret-0123456789",
    "GITHUB_TOKEN": "ghp_service_secret_0123456789",
    "REDIS_URL": "redis://:hunter2-password@127.0.0.1:1/0",
}


async def test_no_service_secret_enters_the_sandbox(
    provider: DaytonaProvider, daytona_server: DaytonaTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SERVICE_SECRETS.items():
        monkeypatch.setenv(name, value)
    lease = await provider.acquire("t")
    record = daytona_server.sandbox(lease.sandbox.id)
    assert record is not None and record.env == {}, "nothing of the service goes into the sandbox's environment"
    seen = (await lease.sandbox.exec("env; cat /proc/self/environ | tr '\\0' '\\n'")).output
    for value in SERVICE_SECRETS.values():
        assert value not in seen
    assert "hunter2" not in seen
