"""API tokens' SQLAlchemy mapping."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from vardeild.db.base import Base, UTCDateTime


class ApiTokenRow(Base):
    """A bearer token. Only the SHA-256 of its secret is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), comment="What the token is for")
    prefix: Mapped[str] = mapped_column(String(16), comment="First characters, to recognise it")
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True, comment="SHA-256, hex")
    role: Mapped[str] = mapped_column(String(32), comment="access.model.Role")
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"),
        index=True,
        comment="Member the token is scoped to; empty for CERT staff tokens",
    )
    created_by: Mapped[str] = mapped_column(String(200), comment="Actor who created it")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="When created")
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, comment="When it stops")
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, comment="Last request")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, comment="When revoked")
