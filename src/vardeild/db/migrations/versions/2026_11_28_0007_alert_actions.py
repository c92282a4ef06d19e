"""alert actions: what people did with alerts (acknowledge, close, reopen, comment)

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-28 16:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "alert_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False, comment="The alert"),
        sa.Column(
            "member_id",
            sa.Integer(),
            nullable=False,
            comment="The member the alert is about (no foreign key, as on alerts)",
        ),
        sa.Column(
            "action",
            sa.String(length=32),
            nullable=False,
            comment="monitoring.alert_actions.AlertAction: acknowledge, close, ...",
        ),
        sa.Column("actor", sa.String(length=200), nullable=False, comment="Who did it"),
        sa.Column("at", WHEN, nullable=False, comment="When"),
        sa.Column(
            "status_before",
            sa.String(length=16),
            nullable=False,
            comment="The alert's status before",
        ),
        sa.Column(
            "status_after", sa.String(length=16), nullable=False, comment="The alert's status after"
        ),
        sa.Column(
            "reason",
            sa.String(length=32),
            nullable=True,
            comment="Why it was closed: monitoring.alert_actions.CloseReason",
        ),
        sa.Column(
            "note",
            sa.Text(),
            nullable=False,
            comment="What the person wrote: why, or a comment",
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_alert_actions_alert_id_alerts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_actions")),
    )
    with op.batch_alter_table("alert_actions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_actions_alert_id"), ["alert_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("alert_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_actions_alert_id"))
    op.drop_table("alert_actions")
