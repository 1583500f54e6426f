"""Relays each run of a task from the LangGraph runtime into the task's event log.

One background consumer per run joins the run's resumable stream (custom events from the graphs and
subgraphs, plus root state updates), appends every event to the log, and when the run ends records the
task's resulting status. Runs of one task are relayed in order.

With several replicas (the production runtime), a run's relay is held under a lease (agent/http/leases.py) the
replica renews; when a replica dies, another adopts its runs and rejoins each stream after the last part logged.
Relayed events carry their stream position (`part`), so nothing is written twice, whoever relays.
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
from agent.http.leases import LEASE_SECONDS, Lease, LocalLeases, RunLeases
from agent.http.service_metrics import TASK_DURATION, TASK_EVENTS, TOOL_CALLS, TaskStates, record_usage
from agent.http.view import task_view
from sandbox.daytona_keepalive import WaitingSandboxes
from service.aegra.context import acting_owner

logger = logging.getLogger("open_swe.service.relay")

STREAM_MODES = ["custom", "updates"]
"""What task runs stream: the graphs' task events and root state updates (for status changes)."""
_END_EVENTS = {EventType.FINISHED.value, EventType.FAILED.value}
_RETRIES = 5
_RESERVED = frozenset({"event", "id", "ts", "source", "run_id"})
ADOPTED_NOTE = (
    "relaying this task's run stopped (its server stopped, or lost its database for too long); a server process took "
    "it over, and the run resumes from its last saved checkpoint"
)


class RunRelay:
    def __init__(
        self,
        client: Any,
        log: EventLog,
        states: TaskStates,
        *,
        leases: RunLeases | None = None,
        exact_parts: bool = False,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self._client = client
        self._log = log
        self._states = states
        self._leases: RunLeases = leases or LocalLeases()
        self._exact_parts = exact_parts
        """Each stream part has a unique, stable id (Aegra's `<run>_event_<n>`): relayed events carry it and a
        rejoined stream resumes after the last one logged. `langgraph dev`'s ids are not unique: parts are counted."""
        self._lease_seconds = lease_seconds
        self._order: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._tasks: set[asyncio.Task[None]] = set()
        self._following: set[str] = set()
        self._waiting = WaitingSandboxes(_touch_daytona)
        """Daytona sandboxes of tasks waiting for a human, kept from auto-stopping (DAYTONA_KEEPALIVE_MINUTES)."""
        self._keeper: asyncio.Task[None] | None = None

    async def follow(self, task_id: str, run_id: str, owner: str | None = None) -> bool:
        """Relay the run from this replica unless it already is relayed (here, or by a live replica elsewhere)."""
        if run_id in self._following:
            return False
        owner = owner or acting_owner.get() or ""
        if not await self._leases.hold(Lease(task_id, run_id, owner)):
            return False
        self._start(task_id, run_id, owner)
        return True

    def _start(self, task_id: str, run_id: str, owner: str) -> None:
        if run_id in self._following:
            return
        self._following.add(run_id)
        self._waiting.resumed(task_id)
        job = asyncio.create_task(self._relay(task_id, run_id, owner), name=f"relay-{run_id}")
        self._tasks.add(job)
        job.add_done_callback(self._tasks.discard)

    def keep_leases(self) -> None:
        """Start renewing this replica's leases and adopting the runs of replicas that stopped renewing theirs."""
        if self._keeper is None:
            self._keeper = asyncio.create_task(self._keep_leases(), name="relay-leases")

    async def _keep_leases(self) -> None:
        while True:
            try:
                await self._leases.renew(set(self._following))
                for lease in await self._leases.adopt():
                    if lease.run_id in self._following:  # still relayed here: its renewal was late, nothing stopped
                        continue
                    logger.warning(
                        "adopted the relay of a run whose relay stopped",
                        extra={"task_id": lease.task_id, "run_id": lease.run_id},
                    )
                    await self._log.append(
                        lease.task_id,
                        "service_restarted",
                        run_id=lease.run_id,
                        note=ADOPTED_NOTE,
                        resumed_runs=[lease.run_id],
                    )
                    self._start(lease.task_id, lease.run_id, lease.owner)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is away: the leases lapse and are adopted when it is back
                logger.warning("renewing relay leases failed (%s)", type(exc).__name__)
            await asyncio.sleep(self._lease_seconds / 3)

    async def settled(self, task_id: str, status: str, values: dict[str, Any]) -> None:
        """A task found at rest (after a restart): keep its Daytona sandbox alive if it waits for a human."""
        await self._waiting.settled(task_id, status, values)

    async def aclose(self) -> None:
        if self._keeper is not None:
            self._keeper.cancel()
            await asyncio.gather(self._keeper, return_exceptions=True)
        for job in list(self._tasks):
            job.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._waiting.aclose()

    async def _relay(self, task_id: str, run_id: str, owner: str) -> None:
        if owner:
            acting_owner.set(owner)  # this job's own context: its calls act as the task's owner (Aegra)
        try:
            async with self._order[task_id]:
                ended = await self._stream(task_id, run_id)
                await self._finish(task_id, run_id, ended)
            await self._leases.release(run_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("relaying run failed", extra={"task_id": task_id, "run_id": run_id})
        finally:
            self._following.discard(run_id)

    async def _stream(self, task_id: str, run_id: str) -> bool:
        """Append the run's events; True when the graph itself emitted finished/failed.

        The stream is joined without a `stream_mode` filter (the in-memory runtime drops `custom` parts when one is
        given). With exact part ids it resumes after the last part logged (none: from the start, `last_event_id="0"`;
        the run was created resumable) and every event carries its part id. Otherwise the replay is re-read from the
        start after a broken connection, skipping the parts already seen.
        """
        seen = 0
        ended = False
        current_status = self._states.get(task_id)
        for attempt in range(_RETRIES):
            index = 0
            after = await self._log.last_part(task_id, run_id) if self._exact_parts else None
            try:
                async for part in self._client.runs.join_stream(task_id, run_id, last_event_id=after or "0"):
                    index += 1
                    if not self._exact_parts:
                        if index <= seen:
                            continue
                        seen = index
                    at = part.id if self._exact_parts and part.id else None
                    mode = part.event.split("|", 1)[0]
                    if part.event == "metadata" and isinstance(part.data, dict):
                        # The runtime's first part of a run: a worker started executing the graph.
                        await self._append(
                            task_id,
                            "run_executing",
                            source="graph",
                            run_id=run_id,
                            part=at,
                            attempt=part.data.get("attempt", 1),
                        )
                    elif mode == "custom" and isinstance(part.data, dict) and "event" in part.data:
                        kind = str(part.data["event"])
                        payload = {k: v for k, v in part.data.items() if k not in _RESERVED}
                        await self._append(task_id, kind, source="graph", run_id=run_id, part=at, **payload)
                        ended = ended or kind in _END_EVENTS
                    elif part.event == "updates" and isinstance(part.data, dict):
                        status = _status_in_update(part.data)
                        if status and status != current_status:
                            current_status = status
                            self._states.set(task_id, status)
                            await self._append(task_id, "status", status=status, run_id=run_id, part=at)
                    elif part.event == "error":
                        # After the graph's own end (a good outcome saved), an error is the run's bookkeeping failing:
                        # logged as such, not as a second, contradicting end of the task.
                        kind = "run_error" if ended else EventType.FAILED.value
                        extra = {} if ended else {"status": "failed"}
                        await self._append(
                            task_id, kind, reason=_error_text(part.data), run_id=run_id, part=at, **extra
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
        # Fixed parts: a relay that adopts the run after this one stopped midway never writes its end twice.
        await self._append(
            task_id, "run_ended", part="run_ended", run_id=run_id, run_status=run.get("status"), status=view.status
        )
        if view.status in TERMINAL_STATUSES and view.status != "cancelled":
            if not graph_ended and self._exact_parts:  # this relay may have resumed after the graph's own end
                graph_ended = any(
                    e.get("run_id") == run_id and e.get("event") in _END_EVENTS for e in await self._log.since(task_id)
                )
            if not graph_ended:
                kind = end_event(view.status)
                await self._append(
                    task_id,
                    kind,
                    part="end",
                    run_id=run_id,
                    status=view.status,
                    reason=view.reason,
                    summary=view.summary,
                )
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
