"""langgraph's Postgres checkpointer under Aegra, retrying what a database restart cut off.

A checkpoint write in flight when PostgreSQL restarts fails with "server closed the connection unexpectedly", and
langgraph fails the whole run with it, although the graph's work is done and the database is back seconds later. The
checkpointer's writes are upserts (a write repeated after its connection was lost stores the same rows), and its reads
change nothing, so each is retried on a lost or refused connection, or a pool that could not hand one out within its
30 s (PoolTimeout), for up to RETRY_SECONDS: the run waits for the database instead of failing. Past that it fails and
the task ends `failed` naming postgres (service/aegra/streams.py).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg

from agent.http.logs import Throttle

logger = logging.getLogger("open_swe.service.checkpoints")

RETRY_SECONDS = 120.0
"""Long enough for a restart or a managed database's failover (typically under a minute or two)."""
FIRST_DELAY = 0.2
MAX_DELAY = 2.0
RETRIED = ("aput", "aput_writes", "aget_tuple")
_warn = Throttle()


async def retrying[T](call: Callable[[], Awaitable[T]], what: str, *, retry_for: float = RETRY_SECONDS) -> T:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + retry_for
    delay = FIRST_DELAY
    while True:
        try:
            return await call()
        except psycopg.OperationalError as exc:
            if loop.time() + delay > deadline:
                raise
            if _warn.ready():
                first = (str(exc).strip().splitlines() or [""])[0][:200]
                logger.warning("checkpoint %s: postgres connection lost (%s); retrying", what, first)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_DELAY)


def retry_on_lost_connections(saver: Any) -> None:
    """Wrap the saver's writes and reads (instance attributes, so every graph holding it uses them)."""
    if getattr(saver, "_retries_lost_connections", False):
        return
    saver._retries_lost_connections = True
    for name in RETRIED:
        method = getattr(saver, name)

        @functools.wraps(method)
        async def retried(*args: Any, _method: Any = method, _name: str = name, **kwargs: Any) -> Any:
            return await retrying(lambda: _method(*args, **kwargs), _name)

        setattr(saver, name, retried)


def install() -> None:
    """Aegra creates its checkpointer at startup (`db_manager.initialize`): wrap it once it exists."""
    from aegra_api.core.database import db_manager  # type: ignore[import-untyped]  # aegra-api has no py.typed

    initialize = db_manager.initialize

    async def initialize_and_wrap() -> None:
        await initialize()
        retry_on_lost_connections(db_manager.get_checkpointer())

    db_manager.initialize = initialize_and_wrap
