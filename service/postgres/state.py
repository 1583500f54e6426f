"""The service's per-task state in PostgreSQL, opened once per process: `open_postgres` migrates the tables, opens the
connection pool and this process's LISTEN connection, and hands back the event log, the Idempotency-Key records and
the run leases, all sharing that pool."""

from __future__ import annotations

from dataclasses import dataclass

from agent.http.leases import LEASE_SECONDS
from service.postgres.db import RETRY_SECONDS, Database
from service.postgres.events import PostgresEventLog
from service.postgres.leases import PostgresLeases
from service.postgres.migrate import migrate
from service.postgres.records import PostgresRecords
from service.postgres.urls import conninfo


@dataclass
class PostgresState:
    db: Database
    events: PostgresEventLog
    records: PostgresRecords
    leases: PostgresLeases

    async def aclose(self) -> None:
        try:
            await self.events.aclose()
        finally:
            await self.db.aclose()


async def open_postgres(
    url: str,
    *,
    holder: str,
    retry_for: float = RETRY_SECONDS,
    pool_size: int = 10,
    lease_ttl: float = LEASE_SECONDS,
) -> PostgresState:
    """Migrate, then open. `url` is DATABASE_URL (`postgresql://...`); `holder` names this process in run leases (a
    uuid per process); `retry_for` bounds how long each operation waits for an unreachable database before it raises
    DatabaseUnavailable. Raises DatabaseUnavailable when the database stays unreachable at start."""
    await migrate(url, retry_for=retry_for)
    db = Database(conninfo(url), pool_size=pool_size, retry_for=retry_for)
    await db.open()
    events = PostgresEventLog(db)
    try:
        await events.open()
    except BaseException:
        await db.aclose()
        raise
    return PostgresState(
        db=db, events=events, records=PostgresRecords(db), leases=PostgresLeases(db, holder=holder, ttl=lease_ttl)
    )
