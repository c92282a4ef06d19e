"""Public incident reports: the SQLAlchemy mapping. Only metadata is in clear; what the
reporter said is one sealed column."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from vardeild.db.base import Base, UTCDateTime


class IncidentReportRow(Base):
    """A report that came in through the public report form."""

    __tablename__ = "incident_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(
        String(32), unique=True, comment="Given to the reporter, e.g. VR-2026-7K3M9QXA (random)"
    )
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True, comment="When it came")
    status: Mapped[str] = mapped_column(
        String(16), index=True, comment="intake.model.ReportStatus: new, triaged, rejected"
    )
    size: Mapped[int] = mapped_column(Integer, comment="Bytes of the content before sealing")
    language: Mapped[str] = mapped_column(String(8), comment="Language of the form: nb or en")
    address_hash: Mapped[str] = mapped_column(
        String(64), index=True, comment="HMAC-SHA256 of the reporter's address (floods, not who)"
    )
    sealed: Mapped[bytes] = mapped_column(
        LargeBinary, comment="The content: AES-256-GCM (nonce, ciphertext, tag), bound to reference"
    )
    status_changed_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="When the status last changed"
    )
    status_changed_by: Mapped[str | None] = mapped_column(
        String(200), comment="Who last changed the status (the audit log has every change)"
    )
