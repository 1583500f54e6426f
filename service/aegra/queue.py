"""Runs started while Redis is down are queued once it is back, instead of failing the request.

Aegra stores a new run in Postgres, then pushes its id onto the Redis job queue; with Redis down the push raises, the
request fails (a 500), and yet the stored run executes later (a worker polling Postgres, or the reaper of stuck runs
after two minutes) with nobody relaying it to the task's log. Here a push that fails is taken as done: the request
answers normally (so the service follows the run as usual) and the id is pushed again every RETRY_SECONDS until Redis
takes it. A run a worker meanwhile took from Postgres is not run twice: a worker only claims a pending, unclaimed run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import RedisError

logger = logging.getLogger("open_swe.service.queue")

RETRY_SECONDS = 1.0


class DeferredQueue:
    def __init__(self, submit: Callable[[Any], Awaitable[None]], push: Callable[[str], Awaitable[None]]) -> None:
        self._submit = submit
        self._push = push
        self.waiting: dict[str, None] = {}
        """Run ids not yet on the queue, oldest first."""
        self._retry: asyncio.Task[None] | None = None

    async def submit(self, job: Any) -> None:
        try:
            await self._submit(job)
        except RedisError as exc:
            run_id = str(job.identity.run_id)
            logger.warning(
                "redis is unavailable (%s): run %s is stored and will be queued when redis is back",
                type(exc).__name__,
                run_id,
            )
            self.waiting[run_id] = None
            if self._retry is None or self._retry.done():
                self._retry = asyncio.create_task(self._push_when_back(), name="queue-when-redis-is-back")

    async def _push_when_back(self) -> None:
        while self.waiting:
            await asyncio.sleep(RETRY_SECONDS)
            for run_id in list(self.waiting):
                try:
                    await self._push(run_id)
                except RedisError:
                    break
                del self.waiting[run_id]
                logger.info("queued run %s now that redis is back", run_id)


def install() -> None:
    """Aegra's executor (Redis worker mode only) submits through DeferredQueue."""
    from aegra_api.core.redis_manager import redis_manager  # type: ignore[import-untyped]  # aegra-api has no py.typed
    from aegra_api.services.executor import executor  # type: ignore[import-untyped]
    from aegra_api.settings import settings  # type: ignore[import-untyped]

    if type(executor).__name__ != "WorkerExecutor":
        return

    async def push(run_id: str) -> None:
        await redis_manager.get_client().rpush(settings.worker.WORKER_QUEUE_KEY, run_id)

    executor.submit = DeferredQueue(executor.submit, push).submit
