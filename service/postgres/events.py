"""The event log in PostgreSQL (table `task_events`), shared by every replica: agent/http/eventlog.py's EventLog.

An append takes a per-task advisory lock for its transaction, so ids go 1, 2, 3... per task with no gap or duplicate
whichever replicas append at once; the insert skips a (task, run, part) already stored (and the stored event is
returned), and `pg_notify` in the same transaction wakes the followers of every replica when it commits.

Bodies are jsonb: a NUL character, which jsonb cannot hold, is stored as U+FFFD instead of failing the append."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

from agent.http.eventlog import Event, is_task_id
from service.postgres.db import Connection, Database
from service.postgres.listen import Fanout

CHANNEL = "open_swe_task_events"
"""The NOTIFY channel; its payloads are task ids."""
TASK_LOCKS = 0x6F737765
"""The first key of the per-task advisory locks ("oswe"); the second is hashtext(task_id)."""
RESERVED = frozenset({"id", "ts", "source", "part", "event"})
LISTEN_TIMEOUT = 30.0

_COLUMNS = "id, ts, source, kind, body, part"
_INSERT = f"""
WITH next AS (SELECT COALESCE(MAX(id), 0) + 1 AS id FROM task_events WHERE task_id = %(task)s),
inserted AS (
    INSERT INTO task_events (task_id, id, run_id, part, kind, source, body, ts)
    SELECT %(task)s, next.id, %(run)s, %(part)s, %(kind)s, %(source)s, %(body)s::jsonb, %(ts)s FROM next
    ON CONFLICT (task_id, run_id, part) DO NOTHING
    RETURNING {_COLUMNS}
)
SELECT {_COLUMNS}, pg_notify(%(channel)s, %(task_text)s) FROM inserted
"""


def _event(row: tuple[Any, ...]) -> Event:
    event_id, ts, source, kind, body, part = row[:6]
    event: Event = {"id": event_id, "ts": ts, "source": source, "event": kind, **body}
    if part is not None:
        event["part"] = part
    return event


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    return value


def storable(payload: dict[str, Any]) -> str:
    """The JSON text of an event's body as jsonb can store it (values JSON cannot hold become strings, as in the file
    log; NUL characters become U+FFFD)."""
    text = json.dumps(payload, default=str, ensure_ascii=False)
    if "\\u0000" in text:
        text = json.dumps(_without_nul(json.loads(text)), ensure_ascii=False)
    return text


def _task(task_id: str) -> uuid.UUID:
    if not is_task_id(task_id):
        raise ValueError(f"not a task id: {task_id!r}")
    return uuid.UUID(task_id)


class PostgresEventLog:
    def __init__(self, db: Database, *, channel: str = CHANNEL) -> None:
        self._db = db
        self._channel = channel
        self._fanout = Fanout(db.conninfo, channel)
        self._started = False

    @property
    def fanout(self) -> Fanout:
        return self._fanout

    async def open(self) -> None:
        """Start this process's LISTEN connection (once; a second call does nothing)."""
        if not self._started:
            await self._fanout.start(timeout=max(self._db.retry_for, LISTEN_TIMEOUT))
            self._started = True

    async def aclose(self) -> None:
        await self._fanout.aclose()
        self._started = False

    async def append(
        self, task_id: str, kind: str, *, source: str = "service", part: str | None = None, **data: Any
    ) -> Event:
        task = _task(task_id)
        run_id = data.get("run_id")
        params: dict[str, Any] = {
            "task": task,
            "task_text": str(task),
            "run": None if run_id is None else str(run_id),
            "part": part,
            "kind": kind,
            "source": source,
            "body": storable({k: v for k, v in data.items() if k not in RESERVED}),
            "ts": time.time(),
            "channel": self._channel,
        }
        inserted: list[int] = []  # the id of an insert whose commit's outcome a dropped connection may have hidden

        async def work(conn: Connection) -> Event:
            if inserted:
                cur = await conn.execute(
                    f"SELECT {_COLUMNS} FROM task_events WHERE task_id = %s AND id = %s AND ts = %s",
                    (task, inserted[-1], params["ts"]),
                )
                row = await cur.fetchone()
                if row is not None:  # it did commit
                    return _event(row)
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (TASK_LOCKS, str(task)))
                row = await (await conn.execute(_INSERT, params)).fetchone()
                if row is not None:
                    inserted.append(row[0])
                    return _event(row)
            # this (run, part) is stored already: that event, not a second one
            cur = await conn.execute(
                f"SELECT {_COLUMNS} FROM task_events WHERE task_id = %s AND run_id = %s AND part = %s",
                (task, params["run"], part),
            )
            stored = await cur.fetchone()
            if stored is None:
                raise RuntimeError(f"task {task_id}: an append of part {part!r} conflicted with no stored event")
            return _event(stored)

        event = await self._db.run("appending an event", work)
        self._fanout.wake(str(task))  # this replica's followers at once; the others on the NOTIFY
        return event

    async def since(self, task_id: str, after: int = 0) -> list[Event]:
        task = _task(task_id)

        async def work(conn: Connection) -> list[Event]:
            cur = await conn.execute(
                f"SELECT {_COLUMNS} FROM task_events WHERE task_id = %s AND id > %s ORDER BY id", (task, after)
            )
            return [_event(row) for row in await cur.fetchall()]

        return await self._db.run("reading events", work)

    async def exists(self, task_id: str) -> bool:
        return await self.last_id(task_id) > 0

    async def last_id(self, task_id: str) -> int:
        task = _task(task_id)

        async def work(conn: Connection) -> int:
            cur = await conn.execute("SELECT COALESCE(MAX(id), 0) FROM task_events WHERE task_id = %s", (task,))
            row = await cur.fetchone()
            return int(row[0]) if row is not None else 0

        return await self._db.run("reading events", work)

    async def last_part(self, task_id: str, run_id: str) -> str | None:
        task = _task(task_id)

        async def work(conn: Connection) -> str | None:
            cur = await conn.execute(
                "SELECT part FROM task_events WHERE task_id = %s AND run_id = %s AND part IS NOT NULL"
                " ORDER BY id DESC LIMIT 1",
                (task, run_id),
            )
            row = await cur.fetchone()
            return None if row is None else str(row[0])

        return await self._db.run("reading events", work)

    def listen(self, task_id: str) -> asyncio.Event:
        return self._fanout.listen(task_id)

    def unlisten(self, task_id: str, listener: asyncio.Event) -> None:
        self._fanout.unlisten(task_id, listener)
