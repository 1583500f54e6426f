"""Sandboxes outlive human waits: a waiting task's Daytona sandbox is kept from auto-stopping by activity
heartbeats, up to DAYTONA_KEEPALIVE_MINUTES, against the test server with its minutes shrunk to 0.1 s."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.daytona_keepalive import KEEPALIVE_HELD, KeepAlive
from sandbox.daytona_settings import DaytonaSettings
from tests.daytona_server.fixtures import provider_for
from tests.daytona_server.server import DaytonaTestServer, running_server

MINUTE = 0.1
"""One Daytona minute on this test server, in seconds: auto-stop after 5 minutes is half a second."""


@pytest.fixture
def fast_server(tmp_path: Path) -> Iterator[DaytonaTestServer]:
    with running_server(tmp_path / "daytona-fast", minute_seconds=MINUTE) as server:
        yield server


async def test_a_held_sandbox_stays_started_past_auto_stop_until_the_limit(fast_server: DaytonaTestServer) -> None:
    provider = provider_for(fast_server, auto_stop_minutes=5, auto_delete_minutes=0)
    waiting = (await provider.acquire("waits")).sandbox
    idle = (await provider.acquire("idle")).sandbox
    keepalive = KeepAlive(provider.touch, interval=MINUTE, limit=20 * MINUTE)
    before = KEEPALIVE_HELD._value.get()
    keepalive.hold("task-1", waiting.id)
    keepalive.hold("task-1", waiting.id)  # holding twice keeps one heartbeat
    assert KEEPALIVE_HELD._value.get() == before + 1

    await asyncio.sleep(12 * MINUTE)  # well past the 5-minute auto-stop
    assert fast_server.sandbox(idle.id) is None  # nobody touched it: stopped, then deleted (auto-delete 0)
    record = fast_server.sandbox(waiting.id)
    assert record is not None and record.state == "started"
    assert (await waiting.exec("echo still here")).output == "still here\n"

    await asyncio.sleep(20 * MINUTE)  # past the keep-alive limit: left to auto-stop
    assert not keepalive.holding("task-1") and fast_server.sandbox(waiting.id) is None
    assert KEEPALIVE_HELD._value.get() == before
    await keepalive.aclose()
    await provider.aclose()


async def test_dropping_the_hold_when_the_task_resumes_stops_the_heartbeat(fast_server: DaytonaTestServer) -> None:
    provider = provider_for(fast_server, auto_stop_minutes=5, auto_delete_minutes=-1)
    sandbox = (await provider.acquire("resumed")).sandbox
    await provider.mark_filled(sandbox.id)  # the task cloned its repository into it
    keepalive = KeepAlive(provider.touch, interval=MINUTE, limit=100 * MINUTE)
    keepalive.hold("task-2", sandbox.id)
    await asyncio.sleep(3 * MINUTE)
    keepalive.drop("task-2")
    assert not keepalive.holding("task-2")
    await asyncio.sleep(10 * MINUTE)
    record = fast_server.sandbox(sandbox.id)
    assert record is not None and record.state == "stopped"  # auto-delete -1: kept, stopped
    lease = await provider.acquire("resumed", sandbox_id=sandbox.id)  # the resume: started again, files kept
    assert not lease.fresh and fast_server.sandbox(sandbox.id).state == "started"  # type: ignore[union-attr]
    await keepalive.aclose()
    await provider.aclose()


async def test_a_gone_sandbox_ends_its_heartbeat(fast_server: DaytonaTestServer) -> None:
    provider = provider_for(fast_server)
    sandbox = (await provider.acquire("vanishes")).sandbox
    fast_server.vanish(sandbox.id)
    await provider.release(sandbox.id, delete=True)
    keepalive = KeepAlive(provider.touch, interval=MINUTE, limit=100 * MINUTE)
    keepalive.hold("task-3", sandbox.id)
    await asyncio.sleep(3 * MINUTE)
    assert not keepalive.holding("task-3")
    await keepalive.aclose()
    await provider.aclose()


def test_the_heartbeat_is_a_third_of_the_auto_stop_unless_set() -> None:
    assert DaytonaSettings(auto_stop_minutes=15).heartbeat_seconds == 300
    assert DaytonaSettings(auto_stop_minutes=15, keepalive_interval=42).heartbeat_seconds == 42
    assert DaytonaSettings(auto_stop_minutes=0).heartbeat_seconds == 300
    assert DaytonaSettings().keepalive_minutes == 24 * 60
