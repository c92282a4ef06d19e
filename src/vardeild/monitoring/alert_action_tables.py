"""The SQLAlchemy mapping of what people did with alerts: each acknowledgement, closing,
reopening and comment, kept as the alert's history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vardeild.db.base import Base, UTCDateTime


class AlertActionRow(Base):
    """One thing a person did with an alert. Rows are only ever inserted."""

    __tablename__ = "alert_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(
        ForeignKey("alerts.id", ondelete="CASCADE"), index=True, comment="The alert"
    )
    member_id: Mapped[int] = mapped_column(
        Integer, comment="The member the alert is about (no foreign key, as on alerts)"
    )
    action: Mapped[str] = mapped_column(
        String(32), comment="monitoring.alert_actions.AlertAction: acknowledge, close, ..."
    )
    actor: Mapped[str] = mapped_column(String(200), comment="Who did it")
    at: Mapped[datetime] = mapped_column(UTCDateTime, comment="When")
    status_before: Mapped[str] = mapped_column(String(16), comment="The alert's status before")
    status_after: Mapped[str] = mapped_column(String(16), comment="The alert's status after")
    reason: Mapped[str | None] = mapped_column(
        String(32), comment="Why it was closed: monitoring.alert_actions.CloseReason"
    )
    note: Mapped[str] = mapped_column(Text, comment="What the person wrote: why, or a comment")
