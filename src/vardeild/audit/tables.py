"""The audit log's SQLAlchemy mapping."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vardeild.db.base import Base, UTCDateTime


class AuditRow(Base):
    """One recorded change. Rows are only ever inserted."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True, comment="When it happened")
    actor: Mapped[str] = mapped_column(String(200), index=True, comment="Who did it")
    action: Mapped[str] = mapped_column(String(64), index=True, comment="e.g. organisation.update")
    entity_type: Mapped[str] = mapped_column(String(64), comment="Kind of record changed")
    entity_id: Mapped[str] = mapped_column(String(64), comment="Its id")
    organisation_id: Mapped[int | None] = mapped_column(
        Integer, index=True, comment="Member concerned (no foreign key: outlives deletion)"
    )
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, comment="State before")
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, comment="State after")
    note: Mapped[str] = mapped_column(Text, default="", comment="Why, where given")
