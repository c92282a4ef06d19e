"""intel feeds, objects kept but not matchable, and the STIX id and feed of each indicator

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 19:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "intel_feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "name",
            sa.String(length=64),
            nullable=False,
            comment="Unique; also the indicators' source",
        ),
        sa.Column(
            "url", sa.String(length=2048), nullable=False, comment="Where it is fetched from"
        ),
        sa.Column("format", sa.String(length=32), nullable=False, comment="intel.feeds.FeedFormat"),
        sa.Column(
            "options",
            sa.JSON(),
            nullable=False,
            comment="Format options: CSV column mapping, TAXII collection, ...",
        ),
        sa.Column(
            "interval_seconds", sa.Integer(), nullable=False, comment="Sync every this many seconds"
        ),
        sa.Column(
            "tlp", sa.String(length=16), nullable=False, comment="TLP of records that carry none"
        ),
        sa.Column(
            "confidence", sa.SmallInteger(), nullable=False, comment="Confidence of records without"
        ),
        sa.Column(
            "auth_kind", sa.String(length=16), nullable=False, comment="none, basic or header"
        ),
        sa.Column(
            "auth_name",
            sa.String(length=256),
            nullable=False,
            comment="Basic auth user name, or the header's name",
        ),
        sa.Column(
            "auth_secret",
            sa.Text(),
            nullable=False,
            comment="Basic auth password or header token; never shown in full",
        ),
        sa.Column("enabled", sa.Boolean(), nullable=False, comment="Disabled feeds are not synced"),
        sa.Column(
            "cursor",
            sa.JSON(),
            nullable=False,
            comment="Where the next sync starts: ETag, Last-Modified, added_after, MISP times",
        ),
        sa.Column(
            "last_sync_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="When a sync last ran (with or without success)",
        ),
        sa.Column(
            "last_success_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="When a sync last succeeded",
        ),
        sa.Column("last_error", sa.Text(), nullable=False, comment="Why the last sync failed"),
        sa.Column("last_result", sa.JSON(), nullable=False, comment="Counts of the last sync"),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When it was configured",
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, comment="When it last changed"
        ),
        sa.CheckConstraint(
            "confidence >= 0 AND confidence <= 100", name=op.f("ck_intel_feeds_confidence_range")
        ),
        sa.CheckConstraint("interval_seconds > 0", name=op.f("ck_intel_feeds_interval_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intel_feeds")),
        sa.UniqueConstraint("name", name=op.f("uq_intel_feeds_name")),
    )
    op.create_table(
        "intel_unmatchable",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "source",
            sa.String(length=64),
            nullable=False,
            comment="The source it was imported under",
        ),
        sa.Column(
            "feed_id", sa.Integer(), nullable=True, comment="The feed that brought it, if any"
        ),
        sa.Column(
            "object_id",
            sa.String(length=128),
            nullable=False,
            comment="STIX id, MISP uuid, or the record's position",
        ),
        sa.Column(
            "kind",
            sa.String(length=32),
            nullable=False,
            comment="stix-pattern, misp-attribute, ...",
        ),
        sa.Column("text", sa.Text(), nullable=False, comment="The pattern or attribute, bounded"),
        sa.Column("reason", sa.Text(), nullable=False, comment="Why it cannot be matched"),
        sa.Column(
            "raw",
            sa.JSON(),
            nullable=False,
            comment="The object as received (bounded; larger ones summarised)",
        ),
        sa.Column(
            "first_seen", sa.DateTime(timezone=True), nullable=False, comment="When first imported"
        ),
        sa.Column(
            "last_seen", sa.DateTime(timezone=True), nullable=False, comment="When last imported"
        ),
        sa.ForeignKeyConstraint(
            ["feed_id"],
            ["intel_feeds.id"],
            name=op.f("fk_intel_unmatchable_feed_id_intel_feeds"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intel_unmatchable")),
        sa.UniqueConstraint(
            "source", "object_id", name=op.f("uq_intel_unmatchable_source_object_id")
        ),
    )
    with op.batch_alter_table("intel_unmatchable", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_intel_unmatchable_feed_id"), ["feed_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_intel_unmatchable_source"), ["source"], unique=False)

    with op.batch_alter_table("indicators", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "stix_id",
                sa.String(length=128),
                nullable=True,
                comment="The STIX indicator id (or MISP attribute uuid) it was read from",
            )
        )
        batch_op.add_column(
            sa.Column(
                "feed_id",
                sa.Integer(),
                nullable=True,
                comment="The configured feed that brought it; none: a file import or manual",
            )
        )
        batch_op.create_index(batch_op.f("ix_indicators_feed_id"), ["feed_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_indicators_stix_id"), ["stix_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_indicators_updated_at"), ["updated_at"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_indicators_feed_id_intel_feeds"),
            "intel_feeds",
            ["feed_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("indicators", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_indicators_feed_id_intel_feeds"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_indicators_updated_at"))
        batch_op.drop_index(batch_op.f("ix_indicators_stix_id"))
        batch_op.drop_index(batch_op.f("ix_indicators_feed_id"))
        batch_op.drop_column("feed_id")
        batch_op.drop_column("stix_id")

    with op.batch_alter_table("intel_unmatchable", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intel_unmatchable_source"))
        batch_op.drop_index(batch_op.f("ix_intel_unmatchable_feed_id"))

    op.drop_table("intel_unmatchable")
    op.drop_table("intel_feeds")
