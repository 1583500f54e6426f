"""PostgreSQL going away under Aegra (a restart, a failover): requests get a JSON 503 naming `postgres` instead of a
500 with a traceback, Aegra's background loops log one line per outage instead of a traceback per tick, and the
checkpointer's pool reconnects within seconds of the database's return.

- `postgres_unavailable(exc)`: a one-line description when `exc` (or what caused it) says the database cannot be
  reached: asyncpg (Aegra's SQLAlchemy engine), psycopg and its pool (langgraph's checkpointer), a refused connect.
- `install(app)`: the handlers on Aegra's app (which serves the task API too): such errors become 503 with
  Retry-After (the same answer as a Redis outage, agent/http/guards.py); a 503 the service's own client got from this
  server (on Aegra it calls its own API over HTTP) is passed on with its `dependency`.
- Runs this process is executing are never reaped by its own lease reaper: while the database is away their heartbeats
  fail, and when it returns the reaper would find their leases expired and queue them again, so two workers would run
  one graph at once until the first noticed (a heartbeat later). The reaper renews their leases instead, and leaves
  every lease that lapsed during the outage to its holder for one lease duration (ReaperGrace), so another replica's
  live runs are not taken either.
- Prompt reconnection: psycopg_pool waits between connection attempts, and between checks of pooled connections
  inside `getconn`, with an exponential backoff (1, 2, 4, 8, 16 s). After a restart every idle connection is dead: a
  checkpoint write that draws them one by one sleeps past its 30 s timeout although the database came back after
  five seconds, and the run fails. The backoff is capped at MAX_RECONNECT_DELAY.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Container, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type hints
import httpx
import psycopg
import psycopg_pool.pool_async
from fastapi import FastAPI
from psycopg_pool.base import AttemptWithBackoff
from sqlalchemy import exc as sa_exc
from sqlalchemy import update
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from agent.http.guards import RETRY_AFTER_SECONDS, dependency_unavailable
from agent.http.logs import Throttle
from service.postgres.errors import DatabaseUnavailable

logger = logging.getLogger("open_swe.service.outage")

POSTGRES = "postgres"
MAX_RECONNECT_DELAY = 2.0
"""Seconds psycopg_pool waits at most between two attempts to reach the database (its own backoff grows to minutes)."""

_UNREACHABLE: tuple[type[BaseException], ...] = (
    psycopg.OperationalError,  # includes psycopg_pool.PoolTimeout, AdminShutdown, CannotConnectNow
    asyncpg.exceptions.PostgresConnectionError,  # includes ConnectionDoesNotExistError
    asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, cannot connect now, crash shutdown
    sa_exc.TimeoutError,  # SQLAlchemy's pool could not hand out a connection
)
"""Besides these, a ConnectionError (a refused or reset connect: asyncpg raises the OSError itself) raised through a
driver's code."""


_DRIVERS = ("asyncpg", "psycopg", "sqlalchemy")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)  # SQLAlchemy's DBAPIError wraps the driver's error
        if isinstance(orig, BaseException) and id(orig) not in seen:
            yield orig
            seen.add(id(orig))
        current = current.__cause__ or current.__context__


def _from_driver(error: BaseException) -> bool:
    """Raised through a database driver's code (a bare ConnectionError may come from anywhere: a pipe, a socket)."""
    tb = error.__traceback__
    while tb is not None:
        if str(tb.tb_frame.f_globals.get("__name__", "")).startswith(_DRIVERS):
            return True
        tb = tb.tb_next
    return False


def postgres_unavailable(exc: BaseException) -> str | None:
    """'ErrorClass: first line' of the error showing PostgreSQL cannot be reached, or None for any other error."""
    for error in _chain(exc):
        invalidated = isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated
        refused = isinstance(error, ConnectionError) and _from_driver(error)
        if isinstance(error, _UNREACHABLE) or invalidated or refused:
            first = (str(error).strip().splitlines() or [""])[0][:200]
            return f"{type(error).__name__}: {first}" if first else type(error).__name__
    return None


class _CappedBackoff(AttemptWithBackoff):
    def update_delay(self, now: float) -> None:
        super().update_delay(now)
        self.delay = min(self.delay, MAX_RECONNECT_DELAY)


def prompt_reconnects() -> None:
    """Cap psycopg_pool's backoff (see the module docstring); its pool looks the class up by name at each attempt."""
    psycopg_pool.pool_async.AttemptWithBackoff = _CappedBackoff  # type: ignore[misc]


async def database_error(request: Request, exc: Exception) -> Response:
    """503 naming postgres when the database cannot be reached; any other database error stays a logged 500."""
    detail = postgres_unavailable(exc)
    if detail is None:
        logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"detail": "internal error (logged on the server)"}, status_code=500)
    return await dependency_unavailable(request, DatabaseUnavailable(detail))


async def upstream_error(request: Request, exc: Exception) -> Response:
    """A 503 from this server's own API (the service's client on Aegra) answered as the same 503."""
    assert isinstance(exc, httpx.HTTPStatusError)
    if exc.response is None or exc.response.status_code != 503:
        raise exc
    try:
        body: Any = exc.response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or "detail" not in body:
        body = {"detail": "a dependency is unavailable; retry shortly", "dependency": None}
    retry_after = exc.response.headers.get("retry-after", str(RETRY_AFTER_SECONDS))
    return JSONResponse(
        {"detail": body["detail"], "dependency": body.get("dependency")},
        status_code=503,
        headers={"Retry-After": retry_after},
    )


class ReaperGrace:
    """After the database was unreachable, leases that lapsed meanwhile are left to their holders for one lease
    duration: every replica's heartbeats failed alike, and the live ones renew theirs within a heartbeat interval. Only
    then are runs whose leases are still lapsed taken as crashed."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._down = False
        self._back_at: float | None = None

    def unreachable(self) -> None:
        self._down = True

    def reachable(self) -> None:
        if self._down:
            self._down = False
            self._back_at = self._clock()

    def active(self) -> bool:
        return self._back_at is not None and self._clock() - self._back_at < self.seconds


def quiet_when_unreachable(
    loop_body: Callable[[], Awaitable[None]],
    what: str,
    warn: Throttle | None = None,
    on_unreachable: Callable[[], None] | None = None,
) -> Callable[[], Awaitable[None]]:
    """`loop_body` (one tick of a background loop) logging one line per interval while the database is unreachable,
    instead of raising into a loop that logs a traceback every tick."""
    throttle = warn or Throttle()

    async def tick() -> None:
        try:
            await loop_body()
        except Exception as exc:
            detail = postgres_unavailable(exc)
            if detail is None:
                raise
            if on_unreachable is not None:
                on_unreachable()
            if throttle.ready():
                logger.warning("%s skipped: postgres is unavailable (%s)", what, detail)

    return tick


def sparing_live_runs(
    find: Callable[[], Awaitable[tuple[list[str], list[str]]]],
    grace: ReaperGrace,
    active_runs: Container[str],
) -> Callable[[], Awaitable[tuple[list[str], list[str]]]]:
    """The lease reaper's search for crashed runs, leaving out (and renewing the leases of) runs this process is
    executing, and leaving every lapsed lease alone during the grace after an outage."""

    async def find_recoverable() -> tuple[list[str], list[str]]:
        crashed, stuck = await find()
        grace.reachable()
        alive = [run_id for run_id in crashed if run_id in active_runs]
        if alive:
            await _renew_leases(alive)
            logger.warning("renewed the leases of %d run(s) still executing here (missed heartbeats)", len(alive))
        lapsed = [run_id for run_id in crashed if run_id not in active_runs]
        if lapsed and grace.active():
            logger.info("%d lapsed run lease(s) left to their holders after the database outage", len(lapsed))
            return [], stuck
        return lapsed, stuck

    return find_recoverable


async def _renew_leases(run_ids: list[str]) -> None:
    from aegra_api.core.orm import Run, _get_session_maker  # type: ignore[import-untyped]  # no py.typed
    from aegra_api.settings import settings  # type: ignore[import-untyped]

    until = datetime.now(UTC) + timedelta(seconds=settings.worker.LEASE_DURATION_SECONDS)
    async with _get_session_maker()() as session:
        await session.execute(
            update(Run).where(Run.run_id.in_(run_ids), Run.status == "running").values(lease_expires_at=until)
        )
        await session.commit()


def install(app: FastAPI) -> None:
    """The handlers on Aegra's app, prompt reconnection, and a quiet lease reaper that spares live runs."""
    from aegra_api.core.active_runs import active_runs  # type: ignore[import-untyped]  # no py.typed
    from aegra_api.services.lease_reaper import lease_reaper  # type: ignore[import-untyped]
    from aegra_api.settings import settings

    prompt_reconnects()
    for kind in (
        psycopg.Error,
        sa_exc.DBAPIError,
        sa_exc.TimeoutError,
        asyncpg.exceptions.PostgresError,
        ConnectionError,
    ):
        app.add_exception_handler(kind, database_error)
    app.add_exception_handler(httpx.HTTPStatusError, upstream_error)
    grace = ReaperGrace(settings.worker.LEASE_DURATION_SECONDS)
    lease_reaper._find_recoverable = sparing_live_runs(lease_reaper._find_recoverable, grace, active_runs)
    lease_reaper._reap = quiet_when_unreachable(
        lease_reaper._reap, "recovering expired run leases", on_unreachable=grace.unreachable
    )
