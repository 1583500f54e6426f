"""Every fault the issue names, injected by the test server, against the real SDK."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from prometheus_client import REGISTRY

from sandbox.base import BackendError
from sandbox.daytona import DaytonaProvider
from tests.daytona_server.server import DaytonaTestServer

MakeProvider = Callable[..., DaytonaProvider]


def api_errors(kind: str) -> float:
    return REGISTRY.get_sample_value("daytona_api_errors_total", {"kind": kind}) or 0.0


async def test_429_waits_for_retry_after(provider: DaytonaProvider, daytona_server: DaytonaTestServer) -> None:
    before = api_errors("rate_limited")
    daytona_server.faults.status("create", 429, retry_after="0.3")
    started = time.monotonic()
    lease = await provider.acquire("t")
    assert lease.fresh and time.monotonic() - started >= 0.3
    assert daytona_server.state.counts["create"] == 2
    assert api_errors("rate_limited") == before + 1


async def test_429_with_an_http_date_is_honoured(provider: DaytonaProvider, daytona_server: DaytonaTestServer) -> None:
    lease = await provider.acquire("t")
    daytona_server.faults.status("execute", 429, retry_after="Thu, 01 Jan 1970 00:00:00 GMT")  # already past: 0 s
    assert (await lease.sandbox.exec("echo ok")).output == "ok\n"
    assert daytona_server.state.counts["execute"] == 2


async def test_429_asking_for_more_than_the_deadline_fails_at_once(
    make_provider: MakeProvider, daytona_server: DaytonaTestServer
) -> None:
    provider = make_provider(retry_deadline=5)
    daytona_server.faults.status("create", 429, retry_after="120")
    started = time.monotonic()
    with pytest.raises(BackendError, match=r"rate_limited.*120s") as caught:
        await provider.acquire("t")
    assert time.monotonic() - started < 5 and "\n" not in str(caught.value)


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_are_retried(
    provider: DaytonaProvider, daytona_server: DaytonaTestServer, status: int
) -> None:
    lease = await provider.acquire("t")
    await lease.sandbox.write("f.txt", "data")
    daytona_server.faults.status("execute", status, times=2)
    assert (await lease.sandbox.read("f.txt")).text == "data"
    daytona_server.faults.status("get", status, times=2)
    again = await provider.acquire("t", sandbox_id=lease.sandbox.id)
    assert again.sandbox.id == lease.sandbox.id


async def test_persistent_server_errors_end_at_the_deadline_with_one_line(
    make_provider: MakeProvider, daytona_server: DaytonaTestServer
) -> None:
    provider = make_provider(retry_deadline=1.0)
    daytona_server.faults.status("list", 503, times=10_000)
    with pytest.raises(BackendError, match=r"Daytona lookup failed after \d+ attempt\(s\), server_error") as caught:
        await provider.acquire("t")
    assert "\n" not in str(caught.value) and daytona_server.state.counts["list"] >= 2


async def test_a_command_is_never_run_twice(provider: DaytonaProvider, daytona_server: DaytonaTestServer) -> None:
    """A 500 or a dropped connection during exec may mean the command ran: it is reported, not retried.
    A 503 (refused before running) is retried."""
    lease = await provider.acquire("t")
    daytona_server.state.reset_counts()
    daytona_server.faults.status("execute", 500)
    with pytest.raises(BackendError, match="exec failed"):
        await lease.sandbox.exec("echo once >> runs.txt")
    daytona_server.faults.drop_after("execute")
    with pytest.raises(BackendError, match="exec failed"):
        await lease.sandbox.exec("echo once >> runs.txt")
    assert daytona_server.state.counts["execute"] == 2
    daytona_server.faults.status("execute", 503)
    assert (await lease.sandbox.exec("echo once >> runs.txt")).ok
    assert (await lease.sandbox.read("runs.txt")).text == "once\nonce\n"


async def test_dropped_connections_are_retried(provider: DaytonaProvider, daytona_server: DaytonaTestServer) -> None:
    daytona_server.faults.drop("create")
    lease = await provider.acquire("t")
    daytona_server.faults.drop("execute", times=2)
    await lease.sandbox.write("f.txt", "x")
    daytona_server.faults.drop("execute")
    assert (await lease.sandbox.read("f.txt")).text == "x"


async def test_a_create_whose_answer_was_lost_is_adopted_not_duplicated(
    provider: DaytonaProvider, daytona_server: DaytonaTestServer
) -> None:
    daytona_server.faults.drop_after("create")
    lease = await provider.acquire("t")
    assert daytona_server.state.counts["create"] == 1, "the retry found the sandbox the first attempt made"
    assert list(daytona_server.state.sandboxes) == [lease.sandbox.id]


async def test_slow_create_still_succeeds(provider: DaytonaProvider, daytona_server: DaytonaTestServer) -> None:
    daytona_server.faults.create_delay = 0.7
    started = time.monotonic()
    lease = await provider.acquire("t")
    assert lease.fresh and time.monotonic() - started >= 0.7
    assert (await lease.sandbox.exec("echo up")).output == "up\n"


async def test_create_that_never_starts_deletes_the_half_made_sandbox(
    make_provider: MakeProvider, daytona_server: DaytonaTestServer
) -> None:
    provider = make_provider(create_timeout=1.5, retry_deadline=0.5)
    daytona_server.faults.stuck_starting = True
    with pytest.raises(BackendError, match=r"create failed.*timeout") as caught:
        await provider.acquire("t")
    assert "\n" not in str(caught.value)
    assert daytona_server.state.sandboxes == {}, "the sandbox that never started was deleted"
    assert daytona_server.state.counts["delete"] == 1


async def test_errors_never_carry_the_api_key(make_provider: MakeProvider, daytona_server: DaytonaTestServer) -> None:
    """A proxy that echoes the request's Authorization header: the key (from settings, not the environment)
    is redacted from the error that reaches the agent."""
    from tests.daytona_server.server import API_KEY

    provider = make_provider(retry_deadline=0.2)
    daytona_server.faults.status("list", 400, message="bad request with {authorization}")
    with pytest.raises(BackendError) as caught:
        await provider.acquire("t")
    assert "bad request with Bearer [REDACTED]" in str(caught.value) and API_KEY not in str(caught.value)
