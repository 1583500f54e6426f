"""LISTEN/NOTIFY fan-out: one connection per process listens on a channel whose payloads are task ids, and wakes that
process's local listeners of the task (the asyncio.Events websockets wait on), whichever replica appended.

A dropped connection (PostgreSQL restarted, a network cut) is reconnected with backoff; after each reconnection every
listener is woken, because notifications sent while the connection was down are lost and their followers must re-read
the log. An idle connection is probed every PROBE_EVERY seconds, so a silent cut is noticed too."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from contextlib import suppress
from typing import Any

import psycopg
from psycopg import sql

from agent.http.logs import Throttle
from service.postgres.db import CONNECT_TIMEOUT, FIRST_DELAY, MAX_DELAY, describe
from service.postgres.errors import DatabaseUnavailable

logger = logging.getLogger("open_swe.service.postgres")

PROBE_EVERY = 10.0
PROBE_TIMEOUT = 5.0


class Fanout:
    def __init__(self, conninfo: str, channel: str) -> None:
        self._conninfo = conninfo
        self._channel = channel
        self._listeners: defaultdict[str, set[asyncio.Event]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        self._warn = Throttle()
        self._established = False
        self.reconnections = 0
        """How many times the LISTEN connection was re-established after it dropped."""

    async def start(self, *, timeout: float) -> None:
        """Start listening; returns once the first LISTEN is in place (DatabaseUnavailable after `timeout` seconds)."""
        self._task = asyncio.create_task(self._run(), name="postgres-listen")
        waiter = asyncio.create_task(self._listening.wait())
        done, _ = await asyncio.wait({waiter, self._task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if waiter not in done:
            waiter.cancel()
            await self.aclose()
            raise DatabaseUnavailable(f"no LISTEN connection within {timeout:.0f} s")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def listen(self, task_id: str) -> asyncio.Event:
        listener = asyncio.Event()
        self._listeners[task_id.lower()].add(listener)
        return listener

    def unlisten(self, task_id: str, listener: asyncio.Event) -> None:
        listeners = self._listeners.get(task_id.lower())
        if listeners is not None:
            listeners.discard(listener)
            if not listeners:
                del self._listeners[task_id.lower()]

    def wake(self, task_id: str) -> None:
        for listener in self._listeners.get(task_id.lower(), ()):
            listener.set()

    def wake_all(self) -> None:
        for listeners in self._listeners.values():
            for listener in listeners:
                listener.set()

    async def _run(self) -> None:
        delay = FIRST_DELAY
        while True:
            self._established = False
            try:
                await self._listen_once()
            except (psycopg.Error, TimeoutError) as exc:
                if self._warn.ready():
                    logger.warning("postgres LISTEN connection lost (%s); reconnecting", describe(exc))
            except Exception:  # never leave the followers of this process without wake-ups
                logger.exception("postgres LISTEN loop failed; reconnecting")
            if self._established:
                delay = FIRST_DELAY
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_DELAY)

    async def _listen_once(self) -> None:
        conn: psycopg.AsyncConnection[Any] = await psycopg.AsyncConnection.connect(
            self._conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT
        )
        async with conn:
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
            if self._listening.is_set():  # a reconnection: what was notified meanwhile is lost
                self.reconnections += 1
                logger.info("postgres LISTEN connection re-established; waking every follower")
                self.wake_all()
            self._listening.set()
            self._established = True
            while True:
                async for notify in conn.notifies(timeout=PROBE_EVERY):
                    self.wake(notify.payload)
                async with asyncio.timeout(PROBE_TIMEOUT):
                    await conn.execute("SELECT 1")
