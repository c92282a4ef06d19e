"""events without member indexes: no query reads events by member

Every stored event paid for two secondary indexes (source_member_id, destination_member_id)
that no query used: alerts are listed by `alerts.member_id` and reach their events through
`sample_event_ids` (the primary key). Each index on a random key costs every insert
(../shared/LIMITS.md: 497 k rows/s without an index, 159 k with two). The fingerprint's unique
index stays: it makes ingestion idempotent.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 16:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_source_member_id"))
        batch_op.drop_index(batch_op.f("ix_events_destination_member_id"))


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_events_destination_member_id"), ["destination_member_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_events_source_member_id"), ["source_member_id"], unique=False
        )
