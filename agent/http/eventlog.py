"""Per-task event log: every event a task's runs produced, with increasing ids, appended to a JSON-lines file.

Websocket clients replay from any id and then follow live; the file survives a crash of the server (each
line is written before the event is announced), so a task's history outlives the process that produced it.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

Event = dict[str, Any]


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


class EventLog:
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

    async def append(self, task_id: str, kind: str, *, source: str = "service", **data: Any) -> Event:
        """Append one event; returns it with its id."""
        async with self._locks[task_id]:
            events = await self._loaded(task_id)
            payload = {k: v for k, v in data.items() if k not in ("id", "ts", "source")}
            entry: Event = {
                "id": (events[-1]["id"] if events else 0) + 1,
                "ts": time.time(),
                "source": source,
                "event": kind,
                **{k: v for k, v in payload.items() if k != "event"},
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

    def listen(self, task_id: str) -> asyncio.Event:
        """An asyncio.Event set whenever the task gets a new event (clear it before reading)."""
        listener = asyncio.Event()
        self._listeners[task_id].add(listener)
        return listener

    def unlisten(self, task_id: str, listener: asyncio.Event) -> None:
        listeners = self._listeners.get(task_id)
        if listeners is not None:
            listeners.discard(listener)
            if not listeners:
                del self._listeners[task_id]
