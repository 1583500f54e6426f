"""The service's per-task state in PostgreSQL on the production runtime, shared by every replica: event logs
(`task_events`), Idempotency-Key records (`idempotency_records`) and run relay leases (`run_leases`), migrated with
alembic under its own version table. Open it with `open_postgres(DATABASE_URL, holder=...)`."""

from service.postgres.errors import DatabaseUnavailable
from service.postgres.state import PostgresState, open_postgres

__all__ = ["DatabaseUnavailable", "PostgresState", "open_postgres"]
