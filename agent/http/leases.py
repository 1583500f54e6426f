"""Who relays a run: with several replicas, each run's relay is held by one replica under a lease it renews; when a
replica dies its leases lapse and another replica adopts the runs (it rejoins their streams where the log ends).

`RunLeases` is the protocol; `LocalLeases` serves one process (`langgraph dev`), where there is nobody to hand over
to; the production runtime keeps leases in PostgreSQL (service/postgres)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

LEASE_SECONDS = 15.0
"""How long a lease outlives its holder's last renewal (holders renew every third of it)."""


@dataclass(frozen=True)
class Lease:
    task_id: str
    run_id: str
    owner: str
    """The task's owner: the relay acts as this caller on runtimes that filter threads by caller (Aegra)."""


class RunLeases(Protocol):
    async def hold(self, lease: Lease) -> bool:
        """Take the relay of a run for this replica: True unless another replica holds a lease that has not lapsed."""
        ...

    async def renew(self, run_ids: Collection[str]) -> None:
        """Extend this replica's leases on these runs."""
        ...

    async def release(self, run_id: str) -> None:
        """The run's relay is done (the run ended and its end is logged)."""
        ...

    async def adopt(self, limit: int = 100) -> list[Lease]:
        """Take over, for this replica, up to `limit` leases whose holders stopped renewing them."""
        ...


class LocalLeases:
    """One process: every run is this process's to relay, and no lease ever lapses to another."""

    async def hold(self, lease: Lease) -> bool:
        return True

    async def renew(self, run_ids: Collection[str]) -> None:
        return None

    async def release(self, run_id: str) -> None:
        return None

    async def adopt(self, limit: int = 100) -> list[Lease]:
        return []
