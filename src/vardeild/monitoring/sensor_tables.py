"""The sensor registry's SQLAlchemy mapping: sensors, their tokens and their hourly event
counts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vardeild.db.base import Base, UTCDateTime


class SensorRow(Base):
    """A sensor (a Suricata box) that reports to the CERT, and how it last reported."""

    __tablename__ = "sensors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(
        String(63), unique=True, comment="Slug naming the sensor in events; never reused"
    )
    location: Mapped[str] = mapped_column(String(200), comment="Where it stands or listens")
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"),
        index=True,
        comment="Member whose own sensor it is; empty for the CERT's sensors",
    )
    description: Mapped[str] = mapped_column(Text, comment="What it watches, who runs it")
    status: Mapped[str] = mapped_column(
        String(16), index=True, comment="monitoring.sensors.SensorStatus"
    )
    silence_after_minutes: Mapped[int] = mapped_column(
        Integer, comment="Silent this long while active raises an alert"
    )
    created_by: Mapped[str] = mapped_column(String(200), comment="Actor who registered it")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="When registered")
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, comment="When retired")
    last_seen_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="When Vardeild last heard from it"
    )
    silence_alerted_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime,
        comment="When its current silence was alerted; cleared when it is heard again",
    )
    stats_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="Time of its latest EVE stats record"
    )
    stats_uptime_seconds: Mapped[int | None] = mapped_column(
        BigInteger, comment="Suricata's uptime in that record"
    )
    stats_packets: Mapped[int | None] = mapped_column(
        BigInteger, comment="Packets captured since Suricata started"
    )
    stats_drops: Mapped[int | None] = mapped_column(
        BigInteger, comment="Packets dropped by the kernel since Suricata started"
    )
    stats_alerts: Mapped[int | None] = mapped_column(
        BigInteger, comment="Alerts raised since Suricata started"
    )


class SensorTokenRow(Base):
    """A sensor's bearer token: it may only ingest. Only the SHA-256 of its secret is stored."""

    __tablename__ = "sensor_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sensor_id: Mapped[int] = mapped_column(
        ForeignKey("sensors.id", ondelete="CASCADE"), index=True, comment="The sensor"
    )
    prefix: Mapped[str] = mapped_column(String(16), comment="First characters, to recognise it")
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True, comment="SHA-256, hex")
    created_by: Mapped[str] = mapped_column(String(200), comment="Actor who issued it")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="When issued")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, comment="When revoked")


class SensorEventCountRow(Base):
    """How many records a sensor delivered in one hour: the rates are read from these."""

    __tablename__ = "sensor_event_counts"

    sensor_id: Mapped[int] = mapped_column(
        ForeignKey("sensors.id", ondelete="CASCADE"), primary_key=True, comment="The sensor"
    )
    hour: Mapped[datetime] = mapped_column(
        UTCDateTime, primary_key=True, comment="Start of the hour (UTC)"
    )
    count: Mapped[int] = mapped_column(BigInteger, comment="Records received in that hour")


class SensorAlertRow(Base):
    """An alert about a sensor itself: raised once when it falls silent, ended when it is heard
    from again."""

    __tablename__ = "sensor_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sensor_id: Mapped[int] = mapped_column(
        ForeignKey("sensors.id", ondelete="CASCADE"), index=True, comment="The sensor"
    )
    organisation_id: Mapped[int | None] = mapped_column(
        Integer,
        index=True,
        comment="The sensor's owner when raised; empty for the CERT's (no foreign key: kept)",
    )
    kind: Mapped[str] = mapped_column(String(32), comment="What is wrong: silent")
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True, comment="When raised")
    last_seen_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="When the sensor was last heard from, as of raising"
    )
    ended_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="When the sensor was heard from again"
    )
    message: Mapped[str] = mapped_column(Text, comment="What happened, for people")
