"""Many concurrent tasks through the task API: each is submitted over REST and followed on its websocket until it
ends. Shared by the 50-task end-to-end test and bench/service.py."""

from __future__ import annotations

import asyncio
import itertools
import math
import statistics
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

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
    retries: int = 0
    """Requests of this task the service asked to retry (503 with Retry-After, 409 in progress), sent again."""


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
    def retries(self) -> int:
        return sum(o.retries for o in self.outcomes)

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


RETRIES = 10
"""How often a request is sent again when the service says "retry shortly", as a well-behaved client does: a 503 with
Retry-After (a dependency briefly unavailable) after that many seconds, a 409 for an Idempotency-Key still being
processed (the claim of an earlier attempt, kept up to a minute) after a second. Creation carries an Idempotency-Key,
so a retry never makes a second task."""


@dataclass
class _Retries:
    retries: int = 0


def _retry_after(response: httpx.Response) -> float | None:
    if response.status_code == 503 and "Retry-After" in response.headers:
        return float(response.headers["Retry-After"])
    if response.status_code == 409 and "still being processed" in response.text:
        return 1.0
    return None


async def _send(client: TaskClient, counted: _Retries, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
    for attempt in itertools.count():
        response = await client.http.request(method, url, **kwargs)
        delay = _retry_after(response)
        if delay is None or attempt == RETRIES:
            break
        counted.retries += 1
        await asyncio.sleep(delay)
    assert response.status_code in (200, 201), response.text
    return response.json()


async def run_one(client: TaskClient, repo: Path, timeout: float) -> TaskOutcome:
    started = time.monotonic()
    task_id = None
    counted = _Retries()
    try:
        body = {"task": FIXTURE_TASK, "repo": str(repo), "auto_approve": True}
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        task_id = (await _send(client, counted, "POST", "/tasks", json=body, headers=headers))["id"]
        async with await client.connect(task_id) as ws:
            messages = await read_until(ws, _graph_event, timeout)
            first_event_ms = (time.monotonic() - started) * 1000
            messages += await read_until(ws, lambda m: _graph_event(m) and m["event"] != "run_executing", timeout)
            first_task_event_ms = (time.monotonic() - started) * 1000
            messages += await read_until(
                ws, lambda m: m.get("event") == "run_ended" and m.get("status") in TERMINAL, timeout
            )
        view = await _send(client, counted, "GET", f"/tasks/{task_id}")
        return TaskOutcome(
            task_id,
            view["status"],
            first_event_ms,
            first_task_event_ms,
            "return a + b" in (view["diff"] or ""),
            len(messages),
            reason=view.get("reason"),
            retries=counted.retries,
        )
    except Exception as exc:  # reported per task, counted as lost
        error = f"{type(exc).__name__}: {exc}"
        return TaskOutcome(task_id, "error", None, None, False, 0, error, retries=counted.retries)


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
