"""monitoring: events, alerts, quarantine, ingest bookkeeping, suppression rules

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# SQLite gives automatic ids only to a column declared exactly INTEGER PRIMARY KEY.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column(
            "fingerprint",
            sa.String(length=32),
            nullable=False,
            comment="blake2b of feed, sensor and raw record (hex): stored once, however often sent",
        ),
        sa.Column(
            "time_source", WHEN, nullable=True, comment="When the source saw it (time.source)"
        ),
        sa.Column(
            "time_observation",
            WHEN,
            nullable=False,
            comment="When Vardeild received it (time.observation)",
        ),
        sa.Column(
            "kind",
            sa.String(length=16),
            nullable=False,
            comment="monitoring.model.EventKind: alert, anomaly, drop, protocol, report",
        ),
        sa.Column(
            "feed_name", sa.Text(), nullable=False, comment="feed.name: suricata, shadowserver"
        ),
        sa.Column(
            "feed_code",
            sa.Text(),
            nullable=False,
            comment="feed.code: the EVE event type or Shadowserver report type",
        ),
        sa.Column("classification_taxonomy", sa.Text(), nullable=False, comment="RSIT taxonomy"),
        sa.Column("classification_type", sa.Text(), nullable=False, comment="RSIT type"),
        sa.Column(
            "classification_identifier",
            sa.Text(),
            nullable=False,
            comment="Signature id, vulnerability or malware family",
        ),
        sa.Column(
            "severity",
            sa.SmallInteger(),
            nullable=False,
            comment="monitoring.model.Severity: 0 info .. 4 critical",
        ),
        sa.Column("source_ip", sa.Text(), nullable=True, comment="source.ip"),
        sa.Column("source_port", sa.Integer(), nullable=True, comment="source.port"),
        sa.Column("destination_ip", sa.Text(), nullable=True, comment="destination.ip"),
        sa.Column("destination_port", sa.Integer(), nullable=True, comment="destination.port"),
        sa.Column(
            "source_member_id",
            sa.Integer(),
            nullable=True,
            comment="Member owning the source (attributed at ingest)",
        ),
        sa.Column(
            "destination_member_id",
            sa.Integer(),
            nullable=True,
            comment="Member owning the destination (attributed at ingest)",
        ),
        sa.Column("sensor", sa.Text(), nullable=True, comment="The sensor that reported it"),
        sa.Column(
            "alert_id",
            sa.Integer(),
            nullable=True,
            comment="The alert it was folded into (the destination member's, where both sides "
            "are members); not indexed: alerts reach their events through sample_event_ids",
        ),
        sa.Column(
            "data",
            sa.Text(),
            nullable=False,
            comment="The harmonised event as JSON (monitoring.model.Event, without raw)",
        ),
        sa.Column("raw", sa.Text(), nullable=False, comment="The record as received"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_events_fingerprint")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_events_destination_member_id"), ["destination_member_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_events_source_member_id"), ["source_member_id"], unique=False
        )

    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "alert_key",
            sa.String(length=32),
            nullable=False,
            comment="blake2b of member, classification, external party and window start (hex)",
        ),
        sa.Column(
            "member_id", sa.Integer(), nullable=False, comment="The member the alert is about"
        ),
        sa.Column("classification_taxonomy", sa.Text(), nullable=False, comment="RSIT taxonomy"),
        sa.Column("classification_type", sa.Text(), nullable=False, comment="RSIT type"),
        sa.Column(
            "classification_identifier",
            sa.Text(),
            nullable=False,
            comment="What the events are grouped by: signature id, else the type",
        ),
        sa.Column(
            "signature", sa.Text(), nullable=False, comment="The signature or report description"
        ),
        sa.Column("feed_name", sa.Text(), nullable=False, comment="The feed of the first event"),
        sa.Column(
            "external_party",
            sa.Text(),
            nullable=False,
            comment="The other side's IP address ('' when the events name none)",
        ),
        sa.Column(
            "window_start",
            WHEN,
            nullable=False,
            comment="Start of the aggregation window (alert_window_minutes)",
        ),
        sa.Column("count", sa.BigInteger(), nullable=False, comment="Events folded in"),
        sa.Column("first_seen", WHEN, nullable=False, comment="Earliest event time"),
        sa.Column(
            "last_seen",
            WHEN,
            nullable=False,
            comment="Latest event time (lists sort and filter on it)",
        ),
        sa.Column(
            "severity",
            sa.SmallInteger(),
            nullable=False,
            comment="Highest event severity, raised by indicator matches and member criticality",
        ),
        sa.Column(
            "status",
            sa.String(length=16),
            nullable=False,
            comment="monitoring.alerts.AlertStatus: open, suppressed, closed",
        ),
        sa.Column(
            "sample_event_ids",
            sa.JSON(),
            nullable=False,
            comment="Ids of the first events folded in (at most ALERT_SAMPLES)",
        ),
        sa.Column(
            "matched_indicator_ids",
            sa.JSON(),
            nullable=False,
            comment="Ids of indicators any of its events matched (at most 100)",
        ),
        sa.Column("created_at", WHEN, nullable=False, comment="When first stored"),
        sa.Column("updated_at", WHEN, nullable=False, comment="When last folded into"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("alert_key", name=op.f("uq_alerts_alert_key")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alerts_last_seen"), ["last_seen"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_member_id"), ["member_id"], unique=False)

    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "source", sa.Text(), nullable=False, comment="Where it came from: file:/path, http:..."
        ),
        sa.Column(
            "position",
            sa.BigInteger(),
            nullable=False,
            comment="Where in the source: byte offset (EVE files) or line number",
        ),
        sa.Column(
            "feed",
            sa.String(length=32),
            nullable=False,
            comment="monitoring.ingest.Feed: which parser reads it",
        ),
        sa.Column("sensor", sa.Text(), nullable=True, comment="The sending sensor, where known"),
        sa.Column(
            "filename",
            sa.Text(),
            nullable=True,
            comment="The report's file name (Shadowserver report type detection)",
        ),
        sa.Column("report_type", sa.Text(), nullable=True, comment="Shadowserver report type"),
        sa.Column(
            "reason", sa.Text(), nullable=False, comment="Why it was quarantined, first time"
        ),
        sa.Column(
            "raw",
            sa.LargeBinary(),
            nullable=False,
            comment="The record's bytes (Shadowserver: header line + row)",
        ),
        sa.Column("received_at", WHEN, nullable=False, comment="When it was received"),
        sa.Column(
            "status", sa.String(length=16), nullable=False, comment="held, replayed or discarded"
        ),
        sa.Column("replayed_at", WHEN, nullable=True, comment="When a replay succeeded"),
        sa.Column("attempts", sa.Integer(), nullable=False, comment="Replays tried"),
        sa.Column("last_error", sa.Text(), nullable=True, comment="Why the last replay failed"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine")),
    )
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quarantine_status"), ["status"], unique=False)

    op.create_table(
        "ingest_checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False, comment="e.g. file:/var/log/eve.json"),
        sa.Column(
            "identity",
            sa.Text(),
            nullable=False,
            comment="What the position is relative to: dev:inode, or a content hash",
        ),
        sa.Column(
            "position",
            sa.BigInteger(),
            nullable=False,
            comment="Byte offset after the last record (EVE) or last line (CSV)",
        ),
        sa.Column("updated_at", WHEN, nullable=False, comment="When last moved"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_checkpoints")),
        sa.UniqueConstraint("source", name=op.f("uq_ingest_checkpoints_source")),
    )

    op.create_table(
        "ingest_batches",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("source", sa.Text(), nullable=False, comment="Where the batch came from"),
        sa.Column(
            "batch_key",
            sa.Text(),
            nullable=False,
            comment="Idempotency key: HTTP Idempotency-Key, JetStream message id",
        ),
        sa.Column("committed_at", WHEN, nullable=False, comment="When it was committed"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_batches")),
        sa.UniqueConstraint("source", "batch_key", name=op.f("uq_ingest_batches_source_batch_key")),
    )

    op.create_table(
        "ingest_counters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hour", WHEN, nullable=False, comment="Start of the hour received"),
        sa.Column("feed", sa.String(length=32), nullable=False, comment="eve or shadowserver"),
        sa.Column("sensor", sa.Text(), nullable=False, comment="The sensor ('' when unknown)"),
        sa.Column(
            "outcome",
            sa.String(length=32),
            nullable=False,
            comment="monitoring.store.Outcome: stored, duplicate, unattributed, ...",
        ),
        sa.Column("count", sa.BigInteger(), nullable=False, comment="Records with that outcome"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_counters")),
        sa.UniqueConstraint(
            "hour",
            "feed",
            "sensor",
            "outcome",
            name=op.f("uq_ingest_counters_hour_feed_sensor_outcome"),
        ),
    )

    op.create_table(
        "suppression_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "member_id",
            sa.Integer(),
            nullable=True,
            comment="Only events of this member (either side)",
        ),
        sa.Column(
            "identifier",
            sa.Text(),
            nullable=True,
            comment="Only this classification identifier (e.g. sid:1:2001219) or type",
        ),
        sa.Column(
            "network",
            sa.Text(),
            nullable=True,
            comment="Only events with an address (either side) in this network",
        ),
        sa.Column(
            "indicator_id",
            sa.Integer(),
            nullable=True,
            comment="Only events that matched this indicator",
        ),
        sa.Column("reason", sa.Text(), nullable=False, comment="Why (required)"),
        sa.Column("author", sa.Text(), nullable=False, comment="Who added it"),
        sa.Column("created_at", WHEN, nullable=False, comment="When it was added"),
        sa.Column(
            "expires_at", WHEN, nullable=True, comment="When it stops applying (none: never)"
        ),
        sa.Column("hit_count", sa.BigInteger(), nullable=False, comment="Events suppressed so far"),
        sa.Column("last_hit_at", WHEN, nullable=True, comment="When it last suppressed an event"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppression_rules")),
    )


def downgrade() -> None:
    op.drop_table("suppression_rules")
    op.drop_table("ingest_counters")
    op.drop_table("ingest_batches")
    op.drop_table("ingest_checkpoints")
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quarantine_status"))
    op.drop_table("quarantine")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_member_id"))
        batch_op.drop_index(batch_op.f("ix_alerts_last_seen"))
    op.drop_table("alerts")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_source_member_id"))
        batch_op.drop_index(batch_op.f("ix_events_destination_member_id"))
    op.drop_table("events")
