"""What the service's Postgres state raises when the database cannot be reached."""

from __future__ import annotations

from coordination.store import StoreUnavailable


class DatabaseUnavailable(StoreUnavailable):
    """PostgreSQL is down, restarting or unreachable, and stayed so for the whole retry bound. The message names it
    without its URL or password. A StoreUnavailable, so the API answers it like a Redis outage: a JSON 503 naming
    `postgres` with Retry-After (agent/http/guards.py), and an Idempotency-Key claim is not abandoned on it."""

    def __init__(self, detail: str) -> None:
        ConnectionError.__init__(self, f"postgres is unavailable ({detail})")
        self.dependency = "postgres"
