"""The service's tables are migrated at start (service/postgres/migrate.py) against a real server: two replicas
starting at once on an empty database both come up with one set of tables, a second start changes nothing, Aegra's
own `alembic_version` table is never touched, and `python -m service.postgres.migrate` migrates by hand."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from service.postgres import DatabaseUnavailable
from service.postgres.migrate import VERSION_TABLE, migrate
from tests.prod.pg_helpers import fresh_database, opened, query
from tests.support.net import free_port

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
TABLES = ["idempotency_records", "open_swe_alembic_version", "run_leases", "task_events"]


async def tables(url: str) -> list[str]:
    rows = await query(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
    return [str(name) for (name,) in rows]


async def test_two_replicas_starting_at_once_on_an_empty_database_both_come_up(postgres_url: str) -> None:
    url = await fresh_database(postgres_url)
    assert await tables(url) == []
    ids = await asyncio.gather(*(open_and_append(url) for _ in range(3)))  # three replicas start at the same moment
    assert sorted(ids) == [1, 2, 3]
    assert await tables(url) == TABLES
    assert await query(url, f"SELECT version_num FROM {VERSION_TABLE}") == [("0001",)]
    other = await fresh_database(postgres_url)
    assert await asyncio.gather(*(migrate(other) for _ in range(4))) == ["0001"] * 4
    assert await tables(other) == TABLES


async def open_and_append(url: str) -> int:
    async with opened(url) as state:
        event = await state.events.append("7f0c1a9e-4a8e-4d61-9d0a-0a4c7f3e2b10", "started")
        return int(event["id"])


async def test_a_second_start_changes_nothing_and_keeps_the_data(postgres_url: str) -> None:
    url = await fresh_database(postgres_url)
    task = "0b6f9a51-2c4d-4e8f-8a1b-3c5d7e9f1a2b"
    async with opened(url) as state:
        await state.events.append(task, "kept")
    before = await query(url, "SELECT oid, relname FROM pg_class WHERE relname IN ('task_events', 'run_leases')")
    assert await migrate(url) == "0001"
    async with opened(url) as state:
        assert [e["event"] for e in await state.events.since(task)] == ["kept"]
    after = await query(url, "SELECT oid, relname FROM pg_class WHERE relname IN ('task_events', 'run_leases')")
    assert sorted(before) == sorted(after)  # the same tables, not dropped and made again


async def test_aegras_alembic_version_table_is_untouched(postgres_url: str) -> None:
    url = await fresh_database(postgres_url)
    await query(url, "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)")
    await query(url, "INSERT INTO alembic_version VALUES ('aegra_head_1234')")
    async with opened(url):
        pass
    assert await query(url, "SELECT version_num FROM alembic_version") == [("aegra_head_1234",)]
    assert await query(url, f"SELECT version_num FROM {VERSION_TABLE}") == [("0001",)]


async def migrate_by_hand(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`python -m service.postgres.migrate` with this environment."""
    command = [sys.executable, "-m", "service.postgres.migrate"]
    return await asyncio.to_thread(
        subprocess.run, command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


async def test_the_migration_command_migrates_by_hand(postgres_url: str) -> None:
    url = await fresh_database(postgres_url)
    env = {**os.environ, "DATABASE_URL": url.replace("postgresql://", "postgres://")}
    done = await migrate_by_hand(env)
    assert done.returncode == 0, done.stderr
    assert "revision 0001" in done.stdout
    assert await tables(url) == TABLES
    missing = {k: v for k, v in env.items() if k != "DATABASE_URL"}
    done = await migrate_by_hand(missing)
    assert done.returncode == 2 and "DATABASE_URL is not set" in done.stderr


async def test_an_unreachable_database_at_start_is_a_clear_error_without_the_password() -> None:
    url = f"postgresql://someone:s3cret-pw@127.0.0.1:{free_port()}/nothing"
    with pytest.raises(DatabaseUnavailable) as caught:
        await migrate(url, retry_for=0.5)
    message = str(caught.value)
    assert message.startswith("postgres is unavailable (migrating: OperationalError")
    assert caught.value.dependency == "postgres"
    assert "s3cret" not in message and "someone:" not in message
    with pytest.raises(ValueError, match="must start with postgresql://"):
        await migrate("mysql://someone:s3cret-pw@host/db")
