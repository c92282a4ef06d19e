"""The indicator store's SQLAlchemy mapping.

One row per (type, value, source): the same value from two sources is two indicators, each with
that source's marking, confidence and validity, so that withdrawing one source withdraws only
its claims. The information-sharing issue adds feeds, sharing audiences and STIX ids to this
table rather than replacing it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from vardeild.db.base import Base, UTCDateTime
from vardeild.intel.model import MAX_SOURCE_LENGTH, MAX_VALUE_LENGTH


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
        UTCDateTime, comment="When its marking, validity, tags or description last changed"
    )


class IndicatorRevisionRow(Base):
    """A counter bumped by every change to the indicators, in the change's own transaction.

    Processes that hold an `IndicatorMatcher` in memory (pipeline workers, on any machine)
    compare it with the revision their matcher was built at to know when to rebuild it.
    """

    __tablename__ = "indicator_revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, comment="Always 1")
    revision: Mapped[int] = mapped_column(BigInteger, comment="Bumped on every indicator change")
