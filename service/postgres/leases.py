"""Run relay leases in PostgreSQL (table `run_leases`): agent/http/leases.py's RunLeases for several replicas.

A lease names its holder (one id per process) and lapses `ttl` seconds after its last renewal. `hold` takes a run
that is free, lapsed or already this holder's; `adopt` takes lapsed leases, each row locked with SKIP LOCKED, so of
replicas adopting at once exactly one gets each lease. A replica may adopt its own lapsed lease: a relay of its own
that failed (the database away longer than the retry bound) is taken up again even with no other replica alive, and
the relay skips a run it still follows."""

from __future__ import annotations

from collections.abc import Collection

from agent.http.leases import LEASE_SECONDS, Lease
from service.postgres.db import Connection, Database


class PostgresLeases:
    def __init__(self, db: Database, *, holder: str, ttl: float = LEASE_SECONDS) -> None:
        if not holder:
            raise ValueError("a lease holder id is required")
        self._db = db
        self.holder = holder
        self.ttl = ttl

    async def hold(self, lease: Lease) -> bool:
        params = {"run": lease.run_id, "task": lease.task_id, "owner": lease.owner, "me": self.holder, "ttl": self.ttl}

        async def work(conn: Connection) -> bool:
            cur = await conn.execute(
                """INSERT INTO run_leases (run_id, task_id, owner, holder, expires_at)
                VALUES (%(run)s, %(task)s::uuid, %(owner)s, %(me)s, now() + make_interval(secs => %(ttl)s))
                ON CONFLICT (run_id) DO UPDATE SET task_id = EXCLUDED.task_id, owner = EXCLUDED.owner,
                    holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
                WHERE run_leases.holder = EXCLUDED.holder OR run_leases.expires_at <= now()
                RETURNING run_id""",
                params,
            )
            return await cur.fetchone() is not None

        return await self._db.run("holding a run lease", work)

    async def renew(self, run_ids: Collection[str]) -> None:
        if not run_ids:
            return

        async def work(conn: Connection) -> None:
            await conn.execute(
                """UPDATE run_leases SET expires_at = now() + make_interval(secs => %s)
                WHERE holder = %s AND run_id = ANY(%s)""",
                (self.ttl, self.holder, list(run_ids)),
            )

        await self._db.run("renewing run leases", work)

    async def release(self, run_id: str) -> None:
        async def work(conn: Connection) -> None:
            await conn.execute("DELETE FROM run_leases WHERE run_id = %s AND holder = %s", (run_id, self.holder))

        await self._db.run("releasing a run lease", work)

    async def adopt(self, limit: int = 100) -> list[Lease]:
        async def work(conn: Connection) -> list[Lease]:
            cur = await conn.execute(
                """UPDATE run_leases SET holder = %(me)s, expires_at = now() + make_interval(secs => %(ttl)s)
                WHERE run_id IN (
                    SELECT run_id FROM run_leases WHERE expires_at <= now()
                    ORDER BY expires_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED
                )
                RETURNING task_id, run_id, owner""",
                {"me": self.holder, "ttl": self.ttl, "limit": limit},
            )
            return [Lease(task_id=str(task), run_id=run, owner=owner) for task, run, owner in await cur.fetchall()]

        return await self._db.run("adopting lapsed run leases", work)
