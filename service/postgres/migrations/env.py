"""Alembic's environment for the service's tables: always run by service.postgres.migrate, which passes the connection
(holding the migration lock, inside its transaction) in `config.attributes`."""

from __future__ import annotations

from alembic import context

from service.postgres.migrate import VERSION_TABLE

if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: run python -m service.postgres.migrate")

context.configure(connection=context.config.attributes["connection"], version_table=VERSION_TABLE)
with context.begin_transaction():
    context.run_migrations()
