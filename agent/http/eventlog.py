"""Per-task event log: every event a task's runs produced, with ids 1, 2, 3... per task.

Websocket clients replay from any id and then follow live. `EventLog` is the protocol; `FileEventLog` keeps each
task in a JSON-lines file of one process (`langgraph dev`); the production runtime keeps it in PostgreSQL
(service/postgres), shared by every replica. Either way an event is stored before it is announced, so a task's
history outlives the process that produced it.

An event relayed from a run's stream carries `part`, its position in that stream: appending a part already logged
for the run returns the logged event and stores nothing, so a relay that re-reads a stream (after a restart, or on
another replica) never writes an event twice.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any, Protocol

Event = dict[str, Any]


class EventLog(Protocol):
    async def open(self) -> None: ...

    async def aclose(self) -> None: ...

    async def append(
        self, task_id: str, kind: str, *, source: str = "service", part: str | None = None, **data: Any
    ) -> Event:
        """Append one event and return it with its id; with `part` (and `run_id` in `data`), the event already
        logged at that stream position when there is one."""
        ...

    async def since(self, task_id: str, after: int = 0) -> list[Event]:
        """The task's events with ids above `after`, in order."""
        ...

    async def exists(self, task_id: str) -> bool: ...

    async def last_id(self, task_id: str) -> int: ...

    async def last_part(self, task_id: str, run_id: str) -> str | None:
        """The `part` of the run's latest relayed event: where a relay that rejoins the run's stream resumes."""
        ...

    def listen(self, task_id: str) -> asyncio.Event:
        """An asyncio.Event set whenever the task gets a new event (clear it before reading), whichever replica
        appended it."""
        ...

    def unlisten(self, task_id: str, listener: asyncio.Event) -> None: ...


def is_task_id(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def _append_lines(path: Path, lines: str) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(lines)


def _read_events(path: Path) -> list[Event]:
    if not path.exists():
        return []
    events: list[Event] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:  # a line torn by a crash mid-write
            continue
    return events


class FileEventLog:
    """The event log of one process: a JSON-lines file per task under `directory`."""

    def __init__(self, directory: Path) -> None:
        self._dir = directory
        self._events: dict[str, list[Event]] = {}
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._listeners: defaultdict[str, set[asyncio.Event]] = defaultdict(set)

    async def open(self) -> None:
        await asyncio.to_thread(self._dir.mkdir, parents=True, exist_ok=True)

    def _path(self, task_id: str) -> Path:
        if not is_task_id(task_id):
            raise ValueError(f"not a task id: {task_id!r}")
        return self._dir / f"{task_id}.jsonl"

    async def _loaded(self, task_id: str) -> list[Event]:
        events = self._events.get(task_id)
        if events is None:
            events = await asyncio.to_thread(_read_events, self._path(task_id))
            events = self._events.setdefault(task_id, events)
        return events

    async def aclose(self) -> None:
        return None

    async def append(
        self, task_id: str, kind: str, *, source: str = "service", part: str | None = None, **data: Any
    ) -> Event:
        async with self._locks[task_id]:
            events = await self._loaded(task_id)
            run_id = data.get("run_id")
            if part is not None and run_id is not None:
                for logged in reversed(events):
                    if logged.get("part") == part and logged.get("run_id") == run_id:
                        return logged
            payload = {k: v for k, v in data.items() if k not in ("id", "ts", "source", "part", "event")}
            entry: Event = {
                "id": (events[-1]["id"] if events else 0) + 1,
                "ts": time.time(),
                "source": source,
                "event": kind,
                **payload,
                **({"part": part} if part is not None else {}),
            }
            await asyncio.to_thread(_append_lines, self._path(task_id), json.dumps(entry, default=str) + "\n")
            events.append(entry)
        for listener in self._listeners.get(task_id, ()):
            listener.set()
        return entry

    async def since(self, task_id: str, after: int = 0) -> list[Event]:
        events = await self._loaded(task_id)
        if after <= 0:
            return list(events)
        # ids are 1..n in order: slice instead of scanning.
        return [e for e in events[after - 1 :] if e["id"] > after] if after <= len(events) else []

    async def exists(self, task_id: str) -> bool:
        return bool(await self._loaded(task_id))

    async def last_id(self, task_id: str) -> int:
        events = await self._loaded(task_id)
        return events[-1]["id"] if events else 0

    async def last_part(self, task_id: str, run_id: str) -> str | None:
        for event in reversed(await self._loaded(task_id)):
            if event.get("run_id") == run_id and event.get("part") is not None:
                return str(event["part"])
        return None

    def listen(self, task_id: str) -> asyncio.Event:
        listener = asyncio.Event()
        self._listeners[task_id].add(listener)
        return listener

    def unlisten(self, task_id: str, listener: asyncio.Event) -> None:
        listeners = self._listeners.get(task_id)
        if listeners is not None:
            listeners.discard(listener)
            if not listeners:
                del self._listeners[task_id]
