"""Password-reset links: 256 random bits e-mailed to the user, stored as their SHA-256, usable
once and for a short while. Using one sets the password, lifts a lock and ends every session."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from vardeild.accounts.service import (
    AccountsConfig,
    UserInfo,
    audit_user,
    store_password,
    user_info,
)
from vardeild.accounts.tables import PasswordResetRow, UserRow
from vardeild.core.clock import Clock
from vardeild.core.errors import NotFound
from vardeild.core.secrets import secret_digest


def request_reset(
    session: Session, email: str, *, clock: Clock, config: AccountsConfig
) -> tuple[UserInfo, str] | None:
    """Return the user and the secret of a new reset link for email, or None when no enabled
    user has that address (the caller must answer the same either way)."""
    row = session.scalar(select(UserRow).where(UserRow.email == email.strip().lower()))
    if row is None or row.disabled_at is not None:
        return None
    now = clock.now()
    secret = secrets.token_urlsafe(32)
    session.add(
        PasswordResetRow(
            token_hash=secret_digest(secret),
            user_id=row.id,
            created_at=now,
            expires_at=now + config.reset_valid,
        )
    )
    session.flush()
    audit_user(session, clock, "system", "user.request_reset", row, None)
    return user_info(row), secret


def _live_reset(session: Session, secret: str, now: datetime) -> PasswordResetRow | None:
    if not secret or len(secret) > 100:
        return None
    row = session.scalar(
        select(PasswordResetRow).where(PasswordResetRow.token_hash == secret_digest(secret))
    )
    if row is None or row.used_at is not None or now >= row.expires_at:
        return None
    return row


def reset_is_valid(session: Session, secret: str, *, clock: Clock) -> bool:
    """Return True if the reset link's secret can still be used."""
    return _live_reset(session, secret, clock.now()) is not None


def use_reset(session: Session, secret: str, *, clock: Clock, password: str) -> UserInfo:
    """Set a new password through a reset link, used up by this; every session of the user
    ends and a lock is lifted. NotFound if the link is unknown, used or expired;
    ValidationFailed if the password breaks the policy."""
    now = clock.now()
    reset = _live_reset(session, secret, now)
    if reset is None:
        raise NotFound("the reset link is unknown, used or expired")
    row = session.get(UserRow, reset.user_id)
    if row is None or row.disabled_at is not None:
        raise NotFound("the reset link is unknown, used or expired")
    store_password(session, row, password, clock=clock)
    reset.used_at = now
    actor = f"user:{row.id}:{row.email}"
    audit_user(session, clock, actor, "user.reset_password", row, None, note="by e-mailed link")
    return user_info(row)
