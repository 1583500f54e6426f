"""Many concurrent tasks through the task API: each is submitted over REST and followed on its websocket until it
ends. Shared by the 50-task end-to-end test and bench/service.py."""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from tests.service.taskclient import TERMINAL, TaskClient, read_until
from tests.support.fixture_repo import FIXTURE_TASK, create_fixture_repo


@dataclass
class TaskOutcome:
    task_id: str | None
    status: str
    first_event_ms: float | None
    """POST /tasks -> the first event of the graph run on the websocket (`run_executing`: a worker started the
    graph)."""
    first_task_event_ms: float | None
    """POST /tasks -> the first event the graph itself wrote (`task_started`, after the router's model call)."""
    diff_fixed: bool
    events: int
    error: str | None = None
    reason: str | None = None
    """The task's own `reason` when it ended otherwise than completed."""


@dataclass
class LoadResult:
    outcomes: list[TaskOutcome]
    wall_seconds: float

    @property
    def completed(self) -> int:
        return sum(o.status == "completed" and o.diff_fixed for o in self.outcomes)

    @property
    def lost(self) -> int:
        """Tasks that did not end in a terminal state with their result, or whose creation failed."""
        return sum(o.task_id is None or o.status not in TERMINAL or o.error is not None for o in self.outcomes)

    @property
    def first_event_ms(self) -> float | None:
        return _median([o.first_event_ms for o in self.outcomes])

    @property
    def p95_first_event_ms(self) -> float | None:
        """95th percentile (nearest rank) of POST -> first graph event on the websocket."""
        present = sorted(o.first_event_ms for o in self.outcomes if o.first_event_ms is not None)
        return round(present[math.ceil(0.95 * len(present)) - 1], 1) if present else None

    @property
    def first_task_event_ms(self) -> float | None:
        return _median([o.first_task_event_ms for o in self.outcomes])

    @property
    def throughput_per_min(self) -> float:
        return round(self.completed / self.wall_seconds * 60, 1)


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 1) if present else None


def make_repos(root: Path, count: int) -> list[Path]:
    return [create_fixture_repo(root / f"repo{i}").path for i in range(count)]


async def run_one(client: TaskClient, repo: Path, timeout: float) -> TaskOutcome:
    started = time.monotonic()
    task_id = None
    try:
        task_id = (await client.create(FIXTURE_TASK, str(repo), auto_approve=True))["id"]
        async with await client.connect(task_id) as ws:
            messages = await read_until(ws, _graph_event, timeout)
            first_event_ms = (time.monotonic() - started) * 1000
            messages += await read_until(ws, lambda m: _graph_event(m) and m["event"] != "run_executing", timeout)
            first_task_event_ms = (time.monotonic() - started) * 1000
            messages += await read_until(
                ws, lambda m: m.get("event") == "run_ended" and m.get("status") in TERMINAL, timeout
            )
        view = await client.get(task_id)
        return TaskOutcome(
            task_id,
            view["status"],
            first_event_ms,
            first_task_event_ms,
            "return a + b" in (view["diff"] or ""),
            len(messages),
            reason=view.get("reason"),
        )
    except Exception as exc:  # reported per task, counted as lost
        return TaskOutcome(task_id, "error", None, None, False, 0, f"{type(exc).__name__}: {exc}")


def _graph_event(message: dict) -> bool:
    return message.get("type") == "event" and message.get("source") == "graph"


async def run_load(base_url: str, api_key: str, repos: list[Path], *, timeout: float = 600) -> LoadResult:
    client = TaskClient(base_url, api_key)
    started = time.monotonic()
    try:
        outcomes = await asyncio.gather(*(run_one(client, repo, timeout) for repo in repos))
    finally:
        await client.aclose()
    return LoadResult(list(outcomes), time.monotonic() - started)
