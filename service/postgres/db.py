"""A pool of async connections to PostgreSQL and the retry every operation of the service's Postgres state goes
through: a connection that fails (a restart, a refused connect, a pool that cannot hand one out) is retried with
backoff for `retry_for` seconds, then DatabaseUnavailable. Other errors (bad data, a bug in a query) are not retried."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from agent.http.logs import Throttle
from service.postgres.errors import DatabaseUnavailable

logger = logging.getLogger("open_swe.service.postgres")

Connection = psycopg.AsyncConnection[Any]

RETRY_SECONDS = 30.0
"""How long an operation keeps retrying while PostgreSQL is unreachable before it raises DatabaseUnavailable."""
CONNECT_TIMEOUT = 5
"""Seconds one connection attempt may take (libpq's connect_timeout)."""
RECONNECT_SECONDS = 3.0
FIRST_DELAY = 0.1
MAX_DELAY = 2.0


def describe(exc: BaseException) -> str:
    """An error's class and first line, for DatabaseUnavailable: libpq's messages name the host and port, never the
    password."""
    first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


async def retrying[T](work: Callable[[], Awaitable[T]], *, retry_for: float, what: str, warn: Throttle) -> T:
    """`work()`, again after each psycopg.OperationalError (which PoolTimeout is) until `retry_for` seconds passed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + retry_for
    delay = FIRST_DELAY
    while True:
        try:
            return await work()
        except psycopg.OperationalError as exc:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise DatabaseUnavailable(f"{what}: {describe(exc)}") from None
            if warn.ready():
                logger.warning(
                    "postgres unreachable (%s): %s; retrying for up to %.0f s", what, describe(exc), remaining
                )
            await asyncio.sleep(min(delay, remaining))
            delay = min(delay * 2, MAX_DELAY)


class Database:
    """The pool (autocommit connections: a transaction is always explicit) and the retry around each use."""

    def __init__(self, conninfo: str, *, pool_size: int = 10, retry_for: float = RETRY_SECONDS) -> None:
        self.conninfo = conninfo
        self.retry_for = retry_for
        self._warn = Throttle()
        self._pool: AsyncConnectionPool[Connection] = AsyncConnectionPool(
            conninfo,
            min_size=1,
            max_size=pool_size,
            kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT},
            # a connection left idle across a restart is checked (an empty query) and replaced before it is handed out
            check=AsyncConnectionPool.check_connection,
            # the pool's own reconnection backs off exponentially (1, 2, 4... s) for this long, then stops; the next
            # request starts a fresh attempt at once, so a server that returns is found within seconds, not minutes
            reconnect_timeout=RECONNECT_SECONDS,
            open=False,
            name="open-swe",
        )

    async def open(self) -> None:
        await self._pool.open(wait=False)

    async def aclose(self) -> None:
        await self._pool.close()

    async def run[T](self, what: str, work: Callable[[Connection], Awaitable[T]]) -> T:
        """`work(connection)` with a pooled connection, retried while PostgreSQL is unreachable. `work` runs again
        from the start on a retry: it must be safe to repeat (its transaction was rolled back, or it checks)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.retry_for

        async def attempt() -> T:
            wait = max(0.1, min(deadline - loop.time(), CONNECT_TIMEOUT))
            async with self._pool.connection(timeout=wait) as conn:
                return await work(conn)

        return await retrying(attempt, retry_for=self.retry_for, what=what, warn=self._warn)
