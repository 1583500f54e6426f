"""The replay-aware event log (service/aegra/eventlog.py) on real files: a rejoined run's replayed events are not
written twice, the resumed work is, and runs without history are untouched."""

from __future__ import annotations

import uuid
from pathlib import Path

from service.aegra.eventlog import ReplayAwareEventLog


async def _kinds(log: ReplayAwareEventLog, task_id: str) -> list[tuple[str, object]]:
    return [(e["event"], e.get("tool") or e.get("status") or e.get("attempt")) for e in await log.since(task_id, 0)]


async def test_a_replayed_prefix_is_skipped_and_new_work_is_written(tmp_path: Path) -> None:
    task, run = str(uuid.uuid4()), "run-1"
    first = ReplayAwareEventLog(tmp_path)
    await first.open()
    await first.append(task, "run_started", run_id=run)
    await first.append(task, "run_executing", source="graph", run_id=run, attempt=1)
    await first.append(task, "status", status="programming", run_id=run)
    await first.append(task, "tool_call", source="graph", run_id=run, tool="view", args={"path": "a.py"})

    after_restart = ReplayAwareEventLog(tmp_path)  # a new process on the same directory
    await after_restart.append(task, "service_restarted", status="programming")
    await after_restart.append(task, "run_executing", source="graph", run_id=run, attempt=1)  # replay
    await after_restart.append(task, "status", status="programming", run_id=run)  # replay
    replayed = await after_restart.append(
        task, "tool_call", source="graph", run_id=run, tool="view", args={"path": "a.py"}
    )
    assert replayed["id"] == 4  # the logged event, not a new one
    await after_restart.append(task, "run_executing", source="graph", run_id=run, attempt=1)  # resumed: new work
    await after_restart.append(task, "tool_call", source="graph", run_id=run, tool="view", args={"path": "a.py"})
    assert await _kinds(after_restart, task) == [
        ("run_started", None),
        ("run_executing", 1),
        ("status", "programming"),
        ("tool_call", "view"),
        ("service_restarted", "programming"),
        ("run_executing", 1),
        ("tool_call", "view"),
    ]


async def test_a_differing_event_ends_the_check_at_once(tmp_path: Path) -> None:
    task, run = str(uuid.uuid4()), "run-1"
    first = ReplayAwareEventLog(tmp_path)
    await first.open()
    await first.append(task, "run_executing", source="graph", run_id=run, attempt=1)
    await first.append(task, "tool_call", source="graph", run_id=run, tool="view")
    again = ReplayAwareEventLog(tmp_path)
    await again.append(task, "run_executing", source="graph", run_id=run, attempt=2)  # a retry, not a replay
    await again.append(task, "tool_call", source="graph", run_id=run, tool="view")
    assert [e["event"] for e in await again.since(task, 0)] == ["run_executing", "tool_call"] * 2


async def test_runs_without_history_are_written_as_they_come(tmp_path: Path) -> None:
    task = str(uuid.uuid4())
    log = ReplayAwareEventLog(tmp_path)
    await log.open()
    for _ in range(2):
        await log.append(task, "tool_call", source="graph", run_id="fresh", tool="view")
    assert [e["id"] for e in await log.since(task, 0)] == [1, 2]
