"""Sandboxes outlive human waits: while a task waits for plan approval or an answer, nothing touches its Daytona
sandbox, which Daytona would stop after DAYTONA_AUTO_STOP_MINUTES idle minutes (and, with the default auto-delete 0,
delete). `KeepAlive` refreshes the sandbox's activity every `interval` seconds while the task waits, for at most
`limit` seconds (DAYTONA_KEEPALIVE_MINUTES); past the limit the sandbox is left to auto-stop, and a later resume
starts it again (files kept) or, if Daytona deleted it, replaces it with a fresh clone.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from prometheus_client import Gauge

log = logging.getLogger(__name__)

KEEPALIVE_HELD = Gauge(
    "daytona_keepalive_sandboxes", "Daytona sandboxes kept alive because their task waits for a human."
)

Touch = Callable[[str], Awaitable[bool]]
"""Refresh one sandbox's activity; False when it is gone or not running (the heartbeat then stops)."""


class KeepAlive:
    """One heartbeat task per waiting task (keyed by task id). `drop` when the task resumes or ends."""

    def __init__(self, touch: Touch, *, interval: float, limit: float) -> None:
        self._touch = touch
        self._interval = interval
        self._limit = limit
        self._beats: dict[str, asyncio.Task[None]] = {}

    def holding(self, key: str) -> bool:
        return key in self._beats and not self._beats[key].done()

    def hold(self, key: str, sandbox_id: str) -> None:
        if self._limit <= 0 or self.holding(key):
            return
        self.drop(key)
        beat = asyncio.create_task(self._beat(key, sandbox_id), name=f"keepalive-{sandbox_id}")
        self._beats[key] = beat
        KEEPALIVE_HELD.inc()
        beat.add_done_callback(lambda _: KEEPALIVE_HELD.dec())

    def drop(self, key: str) -> None:
        beat = self._beats.pop(key, None)
        if beat is not None:
            beat.cancel()

    async def aclose(self) -> None:
        beats, self._beats = list(self._beats.values()), {}
        for beat in beats:
            beat.cancel()
        await asyncio.gather(*beats, return_exceptions=True)

    async def _beat(self, key: str, sandbox_id: str) -> None:
        deadline = time.monotonic() + self._limit
        log.info("keeping sandbox %s alive while task %s waits (at most %.0fs)", sandbox_id, key, self._limit)
        while (left := deadline - time.monotonic()) > 0:
            try:
                if not await self._touch(sandbox_id):
                    log.info("sandbox %s of task %s is gone or stopped: keep-alive ends", sandbox_id, key)
                    return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("keep-alive of sandbox %s failed (%s); trying again", sandbox_id, exc)
            await asyncio.sleep(min(self._interval, left))
        log.info(
            "task %s waited past DAYTONA_KEEPALIVE_MINUTES: sandbox %s is left to auto-stop (resuming restarts it)",
            key,
            sandbox_id,
        )


WAITING_STATUSES = frozenset({"awaiting_approval", "awaiting_answer"})


class WaitingSandboxes:
    """The service's side: when a task's run ends waiting for a human, hold its Daytona sandbox; when the task
    resumes (a new run), ends or is cancelled, let go. Settings are read on first use (DAYTONA_KEEPALIVE_*)."""

    def __init__(self, touch: Touch) -> None:
        self._touch = touch
        self._keepalive: KeepAlive | None = None

    async def settled(self, task_id: str, status: str, values: dict[str, object]) -> None:
        sandbox_id = values.get("sandbox_id")
        if status in WAITING_STATUSES and values.get("sandbox_backend") == "daytona" and isinstance(sandbox_id, str):
            if self._keepalive is None:
                from sandbox.daytona_settings import load_settings

                settings = await asyncio.to_thread(load_settings)
                limit = settings.keepalive_minutes * 60
                self._keepalive = KeepAlive(self._touch, interval=settings.heartbeat_seconds, limit=limit)
            self._keepalive.hold(task_id, sandbox_id)
        else:
            self.resumed(task_id)

    def resumed(self, task_id: str) -> None:
        if self._keepalive is not None:
            self._keepalive.drop(task_id)

    async def aclose(self) -> None:
        if self._keepalive is not None:
            await self._keepalive.aclose()
