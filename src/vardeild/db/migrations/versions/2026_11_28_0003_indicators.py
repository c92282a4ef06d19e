"""indicators and their revision counter

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-28 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    indicator_revision = op.create_table(
        "indicator_revision",
        sa.Column("id", sa.Integer(), nullable=False, comment="Always 1"),
        sa.Column(
            "revision", sa.BigInteger(), nullable=False, comment="Bumped on every indicator change"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator_revision")),
    )
    op.bulk_insert(indicator_revision, [{"id": 1, "revision": 0}])

    op.create_table(
        "indicators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "type", sa.String(length=16), nullable=False, comment="intel.model.IndicatorType"
        ),
        sa.Column(
            "value",
            sa.String(length=2048),
            nullable=False,
            comment="Canonical value (docs/indicators.md)",
        ),
        sa.Column(
            "source",
            sa.String(length=64),
            nullable=False,
            comment="Where it came from: a feed or 'manual'",
        ),
        sa.Column(
            "tlp", sa.String(length=16), nullable=False, comment="TLP 2.0 label (core.tlp.Tlp)"
        ),
        sa.Column(
            "confidence",
            sa.SmallInteger(),
            nullable=False,
            comment="0-100, the source's certainty",
        ),
        sa.Column(
            "first_seen",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When a load first brought it",
        ),
        sa.Column(
            "last_seen",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When a load last brought it (its source still lists it)",
        ),
        sa.Column(
            "valid_until",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="It stops matching at this time; none: until removed",
        ),
        sa.Column(
            "tags",
            sa.JSON(),
            nullable=False,
            comment="Malware family, ATT&CK technique, campaign, ...",
        ),
        sa.Column("description", sa.Text(), nullable=False, comment="Free text from the source"),
        sa.Column(
            "sighting_count",
            sa.BigInteger(),
            nullable=False,
            comment="How many events have matched it",
        ),
        sa.Column(
            "last_sighted_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="When an event last matched it",
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When the row was created",
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When its marking, validity, tags or description last changed",
        ),
        sa.CheckConstraint(
            "confidence >= 0 AND confidence <= 100",
            name=op.f("ck_indicators_confidence_range"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicators")),
        sa.UniqueConstraint(
            "type", "value", "source", name=op.f("uq_indicators_type_value_source")
        ),
    )
    with op.batch_alter_table("indicators", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_indicators_source"), ["source"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_indicators_valid_until"), ["valid_until"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("indicators", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_indicators_valid_until"))
        batch_op.drop_index(batch_op.f("ix_indicators_source"))

    op.drop_table("indicators")
    op.drop_table("indicator_revision")
