"""The event log on Aegra: a relay that rejoins a run after a restart reads the run's stream from the start (Aegra keeps
it in Redis), so it would write again the events it had written before the kill. This log recognises that replay: for
a run that already has events when this process first appends one for it, the leading appends that equal the logged
ones, in order, are the replay and are not written again; the first that differs (the resumed work) ends the check."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.http.eventlog import Event, EventLog, FileEventLog

NOT_REPLAYED = frozenset({"run_started", "run_ended", "service_restarted", "status"})
"""Written by the service itself (not read from the run's stream), or derived from state (`status`)."""
IGNORED = frozenset({"id", "ts", "source"})


def _content(kind: str, data: dict[str, Any]) -> tuple[str, str]:
    return kind, repr(sorted((k, repr(v)) for k, v in data.items() if k not in IGNORED and k != "event"))


@dataclass
class _Replay:
    logged: list[Event]
    statuses: set[Any] = field(default_factory=set)
    cursor: int = 0

    @property
    def active(self) -> bool:
        return self.cursor < len(self.logged)


class ReplayAwareEventLog(FileEventLog):
    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self._replays: dict[tuple[str, str], _Replay] = {}

    async def _replay(self, task_id: str, run_id: str) -> _Replay:
        replay = self._replays.get((task_id, run_id))
        if replay is None:
            events = [e for e in await self.since(task_id, 0) if e.get("run_id") == run_id]
            replay = _Replay(
                logged=[e for e in events if e["event"] not in NOT_REPLAYED],
                statuses={e.get("status") for e in events if e["event"] == "status"},
            )
            self._replays[(task_id, run_id)] = replay
        return replay

    async def append(self, task_id: str, kind: str, *, source: str = "service", **data: Any) -> Event:
        run_id = data.get("run_id")
        if isinstance(run_id, str) and kind not in NOT_REPLAYED - {"status"}:
            replay = await self._replay(task_id, run_id)
            if replay.active:
                if kind == "status":
                    if data.get("status") in replay.statuses:
                        return {"event": kind, **data}  # already logged for this run
                else:
                    expected = replay.logged[replay.cursor]
                    if _content(kind, data) == _content(expected["event"], expected):
                        replay.cursor += 1
                        return expected
                    replay.cursor = len(replay.logged)  # new work: the replay is over
        return await super().append(task_id, kind, source=source, **data)


def event_log(directory: Path, *, remote_runtime: bool) -> EventLog:
    """The replay-aware log on runtimes that keep run streams across restarts (Aegra); the plain log otherwise."""
    return ReplayAwareEventLog(directory) if remote_runtime else FileEventLog(directory)
