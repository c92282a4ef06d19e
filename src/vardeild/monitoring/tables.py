"""The monitoring domain's SQLAlchemy mapping: events, alerts, quarantine, ingest bookkeeping
and suppression rules.

The pipeline writes `events`, `ingest_counters` and the bookkeeping tables through Core
statements (never ORM objects per event); these classes give them their columns, and give the
services and `alembic check` one schema. Every index here serves a named query, because each
one costs every insert (../shared/LIMITS.md: 497 k rows/s without an index, 159 k with two).

Text that comes from the wire (identifiers, host names, sensor names) is `Text`, not
`String(n)`: PostgreSQL would refuse a longer value and with it the whole batch.
Member ids carry no foreign key: an alert outlives its member's deletion, as audit entries do.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from vardeild.db.base import Base, HexDigest128, UTCDateTime

# SQLite gives automatic ids only to a column declared exactly INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class EventRow(Base):
    """A stored event: one that touches a member (or matched an indicator), harmonised."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(
        HexDigest128(),
        unique=True,
        comment="blake2b of feed, sensor and raw record (hex): stored once, however often sent",
    )
    time_source: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="When the source saw it (time.source)"
    )
    time_observation: Mapped[datetime] = mapped_column(
        UTCDateTime, comment="When Vardeild received it (time.observation)"
    )
    kind: Mapped[str] = mapped_column(
        String(16), comment="monitoring.model.EventKind: alert, anomaly, drop, protocol, report"
    )
    feed_name: Mapped[str] = mapped_column(Text, comment="feed.name: suricata, shadowserver")
    feed_code: Mapped[str] = mapped_column(
        Text, comment="feed.code: the EVE event type or Shadowserver report type"
    )
    classification_taxonomy: Mapped[str] = mapped_column(Text, comment="RSIT taxonomy")
    classification_type: Mapped[str] = mapped_column(Text, comment="RSIT type")
    classification_identifier: Mapped[str] = mapped_column(
        Text, comment="Signature id, vulnerability or malware family"
    )
    severity: Mapped[int] = mapped_column(
        SmallInteger, comment="monitoring.model.Severity: 0 info .. 4 critical"
    )
    source_ip: Mapped[str | None] = mapped_column(Text, comment="source.ip")
    source_port: Mapped[int | None] = mapped_column(Integer, comment="source.port")
    destination_ip: Mapped[str | None] = mapped_column(Text, comment="destination.ip")
    destination_port: Mapped[int | None] = mapped_column(Integer, comment="destination.port")
    source_member_id: Mapped[int | None] = mapped_column(
        # Not indexed: no query reads events by member (alerts are listed by member and name
        # their sample events), and every index costs every insert (migration 0006).
        Integer,
        comment="Member owning the source (attributed at ingest)",
    )
    destination_member_id: Mapped[int | None] = mapped_column(
        Integer, comment="Member owning the destination (attributed at ingest)"
    )
    sensor: Mapped[str | None] = mapped_column(Text, comment="The sensor that reported it")
    alert_id: Mapped[int | None] = mapped_column(
        Integer,
        comment="The alert it was folded into (the destination member's, where both sides are "
        "members); not indexed: alerts reach their events through sample_event_ids",
    )
    data: Mapped[str] = mapped_column(
        Text,
        comment="The harmonised event as JSON without raw and the fields that have columns "
        "(monitoring.model.StoredEventData)",
    )
    raw: Mapped[str] = mapped_column(Text, comment="The record as received")


class AlertRow(Base):
    """Events folded together: one member, one classification, one external party, one window."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_key: Mapped[str] = mapped_column(
        String(32),
        unique=True,
        comment="blake2b of member, classification, external party and window start (hex)",
    )
    member_id: Mapped[int] = mapped_column(
        Integer, index=True, comment="The member the alert is about"
    )
    classification_taxonomy: Mapped[str] = mapped_column(Text, comment="RSIT taxonomy")
    classification_type: Mapped[str] = mapped_column(Text, comment="RSIT type")
    classification_identifier: Mapped[str] = mapped_column(
        Text, comment="What the events are grouped by: signature id, else the type"
    )
    signature: Mapped[str] = mapped_column(Text, comment="The signature or report description")
    feed_name: Mapped[str] = mapped_column(Text, comment="The feed of the first event")
    external_party: Mapped[str] = mapped_column(
        Text, comment="The other side's IP address ('' when the events name none)"
    )
    window_start: Mapped[datetime] = mapped_column(
        UTCDateTime, comment="Start of the aggregation window (alert_window_minutes)"
    )
    count: Mapped[int] = mapped_column(BigInteger, comment="Events folded in")
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, comment="Earliest event time")
    last_seen: Mapped[datetime] = mapped_column(
        UTCDateTime, index=True, comment="Latest event time (lists sort and filter on it)"
    )
    severity: Mapped[int] = mapped_column(
        SmallInteger,
        comment="Highest event severity, raised by indicator matches and member criticality",
    )
    status: Mapped[str] = mapped_column(
        String(16), comment="monitoring.alerts.AlertStatus: open, suppressed, closed"
    )
    sample_event_ids: Mapped[list[int]] = mapped_column(
        JSON, comment="Ids of the first events folded in (at most ALERT_SAMPLES)"
    )
    matched_indicator_ids: Mapped[list[int]] = mapped_column(
        JSON, comment="Ids of indicators any of its events matched (at most 100)"
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="When first stored")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="When last folded into")


class QuarantineRow(Base):
    """A record the pipeline could not take, held with the reason until replayed or discarded."""

    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(Text, comment="Where it came from: file:/path, http:...")
    position: Mapped[int] = mapped_column(
        BigInteger, comment="Where in the source: byte offset (EVE files) or line number"
    )
    feed: Mapped[str] = mapped_column(
        String(32), comment="monitoring.ingest.Feed: which parser reads it"
    )
    sensor: Mapped[str | None] = mapped_column(Text, comment="The sending sensor, where known")
    filename: Mapped[str | None] = mapped_column(
        Text, comment="The report's file name (Shadowserver report type detection)"
    )
    report_type: Mapped[str | None] = mapped_column(Text, comment="Shadowserver report type")
    reason: Mapped[str] = mapped_column(Text, comment="Why it was quarantined, first time")
    raw: Mapped[bytes] = mapped_column(
        LargeBinary, comment="The record's bytes (Shadowserver: header line + row)"
    )
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="When it was received")
    status: Mapped[str] = mapped_column(
        String(16), index=True, comment="held, replayed or discarded"
    )
    replayed_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="When a replay succeeded"
    )
    attempts: Mapped[int] = mapped_column(Integer, comment="Replays tried")
    last_error: Mapped[str | None] = mapped_column(Text, comment="Why the last replay failed")


class IngestCheckpointRow(Base):
    """Where a reader stands in a source, written in the same transaction as the data."""

    __tablename__ = "ingest_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(Text, unique=True, comment="e.g. file:/var/log/eve.json")
    identity: Mapped[str] = mapped_column(
        Text, comment="What the position is relative to: dev:inode, or a content hash"
    )
    position: Mapped[int] = mapped_column(
        BigInteger, comment="Byte offset after the last record (EVE) or last line (CSV)"
    )
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="When last moved")


class IngestBatchRow(Base):
    """A batch key already committed: a batch sent again under it is skipped whole."""

    __tablename__ = "ingest_batches"
    __table_args__ = (UniqueConstraint("source", "batch_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source: Mapped[str] = mapped_column(Text, comment="Where the batch came from")
    batch_key: Mapped[str] = mapped_column(
        Text, comment="Idempotency key: HTTP Idempotency-Key, JetStream message id"
    )
    committed_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="When it was committed")


class IngestCounterRow(Base):
    """How many records had each outcome, per hour, feed and sensor. Events that touch no
    member are only counted here (unless store_unattributed_events is on)."""

    __tablename__ = "ingest_counters"
    __table_args__ = (UniqueConstraint("hour", "feed", "sensor", "outcome"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime, comment="Start of the hour received")
    feed: Mapped[str] = mapped_column(String(32), comment="eve or shadowserver")
    sensor: Mapped[str] = mapped_column(Text, comment="The sensor ('' when unknown)")
    outcome: Mapped[str] = mapped_column(
        String(32), comment="monitoring.store.Outcome: stored, duplicate, unattributed, ..."
    )
    count: Mapped[int] = mapped_column(BigInteger, comment="Records with that outcome")


class SuppressionRuleRow(Base):
    """Events a rule matches are counted, not stored or alerted on. Every condition given must
    hold; at least one is given."""

    __tablename__ = "suppression_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int | None] = mapped_column(
        Integer, comment="Only events of this member (either side)"
    )
    identifier: Mapped[str | None] = mapped_column(
        Text, comment="Only this classification identifier (e.g. sid:1:2001219) or type"
    )
    network: Mapped[str | None] = mapped_column(
        Text, comment="Only events with an address (either side) in this network"
    )
    indicator_id: Mapped[int | None] = mapped_column(
        Integer, comment="Only events that matched this indicator"
    )
    reason: Mapped[str] = mapped_column(Text, comment="Why (required)")
    author: Mapped[str] = mapped_column(Text, comment="Who added it")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="When it was added")
    expires_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="When it stops applying (none: never)"
    )
    hit_count: Mapped[int] = mapped_column(BigInteger, comment="Events suppressed so far")
    last_hit_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="When it last suppressed an event"
    )
