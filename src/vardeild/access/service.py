"""API tokens: issue, authenticate, list and revoke. Every change is audited."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from vardeild.access.model import Action, Principal, Role, authorize
from vardeild.access.tables import ApiTokenRow
from vardeild.audit.service import record_change
from vardeild.core.clock import Clock
from vardeild.core.errors import NotFound, ValidationFailed
from vardeild.core.secrets import secret_digest
from vardeild.core.text import clean_text

TOKEN_PREFIX = "vdt_"  # noqa: S105 - a marker that makes leaked tokens greppable, not a secret
# Writing last_used_at on every request would turn reads into writes; a minute's precision is
# what anyone reviewing tokens needs.
_LAST_USED_PRECISION = timedelta(minutes=1)


@dataclass(frozen=True)
class TokenInfo:
    """A token as listed: never its secret."""

    id: int
    name: str
    prefix: str
    role: Role
    organisation_id: int | None
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class IssuedToken:
    """A newly issued token: the secret is shown this once and never stored."""

    info: TokenInfo
    secret: str


def _info(row: ApiTokenRow) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        role=Role(row.role),
        organisation_id=row.organisation_id,
        created_by=row.created_by,
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


def issue_token(
    session: Session,
    principal: Principal,
    *,
    clock: Clock,
    name: str,
    role: Role,
    organisation_id: int | None,
    expires_at: datetime | None = None,
) -> IssuedToken:
    """Return a new token for role (scoped to organisation_id for member roles).

    Raises ValidationFailed for a bad name or scope, PermissionDenied if the principal may not
    issue it (a member admin issues member tokens for its own organisation only).
    """
    try:
        name = clean_text(name, max_length=200)
    except ValueError as exc:
        raise ValidationFailed.one("token", "name", str(exc)) from exc
    if not name:
        raise ValidationFailed.one("token", "name", "is required")
    if role.is_cert and organisation_id is not None:
        raise ValidationFailed.one("token", "organisation", "a CERT token has no organisation")
    if not role.is_cert and organisation_id is None:
        raise ValidationFailed.one("token", "organisation", f"a {role.value} token needs one")
    authorize(principal, Action.MANAGE_TOKENS, organisation_id)
    if not principal.is_cert and role.is_cert:
        # A member admin must never mint a token above its own station.
        raise ValidationFailed.one("token", "role", "a member may only issue member tokens")
    if expires_at is not None and expires_at <= clock.now():
        raise ValidationFailed.one("token", "expires_at", "lies in the past")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiTokenRow(
        name=name,
        prefix=secret[:12],
        secret_hash=secret_digest(secret),
        role=role.value,
        organisation_id=organisation_id,
        created_by=principal.actor,
        created_at=clock.now(),
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    record_change(
        session,
        clock=clock,
        actor=principal.actor,
        action="token.issue",
        entity_type="api_token",
        entity_id=row.id,
        organisation_id=organisation_id,
        before=None,
        after={"name": name, "role": role.value, "prefix": row.prefix},
    )
    return IssuedToken(info=_info(row), secret=secret)


def authenticate(session: Session, secret: str, *, clock: Clock) -> Principal | None:
    """Return the principal a bearer secret stands for, or None if unknown, expired or revoked."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    digest = secret_digest(secret)
    row = session.scalar(select(ApiTokenRow).where(ApiTokenRow.secret_hash == digest))
    if row is None or not hmac.compare_digest(row.secret_hash, digest):
        return None
    now = clock.now()
    if row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        return None
    if row.last_used_at is None or now - row.last_used_at >= _LAST_USED_PRECISION:
        row.last_used_at = now
    return Principal(
        actor=f"token:{row.id}:{row.name}",
        role=Role(row.role),
        organisation_id=row.organisation_id,
    )


def list_tokens(session: Session, principal: Principal) -> list[TokenInfo]:
    """Return the tokens the principal may manage: all for CERT admins, its own org's else."""
    query = select(ApiTokenRow).order_by(ApiTokenRow.id)
    if principal.is_cert:
        authorize(principal, Action.MANAGE_TOKENS)
    else:
        authorize(principal, Action.MANAGE_TOKENS, principal.organisation_id)
        query = query.where(ApiTokenRow.organisation_id == principal.organisation_id)
    return [_info(row) for row in session.scalars(query)]


def revoke_token(
    session: Session, principal: Principal, token_id: int, *, clock: Clock
) -> TokenInfo:
    """Revoke a token and return it; NotFound if it does not exist or is not the caller's to see."""
    row = session.get(ApiTokenRow, token_id)
    if row is None or (not principal.is_cert and row.organisation_id != principal.organisation_id):
        raise NotFound(f"token {token_id} not found")
    authorize(principal, Action.MANAGE_TOKENS, row.organisation_id)
    if row.revoked_at is None:
        row.revoked_at = clock.now()
        record_change(
            session,
            clock=clock,
            actor=principal.actor,
            action="token.revoke",
            entity_type="api_token",
            entity_id=row.id,
            organisation_id=row.organisation_id,
            before={"revoked_at": None},
            after={"revoked_at": row.revoked_at.isoformat()},
        )
    return _info(row)
