"""After a (re)start: find tasks whose runs were cut off, mark them in their event logs, and follow the runs
the runtime requeued (the in-memory runtime retries runs a crashed process left running)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from agent.http.eventlog import EventLog
from agent.http.relay import RunRelay
from agent.http.service import TASK_KIND, active_runs
from agent.http.service_metrics import TaskStates
from agent.http.view import task_view

logger = logging.getLogger("open_swe.service.recovery")
_PAGE = 200


def _open_runs(events: list[dict[str, Any]]) -> set[str]:
    started = {e["run_id"] for e in events if e.get("event") == "run_started" and e.get("run_id")}
    ended = {e["run_id"] for e in events if e.get("event") == "run_ended" and e.get("run_id")}
    return started - ended


async def _search_when_ready(client: Any, offset: int) -> list[dict[str, Any]]:
    for attempt in range(50):
        try:
            return await client.threads.search(metadata={"kind": TASK_KIND}, limit=_PAGE, offset=offset)
        except Exception:  # the runtime may still be starting
            if attempt == 49:
                raise
            await asyncio.sleep(0.2)
    return []


async def recover_tasks(
    client: Any, log: EventLog, relay: RunRelay, states: TaskStates, *, relay_runs: bool = True
) -> int:
    """Returns how many tasks were marked as interrupted by a restart. Without `relay_runs` (replicas sharing relay
    leases, which hand a stopped replica's runs to a live one) it only notes each task's status and waiting sandbox."""
    marked = 0
    offset = 0
    while True:
        threads = await _search_when_ready(client, offset)
        for thread in threads:
            task_id = str(thread["thread_id"])
            view = task_view(thread)
            states.set(task_id, view.status)
            active = await active_runs(client, task_id) if relay_runs else []
            cut_off = _open_runs(await log.since(task_id, 0)) if relay_runs else set()
            if cut_off or active:
                note = (
                    "the server restarted; the run resumes from its last saved checkpoint"
                    if active
                    else "the server restarted while a run was in progress; "
                    f"the task continues from its last saved state (status: {view.status})"
                )
                for run_id in cut_off - {str(r["run_id"]) for r in active}:
                    await log.append(
                        task_id, "run_ended", run_id=run_id, run_status="interrupted_by_restart", status=view.status
                    )
                await log.append(
                    task_id,
                    "service_restarted",
                    status=view.status,
                    note=note,
                    resumed_runs=[str(r["run_id"]) for r in active],
                )
                marked += 1
            for run in active:
                await relay.follow(task_id, str(run["run_id"]), (thread.get("metadata") or {}).get("owner"))
            if not active:
                await relay.settled(task_id, view.status, thread.get("values") or {})
        if len(threads) < _PAGE:
            break
        offset += _PAGE
    if marked:
        logger.warning("recovered %d task(s) cut off by a restart", marked)
    return marked
