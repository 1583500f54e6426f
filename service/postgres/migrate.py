"""The service's tables, migrated with alembic under its own version table (`open_swe_alembic_version`), so they live
beside Aegra's in one database without touching Aegra's `alembic_version`.

Replicas migrate at start: the upgrade runs in one transaction (PostgreSQL's DDL is transactional) that first takes a
transaction-level advisory lock, so of several replicas starting at once one migrates and the others wait for it and
then find nothing to do. Run by hand with `python -m service.postgres.migrate` (reads DATABASE_URL)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import psycopg
import sqlalchemy.exc
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.pool import NullPool

from agent.http.logs import Throttle
from service.postgres.db import CONNECT_TIMEOUT, RETRY_SECONDS, retrying
from service.postgres.urls import conninfo as to_conninfo

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "open_swe_alembic_version"
MIGRATION_LOCK = 0x6F70656E_73776531
"""The advisory lock key the upgrade holds ("openswe1" in ASCII)."""


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def upgrade_now(conninfo: str) -> str | None:
    """Upgrade to the newest revision (blocking: run it in a thread); returns the revision the database is at."""
    engine = create_engine(
        "postgresql+psycopg://",
        creator=lambda: psycopg.connect(conninfo, connect_timeout=CONNECT_TIMEOUT),
        poolclass=NullPool,
    )
    try:
        with engine.begin() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            command.upgrade(_config(connection), "head")
            return connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar_one_or_none()
    except sqlalchemy.exc.OperationalError as exc:  # connection errors, unwrapped for the retry
        if isinstance(exc.orig, psycopg.OperationalError):
            raise exc.orig from None
        raise
    finally:
        engine.dispose()


async def migrate(url: str, *, retry_for: float = RETRY_SECONDS) -> str | None:
    """Upgrade the database at `url` (retried while it is unreachable, then DatabaseUnavailable)."""
    conninfo = to_conninfo(url)
    return await retrying(
        lambda: asyncio.to_thread(upgrade_now, conninfo), retry_for=retry_for, what="migrating", warn=Throttle()
    )


def main() -> int:
    url = os.environ.get("DATABASE_URL")
    if not url:
        print("DATABASE_URL is not set (postgresql://user:password@host:port/database)", file=sys.stderr)
        return 2
    revision = asyncio.run(migrate(url))
    print(f"open-swe tables at revision {revision} ({VERSION_TABLE})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
