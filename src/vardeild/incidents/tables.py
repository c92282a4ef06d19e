"""The SQLAlchemy mapping of incident cases: the case, its journal, tasks, links, involved
organisations, coordinated updates and the notices each went out as, evidence attachments and
candidate observables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from vardeild.db.base import Base, UTCDateTime


class CaseRow(Base):
    """One incident case."""

    __tablename__ = "incident_cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(Text, comment="One line saying what happened")
    description: Mapped[str] = mapped_column(Text, comment="What is known, for the CERT")
    classification_taxonomy: Mapped[str] = mapped_column(
        String(64), index=True, comment="RSIT taxonomy (core.taxonomy)"
    )
    classification_type: Mapped[str] = mapped_column(String(64), comment="RSIT type")
    severity: Mapped[int] = mapped_column(SmallInteger, comment="monitoring.model.Severity")
    impact: Mapped[str] = mapped_column(String(16), comment="incidents.model.Impact")
    tlp: Mapped[str] = mapped_column(String(16), comment="TLP 2.0 label of the case")
    pap: Mapped[str] = mapped_column(String(8), comment="PAP label of the case")
    status: Mapped[str] = mapped_column(
        String(16), index=True, comment="incidents.model.CaseStatus"
    )
    assignee_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), comment="The CERT user handling it"
    )
    reporter: Mapped[str] = mapped_column(Text, comment="Who reported it (name or address)")
    reporter_organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"),
        comment="The member that reported it, if one did",
    )
    source: Mapped[str] = mapped_column(
        String(16), comment="incidents.model.EntrySource: how it came in"
    )
    significant: Mapped[bool] = mapped_column(
        Boolean, comment="A significant incident: the regulatory reporting clocks run"
    )
    aware_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="When the CERT became aware of it as significant (clocks start)"
    )
    early_warning_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="When the early warning was made"
    )
    notification_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="When the incident notification was made"
    )
    final_report_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="When the final report was made"
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True, comment="Opened")
    created_by: Mapped[str] = mapped_column(Text, comment="Who or what opened it")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="Last change")
    acknowledged_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="When it first left new (time to acknowledge)"
    )
    contained_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="When the harm was contained (time to contain)"
    )
    resolved_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="When it was last resolved"
    )
    closed_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="When it was last closed or rejected (time to close)"
    )
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("incident_cases.id", ondelete="SET NULL"),
        comment="The case this one was merged into",
    )


class JournalRow(Base):
    """One entry of a case's timeline. Text is never changed once written."""

    __tablename__ = "case_journal"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("incident_cases.id", ondelete="CASCADE"), index=True, comment="The case"
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, comment="When written")
    author: Mapped[str] = mapped_column(Text, comment="The acting principal")
    author_label: Mapped[str] = mapped_column(
        Text, comment="Who wrote it as people read it (a mail sender, a member's name)"
    )
    text: Mapped[str] = mapped_column(Text, comment="The entry")
    tlp: Mapped[str] = mapped_column(String(16), comment="TLP 2.0 label of the entry")
    visibility: Mapped[str] = mapped_column(
        String(16), comment="incidents.model.Visibility: shared or internal"
    )
    source: Mapped[str] = mapped_column(String(16), comment="incidents.model.EntrySource")
    organisation_id: Mapped[int | None] = mapped_column(
        Integer, comment="The member that wrote it, when a member did"
    )


class TaskRow(Base):
    """A piece of work on a case."""

    __tablename__ = "case_tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("incident_cases.id", ondelete="CASCADE"), index=True, comment="The case"
    )
    title: Mapped[str] = mapped_column(Text, comment="What is to be done")
    owner: Mapped[str] = mapped_column(Text, comment="Who does it")
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, comment="By when")
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, comment="When done")
    done_by: Mapped[str | None] = mapped_column(Text, comment="Who marked it done")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="When made")
    created_by: Mapped[str] = mapped_column(Text, comment="Who made it")


class LinkRow(Base):
    """A case's link to a record of another domain (alert, event, indicator, ...)."""

    __tablename__ = "case_links"
    __table_args__ = (UniqueConstraint("case_id", "kind", "target_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("incident_cases.id", ondelete="CASCADE"), index=True, comment="The case"
    )
    kind: Mapped[str] = mapped_column(String(16), comment="incidents.model.LinkKind")
    target_id: Mapped[int] = mapped_column(Integer, comment="The linked record's id")
    note: Mapped[str] = mapped_column(Text, comment="Why it is linked")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="When linked")
    created_by: Mapped[str] = mapped_column(Text, comment="Who linked it")


class InvolvedRow(Base):
    """An organisation taking part in a case."""

    __tablename__ = "case_organisations"
    __table_args__ = (UniqueConstraint("case_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("incident_cases.id", ondelete="CASCADE"), index=True, comment="The case"
    )
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"),
        index=True,
        comment="The organisation",
    )
    role: Mapped[str] = mapped_column(String(16), comment="incidents.model.InvolvedRole")
    status: Mapped[str] = mapped_column(String(16), comment="incidents.model.InvolvedStatus")
    contacts: Mapped[str] = mapped_column(
        Text, comment="Its people on this case (names, addresses), as the CERT wrote them"
    )
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="When added")
    added_by: Mapped[str] = mapped_column(Text, comment="Who added it")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="Last change of status")


class UpdateRow(Base):
    """A coordinated update: one text sent to every involved organisation at once."""

    __tablename__ = "case_updates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("incident_cases.id", ondelete="CASCADE"), index=True, comment="The case"
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, comment="When sent")
    author: Mapped[str] = mapped_column(Text, comment="Who sent it")
    title: Mapped[str] = mapped_column(Text, comment="Its subject")
    text: Mapped[str] = mapped_column(Text, comment="What it says")
    tlp: Mapped[str] = mapped_column(String(16), comment="TLP 2.0 label")
    journal_id: Mapped[int | None] = mapped_column(
        ForeignKey("case_journal.id", ondelete="SET NULL"),
        comment="The shared journal entry that records it",
    )


class UpdateNoticeRow(Base):
    """The notice one coordinated update went out as to one organisation."""

    __tablename__ = "case_update_notices"
    __table_args__ = (UniqueConstraint("update_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    update_id: Mapped[int] = mapped_column(
        ForeignKey("case_updates.id", ondelete="CASCADE"), index=True, comment="The update"
    )
    organisation_id: Mapped[int] = mapped_column(Integer, comment="The organisation told")
    notice_id: Mapped[int] = mapped_column(
        ForeignKey("notices.id", ondelete="CASCADE"),
        index=True,
        comment="The notice (its deliveries and acknowledgement tell who knows since when)",
    )


class AttachmentRow(Base):
    """Evidence on a case; the bytes are stored once by SHA-256 under the data directory."""

    __tablename__ = "case_attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("incident_cases.id", ondelete="CASCADE"), index=True, comment="The case"
    )
    sha256: Mapped[str] = mapped_column(String(64), index=True, comment="SHA-256 of the bytes")
    size: Mapped[int] = mapped_column(BigInteger, comment="Size in bytes")
    filename: Mapped[str] = mapped_column(Text, comment="The name it came with (shown only)")
    content_type: Mapped[str] = mapped_column(String(200), comment="The type it came with")
    visibility: Mapped[str] = mapped_column(String(16), comment="incidents.model.Visibility")
    tlp: Mapped[str] = mapped_column(String(16), comment="TLP 2.0 label")
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="When stored")
    uploaded_by: Mapped[str] = mapped_column(Text, comment="Who stored it")


class ObservableRow(Base):
    """A candidate observable found on a case, until an analyst promotes or dismisses it."""

    __tablename__ = "case_observables"
    __table_args__ = (UniqueConstraint("case_id", "kind", "value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("incident_cases.id", ondelete="CASCADE"), index=True, comment="The case"
    )
    kind: Mapped[str] = mapped_column(String(16), comment="incidents.model.ObservableKind")
    value: Mapped[str] = mapped_column(String(1000), comment="Normalised value")
    status: Mapped[str] = mapped_column(String(16), comment="incidents.model.ObservableStatus")
    source: Mapped[str] = mapped_column(String(16), comment="incidents.model.EntrySource")
    found_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="When first found")
    found_by: Mapped[str] = mapped_column(Text, comment="Who or what found it")
    indicator_id: Mapped[int | None] = mapped_column(
        Integer, comment="The indicator it was promoted to"
    )
