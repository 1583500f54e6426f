"""Relays each run of a task from the LangGraph runtime into the task's event log.

One background consumer per run joins the run's resumable stream (custom events from the graphs and
subgraphs, plus root state updates), appends every event to the log, and when the run ends records the
task's resulting status. Runs of one task are relayed in order.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from typing import Any

import httpx

from agent.contract import FAILED_STATUSES, TERMINAL_STATUSES, EventType
from agent.http.eventlog import EventLog
from agent.http.service_metrics import TASK_DURATION, TASK_EVENTS, TOOL_CALLS, TaskStates, record_usage
from agent.http.view import task_view
from sandbox.daytona_keepalive import WaitingSandboxes

logger = logging.getLogger("open_swe.service.relay")

STREAM_MODES = ["custom", "updates"]
"""What task runs stream: the graphs' task events and root state updates (for status changes)."""
_END_EVENTS = {EventType.FINISHED.value, EventType.FAILED.value}
_RETRIES = 5
_RESERVED = frozenset({"event", "id", "ts", "source", "run_id"})


class RunRelay:
    def __init__(self, client: Any, log: EventLog, states: TaskStates) -> None:
        self._client = client
        self._log = log
        self._states = states
        self._order: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._tasks: set[asyncio.Task[None]] = set()
        self._following: set[str] = set()
        self._waiting = WaitingSandboxes(_touch_daytona)
        """Daytona sandboxes of tasks waiting for a human, kept from auto-stopping (DAYTONA_KEEPALIVE_MINUTES)."""

    def follow(self, task_id: str, run_id: str) -> None:
        if run_id in self._following:
            return
        self._following.add(run_id)
        self._waiting.resumed(task_id)
        job = asyncio.create_task(self._relay(task_id, run_id), name=f"relay-{run_id}")
        self._tasks.add(job)
        job.add_done_callback(self._tasks.discard)

    async def settled(self, task_id: str, status: str, values: dict[str, Any]) -> None:
        """A task found at rest (after a restart): keep its Daytona sandbox alive if it waits for a human."""
        await self._waiting.settled(task_id, status, values)

    async def aclose(self) -> None:
        for job in list(self._tasks):
            job.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._waiting.aclose()

    async def _relay(self, task_id: str, run_id: str) -> None:
        try:
            async with self._order[task_id]:
                ended = await self._stream(task_id, run_id)
                await self._finish(task_id, run_id, ended)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("relaying run failed", extra={"task_id": task_id, "run_id": run_id})
        finally:
            self._following.discard(run_id)

    async def _stream(self, task_id: str, run_id: str) -> bool:
        """Append the run's events; True when the graph itself emitted finished/failed.

        The stream is joined without a `stream_mode` filter (the in-memory runtime drops `custom` parts when one is
        given) and replayed from the start (`last_event_id="0"`, the run was created resumable). Part ids are not
        unique, so after a broken connection the replay is re-read from the start, skipping the parts already seen.
        """
        seen = 0
        ended = False
        current_status = self._states.get(task_id)
        for attempt in range(_RETRIES):
            index = 0
            try:
                async for part in self._client.runs.join_stream(task_id, run_id, last_event_id="0"):
                    index += 1
                    if index <= seen:
                        continue
                    seen = index
                    mode = part.event.split("|", 1)[0]
                    if part.event == "metadata" and isinstance(part.data, dict):
                        # The runtime's first part of a run: a worker started executing the graph.
                        await self._append(
                            task_id, "run_executing", source="graph", run_id=run_id, attempt=part.data.get("attempt", 1)
                        )
                    elif mode == "custom" and isinstance(part.data, dict) and "event" in part.data:
                        kind = str(part.data["event"])
                        payload = {k: v for k, v in part.data.items() if k not in _RESERVED}
                        await self._append(task_id, kind, source="graph", run_id=run_id, **payload)
                        ended = ended or kind in _END_EVENTS
                    elif part.event == "updates" and isinstance(part.data, dict):
                        status = _status_in_update(part.data)
                        if status and status != current_status:
                            current_status = status
                            self._states.set(task_id, status)
                            await self._append(task_id, "status", status=status, run_id=run_id)
                    elif part.event == "error":
                        reason = _error_text(part.data)
                        await self._append(
                            task_id, EventType.FAILED.value, status="failed", reason=reason, run_id=run_id
                        )
                        ended = True
                return ended
            except (httpx.HTTPError, RuntimeError) as exc:
                logger.warning(
                    "run stream interrupted, rejoining (%s)",
                    type(exc).__name__,
                    extra={"task_id": task_id, "run_id": run_id},
                )
                await asyncio.sleep(0.2 * (attempt + 1))
        return ended

    async def _append(self, task_id: str, kind: str, **data: Any) -> None:
        TASK_EVENTS.labels(kind).inc()
        if kind == EventType.TOOL_CALL.value:
            TOOL_CALLS.labels(str(data.get("tool", "unknown"))).inc()
        await self._log.append(task_id, kind, **data)

    async def _finish(self, task_id: str, run_id: str, graph_ended: bool) -> None:
        thread = await self._client.threads.get(task_id)
        failure = None
        run = await self._client.runs.get(task_id, run_id)
        if run.get("status") == "error":
            failure = "the run failed (see the server log for the error)"
        view = task_view(thread, failure=failure)
        self._states.set(task_id, view.status)
        await self._waiting.settled(task_id, view.status, thread.get("values") or {})
        await self._append(task_id, "run_ended", run_id=run_id, run_status=run.get("status"), status=view.status)
        if view.status in TERMINAL_STATUSES and view.status != "cancelled":
            if not graph_ended:
                kind = end_event(view.status)
                await self._append(task_id, kind, status=view.status, reason=view.reason, summary=view.summary)
            created = (thread.get("metadata") or {}).get("created_ts")
            if isinstance(created, int | float):
                TASK_DURATION.labels(view.status).observe(max(0.0, time.time() - created))
            record_usage(view.usage)
        logger.info("run ended", extra={"task_id": task_id, "run_id": run_id, "status": view.status})


def end_event(status: str) -> str:
    """The event that closes a task with this terminal status in its log: `failed` only for failures; `completed`,
    `needs_review` and `answered` (a message answered without a task) end with `finished`."""
    return EventType.FAILED.value if status in FAILED_STATUSES else EventType.FINISHED.value


async def _touch_daytona(sandbox_id: str) -> bool:
    """Refresh a waiting task's sandbox through this process's Daytona provider (the one the graphs use)."""
    from agent.runtime import provider_for

    touch = getattr(await provider_for("daytona"), "touch", None)
    return bool(touch is not None and await touch(sandbox_id))


def _status_in_update(update: dict[str, Any]) -> str | None:
    for node_output in update.values():
        if isinstance(node_output, dict) and isinstance(node_output.get("status"), str):
            return node_output["status"]
    return None


def _error_text(data: Any) -> str:
    if isinstance(data, dict):
        return str(data.get("message") or data.get("error") or data)
    return str(data)
