"""Portal sessions: server-side rows found by the SHA-256 of the cookie's random id, with an
idle and an absolute end; revoked on sign-out (and, through the service, on account changes)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from vardeild.accounts.service import AccountsConfig, UserInfo, user_info
from vardeild.accounts.tables import UserRow, UserSessionRow
from vardeild.core.clock import Clock
from vardeild.core.secrets import secret_digest

STAGE_TOTP = "totp"
STAGE_FULL = "full"
# Writing last_seen_at on every page view would turn reads into writes.
_TOUCH_PRECISION = timedelta(minutes=1)


@dataclass(frozen=True)
class ActiveSession:
    """A session found by its cookie."""

    id: int
    stage: str
    user: UserInfo


def start_session(
    session: Session,
    user_id: int,
    *,
    stage: str,
    clock: Clock,
    config: AccountsConfig,
    client: str = "",
) -> str:
    """Return the secret of a new session for the user (the cookie's value)."""
    now = clock.now()
    secret = secrets.token_urlsafe(32)
    lasts = config.totp_step_for if stage == STAGE_TOTP else config.session_max
    session.add(
        UserSessionRow(
            id_hash=secret_digest(secret),
            user_id=user_id,
            stage=stage,
            created_at=now,
            last_seen_at=now,
            expires_at=now + lasts,
            client=client[:64],
        )
    )
    session.flush()
    return secret


def find_session(
    session: Session, secret: str, *, clock: Clock, config: AccountsConfig
) -> ActiveSession | None:
    """Return the live session the secret names, or None when unknown, revoked, past its end,
    idle too long, or its user is disabled."""
    if not secret or len(secret) > 100:
        return None
    row = session.scalar(
        select(UserSessionRow).where(UserSessionRow.id_hash == secret_digest(secret))
    )
    if row is None or row.revoked_at is not None:
        return None
    now = clock.now()
    if now >= row.expires_at or now - row.last_seen_at >= config.session_idle:
        return None
    user = session.get(UserRow, row.user_id)
    if user is None or user.disabled_at is not None:
        return None
    if now - row.last_seen_at >= _TOUCH_PRECISION:
        row.last_seen_at = now
    return ActiveSession(id=row.id, stage=row.stage, user=user_info(user))


def end_session(session: Session, secret: str, *, clock: Clock) -> None:
    """Revoke the session the secret names (signing out); unknown secrets are ignored."""
    row = session.scalar(
        select(UserSessionRow).where(UserSessionRow.id_hash == secret_digest(secret))
    )
    if row is not None and row.revoked_at is None:
        row.revoked_at = clock.now()
