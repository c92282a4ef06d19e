"""indicator audiences: the members an AMBER indicator is shared with; indicators in date order

Revision ID: 0011
Revises: 0009
Create Date: 2026-11-28 19:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "indicator_audiences",
        sa.Column("indicator_id", sa.Integer(), nullable=False, comment="The indicator shared"),
        sa.Column(
            "organisation_id",
            sa.Integer(),
            nullable=False,
            comment="The member it is shared with",
        ),
        sa.Column(
            "added_at",
            WHEN,
            nullable=False,
            comment="When the member was named; the indicator's date added for it",
        ),
        sa.Column(
            "added_by", sa.String(length=200), nullable=False, comment="Actor who named the member"
        ),
        sa.ForeignKeyConstraint(
            ["indicator_id"],
            ["indicators.id"],
            name=op.f("fk_indicator_audiences_indicator_id_indicators"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_indicator_audiences_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "indicator_id", "organisation_id", name=op.f("pk_indicator_audiences")
        ),
    )
    with op.batch_alter_table("indicator_audiences", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_indicator_audiences_organisation_id"), ["organisation_id"], unique=False
        )
    with op.batch_alter_table("indicators", schema=None) as batch_op:
        batch_op.create_index("ix_indicators_updated_at_id", ["updated_at", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("indicators", schema=None) as batch_op:
        batch_op.drop_index("ix_indicators_updated_at_id")
    with op.batch_alter_table("indicator_audiences", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_indicator_audiences_organisation_id"))
    op.drop_table("indicator_audiences")
