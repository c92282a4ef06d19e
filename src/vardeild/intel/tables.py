"""The indicator store's SQLAlchemy mapping.

One row per (type, value, source): the same value from two sources is two indicators, each with
that source's marking, confidence and validity, so that withdrawing one source withdraws only
its claims. The information-sharing issue adds feeds, sharing audiences and STIX ids to this
table rather than replacing it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from vardeild.db.base import Base, UTCDateTime
from vardeild.intel.model import MAX_OBJECT_ID_LENGTH, MAX_SOURCE_LENGTH, MAX_VALUE_LENGTH


class IndicatorRow(Base):
    """A threat indicator: something whose sight in the sector's traffic means trouble."""

    __tablename__ = "indicators"
    __table_args__ = (
        UniqueConstraint("type", "value", "source"),
        CheckConstraint("confidence >= 0 AND confidence <= 100", name="confidence_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(16), comment="intel.model.IndicatorType")
    value: Mapped[str] = mapped_column(
        String(MAX_VALUE_LENGTH), comment="Canonical value (docs/indicators.md)"
    )
    source: Mapped[str] = mapped_column(
        String(MAX_SOURCE_LENGTH), index=True, comment="Where it came from: a feed or 'manual'"
    )
    tlp: Mapped[str] = mapped_column(String(16), comment="TLP 2.0 label (core.tlp.Tlp)")
    confidence: Mapped[int] = mapped_column(SmallInteger, comment="0-100, the source's certainty")
    first_seen: Mapped[datetime] = mapped_column(
        UTCDateTime, comment="When a load first brought it"
    )
    last_seen: Mapped[datetime] = mapped_column(
        UTCDateTime, comment="When a load last brought it (its source still lists it)"
    )
    valid_until: Mapped[datetime | None] = mapped_column(
        UTCDateTime, index=True, comment="It stops matching at this time; none: until removed"
    )
    tags: Mapped[list[str]] = mapped_column(
        JSON, default=list, comment="Malware family, ATT&CK technique, campaign, ..."
    )
    description: Mapped[str] = mapped_column(Text, default="", comment="Free text from the source")
    sighting_count: Mapped[int] = mapped_column(
        BigInteger, default=0, comment="How many events have matched it"
    )
    last_sighted_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="When an event last matched it"
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="When the row was created")
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime,
        index=True,  # incremental matcher updates read the rows changed since a moment
        comment="When its marking, validity, tags or description last changed",
    )
    stix_id: Mapped[str | None] = mapped_column(
        String(MAX_OBJECT_ID_LENGTH),
        index=True,
        comment="The STIX indicator id (or MISP attribute uuid) it was read from",
    )
    feed_id: Mapped[int | None] = mapped_column(
        ForeignKey("intel_feeds.id", ondelete="SET NULL"),
        index=True,
        comment="The configured feed that brought it; none: a file import or manual",
    )


class IndicatorRevisionRow(Base):
    """A counter bumped by every change to the indicators, in the change's own transaction.

    Processes that hold an `IndicatorMatcher` in memory (pipeline workers, on any machine)
    compare it with the revision their matcher was built at to know when to rebuild it.
    """

    __tablename__ = "indicator_revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, comment="Always 1")
    revision: Mapped[int] = mapped_column(BigInteger, comment="Bumped on every indicator change")


class FeedRow(Base):
    """A configured source of indicators that `vardeild intel sync` fetches on a schedule."""

    __tablename__ = "intel_feeds"
    __table_args__ = (
        CheckConstraint("confidence >= 0 AND confidence <= 100", name="confidence_range"),
        CheckConstraint("interval_seconds > 0", name="interval_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(
        String(MAX_SOURCE_LENGTH), unique=True, comment="Unique; also the indicators' source"
    )
    url: Mapped[str] = mapped_column(String(2048), comment="Where it is fetched from")
    format: Mapped[str] = mapped_column(String(32), comment="intel.feeds.FeedFormat")
    options: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict, comment="Format options: CSV column mapping, TAXII collection, ..."
    )
    interval_seconds: Mapped[int] = mapped_column(Integer, comment="Sync every this many seconds")
    tlp: Mapped[str] = mapped_column(String(16), comment="TLP of records that carry none")
    confidence: Mapped[int] = mapped_column(SmallInteger, comment="Confidence of records without")
    auth_kind: Mapped[str] = mapped_column(String(16), comment="none, basic or header")
    auth_name: Mapped[str] = mapped_column(
        String(256), default="", comment="Basic auth user name, or the header's name"
    )
    auth_secret: Mapped[str] = mapped_column(
        Text, default="", comment="Basic auth password or header token; never shown in full"
    )
    enabled: Mapped[bool] = mapped_column(Boolean, comment="Disabled feeds are not synced")
    cursor: Mapped[dict[str, Any]] = mapped_column(
        JSON,
        default=dict,
        comment="Where the next sync starts: ETag, Last-Modified, added_after, MISP times",
    )
    last_sync_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="When a sync last ran (with or without success)"
    )
    last_success_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="When a sync last succeeded"
    )
    last_error: Mapped[str] = mapped_column(Text, default="", comment="Why the last sync failed")
    last_result: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict, comment="Counts of the last sync"
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="When it was configured")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="When it last changed")


class UnmatchableRow(Base):
    """Something a feed sent that cannot become a matchable indicator (a STIX pattern with AND
    or FOLLOWEDBY, a MISP attribute of a type without an event field), kept so that nothing is
    silently dropped."""

    __tablename__ = "intel_unmatchable"
    __table_args__ = (UniqueConstraint("source", "object_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(
        String(MAX_SOURCE_LENGTH), index=True, comment="The source it was imported under"
    )
    feed_id: Mapped[int | None] = mapped_column(
        ForeignKey("intel_feeds.id", ondelete="SET NULL"),
        index=True,
        comment="The feed that brought it, if any",
    )
    object_id: Mapped[str] = mapped_column(
        String(MAX_OBJECT_ID_LENGTH), comment="STIX id, MISP uuid, or the record's position"
    )
    kind: Mapped[str] = mapped_column(String(32), comment="stix-pattern, misp-attribute, ...")
    text: Mapped[str] = mapped_column(Text, comment="The pattern or attribute, bounded")
    reason: Mapped[str] = mapped_column(Text, comment="Why it cannot be matched")
    raw: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict, comment="The object as received (bounded; larger ones summarised)"
    )
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, comment="When first imported")
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, comment="When last imported")


def indicator_table() -> Table:
    """Return the indicators' Core table (for the bulk reads and writes that skip the ORM)."""
    table = IndicatorRow.__table__
    assert isinstance(table, Table)
    return table
