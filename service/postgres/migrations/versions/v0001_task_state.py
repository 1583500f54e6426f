"""The service's per-task state: event logs, Idempotency-Key records, run relay leases.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import DOUBLE_PRECISION, JSONB, UUID

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "task_events",
        sa.Column("task_id", UUID(as_uuid=False), nullable=False),
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("run_id", sa.Text, nullable=True),
        sa.Column("part", sa.Text, nullable=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("body", JSONB, nullable=False),
        sa.Column("ts", DOUBLE_PRECISION, nullable=False),
        sa.PrimaryKeyConstraint("task_id", "id", name="task_events_pkey"),
        sa.UniqueConstraint("task_id", "run_id", "part", name="task_events_part_key"),
    )
    op.create_table(
        "idempotency_records",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("expires_at", sa.TIMESTAMP(timezone=True), nullable=True),
    )
    op.create_index("idempotency_records_expires_at", "idempotency_records", ["expires_at"])
    op.create_table(
        "run_leases",
        sa.Column("run_id", sa.Text, primary_key=True),
        sa.Column("task_id", UUID(as_uuid=False), nullable=False),
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("holder", sa.Text, nullable=False),
        sa.Column("expires_at", sa.TIMESTAMP(timezone=True), nullable=False),
    )
    op.create_index("run_leases_expires_at", "run_leases", ["expires_at"])


def downgrade() -> None:
    op.drop_table("run_leases")
    op.drop_table("idempotency_records")
    op.drop_table("task_events")
