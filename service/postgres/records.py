"""Idempotency-Key records in PostgreSQL (table `idempotency_records`): agent/http/idempotency.py's RecordStore, as
durable as the tasks they point at. An expired record counts as absent; `put_if_absent` is one atomic upsert, so of
several replicas claiming one key at once exactly one gets it. Expired rows are swept at most every SWEEP_EVERY
seconds by each process."""

from __future__ import annotations

import time

from service.postgres.db import Connection, Database

SWEEP_EVERY = 600.0

_LIVE = "(expires_at IS NULL OR expires_at > now())"
_EXPIRY = "CASE WHEN %(ttl)s::float8 IS NULL THEN NULL ELSE now() + make_interval(secs => %(ttl)s::float8) END"


class PostgresRecords:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._swept = time.monotonic()

    async def put_if_absent(self, key: str, value: str, ttl: float) -> bool:
        """Store `value` unless a live record has `key`; True when this call stored it."""
        params = {"key": key, "value": value, "ttl": ttl}

        async def work(conn: Connection) -> bool:
            cur = await conn.execute(
                f"""INSERT INTO idempotency_records (key, value, expires_at) VALUES (%(key)s, %(value)s, {_EXPIRY})
                ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at
                WHERE idempotency_records.expires_at IS NOT NULL AND idempotency_records.expires_at <= now()
                RETURNING key""",
                params,
            )
            return await cur.fetchone() is not None

        stored = await self._db.run("claiming an idempotency key", work)
        await self._sweep()
        return stored

    async def get(self, key: str) -> str | None:
        async def work(conn: Connection) -> str | None:
            cur = await conn.execute(f"SELECT value FROM idempotency_records WHERE key = %s AND {_LIVE}", (key,))
            row = await cur.fetchone()
            return None if row is None else str(row[0])

        return await self._db.run("reading an idempotency record", work)

    async def set(self, key: str, value: str, ttl: float | None = None) -> None:
        params = {"key": key, "value": value, "ttl": ttl}

        async def work(conn: Connection) -> None:
            await conn.execute(
                f"""INSERT INTO idempotency_records (key, value, expires_at) VALUES (%(key)s, %(value)s, {_EXPIRY})
                ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at""",
                params,
            )

        await self._db.run("writing an idempotency record", work)

    async def delete(self, key: str) -> None:
        async def work(conn: Connection) -> None:
            await conn.execute("DELETE FROM idempotency_records WHERE key = %s", (key,))

        await self._db.run("deleting an idempotency record", work)

    async def _sweep(self) -> None:
        if time.monotonic() - self._swept < SWEEP_EVERY:
            return
        self._swept = time.monotonic()

        async def work(conn: Connection) -> None:
            await conn.execute("DELETE FROM idempotency_records WHERE expires_at <= now()")

        await self._db.run("sweeping expired idempotency records", work)
