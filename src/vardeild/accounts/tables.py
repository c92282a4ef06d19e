"""Users, their sessions, password-reset links and OpenID Connect identities: the SQLAlchemy
mapping."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from vardeild.db.base import Base, UTCDateTime


class UserRow(Base):
    """A person who signs in to the portal."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True, comment="Lower-cased; signs in")
    display_name: Mapped[str] = mapped_column(String(200), comment="Shown in the portal")
    role: Mapped[str] = mapped_column(String(32), comment="access.model.Role")
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"),
        index=True,
        comment="Member organisation of a member_* user; empty for CERT staff",
    )
    password_hash: Mapped[str | None] = mapped_column(
        String(200), comment="argon2id (PHC string); empty until a password is set"
    )
    totp_secret: Mapped[str | None] = mapped_column(
        String(128), comment="TOTP secret once enrolled, sealed (AES-GCM); never shown again"
    )
    totp_pending: Mapped[str | None] = mapped_column(
        String(128), comment="Sealed secret shown for enrolment, until a code from it is confirmed"
    )
    totp_last_step: Mapped[int | None] = mapped_column(
        Integer, comment="Time step of the last accepted code (no replay)"
    )
    failed_count: Mapped[int] = mapped_column(Integer, default=0, comment="Failures in a row")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, comment="Locked until")
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, comment="When disabled")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="When created")
    password_changed_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="When the password was last set"
    )


class UserSessionRow(Base):
    """A signed-in browser. Only the SHA-256 of the cookie's random id is stored."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_hash: Mapped[str] = mapped_column(String(64), unique=True, comment="SHA-256 of the id")
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, comment="Whose session"
    )
    stage: Mapped[str] = mapped_column(
        String(16), comment="'totp' while the second factor is awaited, 'full' once signed in"
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="When created")
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="Last request")
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="Absolute end")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, comment="When revoked")
    client: Mapped[str] = mapped_column(String(64), default="", comment="Client address")


class PasswordResetRow(Base):
    """A password-reset link. Only the SHA-256 of its token is stored; usable once."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, comment="SHA-256, hex")
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, comment="Whose password"
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="When requested")
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="When it stops working")
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, comment="When used")


class UserIdentityRow(Base):
    """An identity at an OpenID Connect provider, linked to a local user: the provider's
    (issuer, subject) pair names the person for good, whatever their e-mail becomes."""

    __tablename__ = "user_identities"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, comment="The local user"
    )
    issuer: Mapped[str] = mapped_column(String(500), comment="The provider's issuer URL")
    subject: Mapped[str] = mapped_column(String(255), comment="The provider's sub claim")
    email: Mapped[str] = mapped_column(String(254), comment="The e-mail it was linked by")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="When linked")
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="Last sign-in with it")
