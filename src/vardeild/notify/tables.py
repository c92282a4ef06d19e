"""The notify domain's SQLAlchemy mapping: policies, notices, the outbox (deliveries), the
delivery log, what each alert was last noticed at, and the CERT's tasks to fix keys.

Member ids carry no foreign key: a notice outlives its member's deletion, as alerts do.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from vardeild.db.base import Base, UTCDateTime


class NoticePolicyRow(Base):
    """A member's notice policy; a member without one gets the defaults."""

    __tablename__ = "notice_policies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(Integer, unique=True, comment="The member")
    policy: Mapped[dict[str, Any]] = mapped_column(
        JSON, comment="notify.model.NoticePolicy as policy_to_dict writes it"
    )
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="When last changed")
    updated_by: Mapped[str] = mapped_column(Text, comment="Who last changed it")


class NoticeRow(Base):
    """One thing the CERT tells one member; sent to each receiving contact (deliveries)."""

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_status_due_at", "status", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(Integer, index=True, comment="The member told")
    kind: Mapped[str] = mapped_column(String(16), comment="notify.model.NoticeKind")
    source_key: Mapped[str] = mapped_column(
        String(200),
        unique=True,
        comment="What made it (alert:<id>:<count>:<severity>, digest:<member>:<time>): queued "
        "once however often the pass runs",
    )
    title: Mapped[str] = mapped_column(Text, comment="One line saying what happened")
    severity: Mapped[int] = mapped_column(SmallInteger, comment="monitoring.model.Severity")
    tlp: Mapped[str] = mapped_column(String(16), comment="TLP 2.0 label")
    content: Mapped[dict[str, Any]] = mapped_column(
        JSON, comment="What the templates render: details, systems, events, advice"
    )
    status: Mapped[str] = mapped_column(String(16), comment="notify.model.NoticeStatus")
    due_at: Mapped[datetime] = mapped_column(
        UTCDateTime, comment="When it goes out (now, end of quiet hours, or its digest time)"
    )
    into_digest: Mapped[bool] = mapped_column(
        Boolean, comment="Waits for the member's next digest rather than going out alone"
    )
    hold_reason: Mapped[str] = mapped_column(Text, comment="Why it waits (or 'immediate')")
    digest_id: Mapped[int | None] = mapped_column(
        Integer, index=True, comment="The digest notice it was folded into"
    )
    ack_token: Mapped[str] = mapped_column(
        String(64), unique=True, comment="The secret in the notice's acknowledgement link"
    )
    acknowledged_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="When the member acknowledged it"
    )
    acknowledged_by: Mapped[str | None] = mapped_column(
        Text, comment="Who acknowledged: link (the token) or the API token's actor"
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="When made")
    created_by: Mapped[str] = mapped_column(Text, comment="Who or what made it")
    queued_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="When its deliveries were made (counts towards the hourly cap)"
    )


class DeliveryRow(Base):
    """One recipient's copy of a notice: the persistent outbox."""

    __tablename__ = "notice_deliveries"
    __table_args__ = (
        UniqueConstraint("notice_id", "recipient"),
        Index("ix_notice_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notice_id: Mapped[int] = mapped_column(Integer, index=True, comment="The notice")
    recipient: Mapped[str] = mapped_column(String(254), comment="The contact's e-mail address")
    recipient_name: Mapped[str] = mapped_column(Text, comment="The contact's name")
    language: Mapped[str] = mapped_column(String(2), comment="nb or en")
    require_encryption: Mapped[bool] = mapped_column(
        Boolean, comment="The member's policy at queueing: no plaintext without a usable key"
    )
    status: Mapped[str] = mapped_column(String(16), comment="notify.model.DeliveryStatus")
    protection: Mapped[str | None] = mapped_column(
        String(16), comment="notify.model.Protection of the last attempt"
    )
    attempts: Mapped[int] = mapped_column(Integer, comment="Attempts made")
    next_attempt_at: Mapped[datetime] = mapped_column(
        UTCDateTime, comment="When it may be tried (again); a sending lease's end"
    )
    message_id: Mapped[str] = mapped_column(
        String(200), comment="The Message-ID, the same on every attempt (receivers deduplicate)"
    )
    last_answer: Mapped[str] = mapped_column(Text, comment="The server's last answer or error")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, comment="When accepted")


class DeliveryLogRow(Base):
    """What happened to a delivery, one line per step: queued, sent, deferred, failed."""

    __tablename__ = "notice_delivery_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notice_id: Mapped[int] = mapped_column(Integer, index=True, comment="The notice")
    delivery_id: Mapped[int | None] = mapped_column(Integer, comment="The delivery, if one")
    at: Mapped[datetime] = mapped_column(UTCDateTime, comment="When")
    status: Mapped[str] = mapped_column(String(16), comment="What happened")
    detail: Mapped[str] = mapped_column(Text, comment="The server's answer, or why")


class AlertMarkRow(Base):
    """The state of an alert its last notice told of: a notice is made again only when the
    alert has grown (severity raised or count doubled)."""

    __tablename__ = "notice_alert_marks"

    alert_id: Mapped[int] = mapped_column(Integer, primary_key=True, comment="The alert")
    count: Mapped[int] = mapped_column(Integer, comment="Events folded in when last noticed")
    severity: Mapped[int] = mapped_column(SmallInteger, comment="Severity when last noticed")
    notice_id: Mapped[int] = mapped_column(Integer, comment="The notice that told of it")


class NotifyTaskRow(Base):
    """Something the CERT must fix so that notices can go out as the policy wants."""

    __tablename__ = "notify_tasks"
    __table_args__ = (UniqueConstraint("member_id", "contact_email", "kind", "open_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(Integer, index=True, comment="The member")
    contact_email: Mapped[str] = mapped_column(String(254), comment="The contact concerned")
    kind: Mapped[str] = mapped_column(String(32), comment="fix_key")
    detail: Mapped[str] = mapped_column(Text, comment="What is wrong and what to do")
    notice_id: Mapped[int | None] = mapped_column(Integer, comment="The notice that found it")
    open_key: Mapped[str] = mapped_column(
        String(16), comment="'open' while open (one open task per contact), else the task id"
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="When raised")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, comment="When fixed")
    closed_by: Mapped[str | None] = mapped_column(Text, comment="Who closed it")
