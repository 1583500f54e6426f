"""Helpers of the tests of service/postgres: a fresh, empty database per test in a running server, and the service's
Postgres state opened on it (closed afterwards)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from psycopg import sql

from agent.http.leases import LEASE_SECONDS
from service.postgres import PostgresState, open_postgres
from service.postgres.db import RETRY_SECONDS


def database_url(server_url: str, name: str) -> str:
    return f"{server_url.rsplit('/', 1)[0]}/{name}"


async def fresh_database(server_url: str) -> str:
    """A new empty database in the server at `server_url`; its URL."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    async with await psycopg.AsyncConnection.connect(server_url, autocommit=True) as conn:
        await conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return database_url(server_url, name)


@asynccontextmanager
async def opened(
    url: str, *, holder: str | None = None, retry_for: float = RETRY_SECONDS, lease_ttl: float = LEASE_SECONDS
) -> AsyncIterator[PostgresState]:
    state = await open_postgres(url, holder=holder or str(uuid.uuid4()), retry_for=retry_for, lease_ttl=lease_ttl)
    try:
        yield state
    finally:
        await state.aclose()


async def query(url: str, statement: str) -> list[tuple[object, ...]]:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cur = await conn.execute(statement.encode())
        return await cur.fetchall() if cur.description else []
