"""sensors: the sensor registry, sensor tokens, hourly event counts and sensor alerts

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-28 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sensors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "name",
            sa.String(length=63),
            nullable=False,
            comment="Slug naming the sensor in events; never reused",
        ),
        sa.Column(
            "location", sa.String(length=200), nullable=False, comment="Where it stands or listens"
        ),
        sa.Column(
            "organisation_id",
            sa.Integer(),
            nullable=True,
            comment="Member whose own sensor it is; empty for the CERT's sensors",
        ),
        sa.Column("description", sa.Text(), nullable=False, comment="What it watches, who runs it"),
        sa.Column(
            "status",
            sa.String(length=16),
            nullable=False,
            comment="monitoring.sensors.SensorStatus",
        ),
        sa.Column(
            "silence_after_minutes",
            sa.Integer(),
            nullable=False,
            comment="Silent this long while active raises an alert",
        ),
        sa.Column(
            "created_by", sa.String(length=200), nullable=False, comment="Actor who registered it"
        ),
        sa.Column("created_at", WHEN, nullable=False, comment="When registered"),
        sa.Column("retired_at", WHEN, nullable=True, comment="When retired"),
        sa.Column("last_seen_at", WHEN, nullable=True, comment="When Vardeild last heard from it"),
        sa.Column(
            "silence_alerted_at",
            WHEN,
            nullable=True,
            comment="When its current silence was alerted; cleared when it is heard again",
        ),
        sa.Column("stats_at", WHEN, nullable=True, comment="Time of its latest EVE stats record"),
        sa.Column(
            "stats_uptime_seconds",
            sa.BigInteger(),
            nullable=True,
            comment="Suricata's uptime in that record",
        ),
        sa.Column(
            "stats_packets",
            sa.BigInteger(),
            nullable=True,
            comment="Packets captured since Suricata started",
        ),
        sa.Column(
            "stats_drops",
            sa.BigInteger(),
            nullable=True,
            comment="Packets dropped by the kernel since Suricata started",
        ),
        sa.Column(
            "stats_alerts",
            sa.BigInteger(),
            nullable=True,
            comment="Alerts raised since Suricata started",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_sensors_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sensors")),
        sa.UniqueConstraint("name", name=op.f("uq_sensors_name")),
    )
    with op.batch_alter_table("sensors", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sensors_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_sensors_status"), ["status"], unique=False)

    op.create_table(
        "sensor_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sensor_id", sa.Integer(), nullable=False, comment="The sensor"),
        sa.Column(
            "prefix",
            sa.String(length=16),
            nullable=False,
            comment="First characters, to recognise it",
        ),
        sa.Column("secret_hash", sa.String(length=64), nullable=False, comment="SHA-256, hex"),
        sa.Column(
            "created_by", sa.String(length=200), nullable=False, comment="Actor who issued it"
        ),
        sa.Column("created_at", WHEN, nullable=False, comment="When issued"),
        sa.Column("revoked_at", WHEN, nullable=True, comment="When revoked"),
        sa.ForeignKeyConstraint(
            ["sensor_id"],
            ["sensors.id"],
            name=op.f("fk_sensor_tokens_sensor_id_sensors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sensor_tokens")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_sensor_tokens_secret_hash")),
    )
    with op.batch_alter_table("sensor_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sensor_tokens_sensor_id"), ["sensor_id"], unique=False)

    op.create_table(
        "sensor_event_counts",
        sa.Column("sensor_id", sa.Integer(), nullable=False, comment="The sensor"),
        sa.Column("hour", WHEN, nullable=False, comment="Start of the hour (UTC)"),
        sa.Column(
            "count", sa.BigInteger(), nullable=False, comment="Records received in that hour"
        ),
        sa.ForeignKeyConstraint(
            ["sensor_id"],
            ["sensors.id"],
            name=op.f("fk_sensor_event_counts_sensor_id_sensors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("sensor_id", "hour", name=op.f("pk_sensor_event_counts")),
    )

    op.create_table(
        "sensor_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sensor_id", sa.Integer(), nullable=False, comment="The sensor"),
        sa.Column(
            "organisation_id",
            sa.Integer(),
            nullable=True,
            comment="The sensor's owner when raised; empty for the CERT's (no foreign key: kept)",
        ),
        sa.Column("kind", sa.String(length=32), nullable=False, comment="What is wrong: silent"),
        sa.Column("raised_at", WHEN, nullable=False, comment="When raised"),
        sa.Column(
            "last_seen_at",
            WHEN,
            nullable=True,
            comment="When the sensor was last heard from, as of raising",
        ),
        sa.Column("ended_at", WHEN, nullable=True, comment="When the sensor was heard from again"),
        sa.Column("message", sa.Text(), nullable=False, comment="What happened, for people"),
        sa.ForeignKeyConstraint(
            ["sensor_id"],
            ["sensors.id"],
            name=op.f("fk_sensor_alerts_sensor_id_sensors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sensor_alerts")),
    )
    with op.batch_alter_table("sensor_alerts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sensor_alerts_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_sensor_alerts_raised_at"), ["raised_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_sensor_alerts_sensor_id"), ["sensor_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sensor_alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sensor_alerts_sensor_id"))
        batch_op.drop_index(batch_op.f("ix_sensor_alerts_raised_at"))
        batch_op.drop_index(batch_op.f("ix_sensor_alerts_organisation_id"))
    op.drop_table("sensor_alerts")
    op.drop_table("sensor_event_counts")
    with op.batch_alter_table("sensor_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sensor_tokens_sensor_id"))
    op.drop_table("sensor_tokens")
    with op.batch_alter_table("sensors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sensors_status"))
        batch_op.drop_index(batch_op.f("ix_sensors_organisation_id"))
    op.drop_table("sensors")
