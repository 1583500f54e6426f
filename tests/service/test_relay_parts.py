"""The run relay over a runtime whose stream parts have stable ids (Aegra's): a stream that breaks is rejoined after
the last part logged and nothing is written twice; an error after the graph's own end is logged as the run's error,
not as a second end of the task; a lease adopted while its run is still relayed here adds nothing.

The runtime is a stand-in with the SDK's shape (`runs.join_stream` yielding `StreamPart`s with ids, honouring
`last_event_id` as Aegra does); the event log is the real file log."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from langgraph_sdk.schema import StreamPart

from agent.http.eventlog import FileEventLog
from agent.http.leases import Lease, LocalLeases
from agent.http.relay import RunRelay
from agent.http.service_metrics import TaskStates


class Runs:
    def __init__(self, run_id: str, parts: list[tuple[str, dict[str, Any]]], *, break_after: int | None) -> None:
        self.parts = [StreamPart(event, data, f"{run_id}_event_{n}") for n, (event, data) in enumerate(parts, 1)]
        self.break_after = break_after
        self.joined_after: list[str] = []

    async def join_stream(self, thread_id: str, run_id: str, *, last_event_id: str) -> AsyncIterator[StreamPart]:
        self.joined_after.append(last_event_id)
        start = 0 if last_event_id == "0" else int(last_event_id.rsplit("_", 1)[1])
        for index, part in enumerate(self.parts[start:], start + 1):
            yield part
            if self.break_after == index:
                self.break_after = None
                raise httpx.ReadError("connection reset")

    async def get(self, thread_id: str, run_id: str) -> dict[str, Any]:
        return {"run_id": run_id, "status": "error"}


class Threads:
    async def get(self, thread_id: str) -> dict[str, Any]:
        return {"thread_id": thread_id, "status": "error", "values": {"status": "completed", "summary": "fixed"}}


class Client:
    def __init__(self, runs: Runs) -> None:
        self.runs = runs
        self.threads = Threads()


PARTS = [
    ("metadata", {"run_id": "r"}),
    ("custom", {"event": "task_started"}),
    ("custom", {"event": "tool_call", "tool": "bash"}),
    ("custom", {"event": "finished", "status": "completed", "summary": "fixed"}),
    ("error", {"error": "OperationalError", "message": "postgres is unavailable"}),
]


async def _relayed(tmp_path: Path, *, break_after: int | None) -> tuple[list[dict[str, Any]], Runs]:
    task_id, run_id = str(uuid.uuid4()), str(uuid.uuid4())
    log = FileEventLog(tmp_path)
    await log.open()
    runs = Runs(run_id, PARTS, break_after=break_after)
    relay = RunRelay(Client(runs), log, TaskStates(), exact_parts=True)
    assert await relay.follow(task_id, run_id, "alice")
    await asyncio.gather(*list(relay._tasks))  # the run's relay, to its end
    await relay.aclose()
    return await log.since(task_id), runs


async def test_a_broken_stream_resumes_after_the_last_part_logged(tmp_path: Path) -> None:
    events, runs = await _relayed(tmp_path, break_after=3)
    run_id = events[0]["run_id"]
    assert runs.joined_after == ["0", f"{run_id}_event_3"]
    kinds = [e["event"] for e in events]
    assert kinds == ["run_executing", "task_started", "tool_call", "finished", "run_error", "run_ended"]
    assert [e["id"] for e in events] == list(range(1, 7))


async def test_an_error_after_the_graphs_end_is_the_runs_error_not_a_second_end(tmp_path: Path) -> None:
    events, _ = await _relayed(tmp_path, break_after=None)
    error = next(e for e in events if e["event"] == "run_error")
    assert error["reason"] == "postgres is unavailable" and "status" not in error
    assert [e["event"] for e in events].count("failed") == 0
    ended = events[-1]
    assert ended["event"] == "run_ended" and ended["status"] == "completed"


async def test_a_lease_adopted_while_still_relayed_here_adds_nothing(tmp_path: Path) -> None:
    task_id, run_id = str(uuid.uuid4()), str(uuid.uuid4())

    class Lapsed(LocalLeases):
        async def adopt(self, limit: int = 100) -> list[Lease]:
            return [Lease(task_id, run_id, "alice")]

    log = FileEventLog(tmp_path)
    await log.open()
    runs = Runs(run_id, PARTS[:2], break_after=None)
    relay = RunRelay(Client(runs), log, TaskStates(), leases=Lapsed(), exact_parts=True, lease_seconds=3)
    relay._following.add(run_id)  # the run is being relayed here
    relay.keep_leases()
    await asyncio.sleep(0.3)  # the keeper's first round: renew, adopt
    await relay.aclose()
    assert not relay._tasks  # no second relay of the run was started
    assert await log.since(task_id) == []
