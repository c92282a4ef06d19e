"""OpenID Connect sign-in, the accounts side: which local user a verified identity is.

An identity already linked (by its issuer and subject) is that user. A first-time identity is
linked to the local user with the same e-mail address only when the provider says the address
is verified (and its domain is allowed); with a role map configured, someone with no local
user is created with the role their claim maps to — never otherwise, and a CERT role only when
the map says so explicitly. A disabled or locked user cannot sign in this way either. Linking
and signing in are audited (`user.link_identity`, `user.create`, `user.sign_in` with method
oidc).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vardeild.accounts import model
from vardeild.accounts.oidc import OidcConfig, RoleGrant, VerifiedIdentity
from vardeild.accounts.service import UserInfo, audit_user, record_sign_in, user_info
from vardeild.accounts.tables import UserIdentityRow, UserRow
from vardeild.audit.service import record_change
from vardeild.core.clock import Clock


class OidcSignIn(StrEnum):
    """How an OIDC sign-in ended on our side."""

    DONE = "done"  # signed in
    NEED_TOTP = "need_totp"  # signed in at the provider; the local second factor is next
    NO_ACCOUNT = "no_account"  # no local user is (or may be linked to) this identity
    REFUSED = "refused"  # the local user is disabled or locked


@dataclass(frozen=True)
class OidcSignInResult:
    """The outcome, and the user when there is one."""

    outcome: OidcSignIn
    user: UserInfo | None = None


def _actor(identity: VerifiedIdentity) -> str:
    return f"oidc:{identity.issuer}:{identity.subject}"[:200]


def _grant_for(identity: VerifiedIdentity, config: OidcConfig) -> RoleGrant | None:
    for grant in config.role_map:
        if grant.value in identity.groups:
            return grant
    return None


def _linkable_email(identity: VerifiedIdentity, config: OidcConfig) -> str | None:
    if identity.email is None or not identity.email_verified:
        return None
    return identity.email if config.email_domain_allowed(identity.email) else None


def _create(
    session: Session, identity: VerifiedIdentity, email: str, grant: RoleGrant, clock: Clock
) -> UserRow | None:
    row = UserRow(
        email=email,
        display_name=identity.name or email,
        role=grant.role.value,
        organisation_id=grant.organisation_id,
        password_hash=None,
        failed_count=0,
        created_at=clock.now(),
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return None  # made meanwhile by another request: the next sign-in links it
    audit_user(
        session, clock, _actor(identity), "user.create", row, None,
        note=f"created at first OIDC sign-in from the claim value {grant.value!r}",
    )  # fmt: skip
    return row


def _link(session: Session, identity: VerifiedIdentity, row: UserRow, clock: Clock) -> None:
    now = clock.now()
    session.add(
        UserIdentityRow(
            user_id=row.id,
            issuer=identity.issuer,
            subject=identity.subject,
            email=identity.email or "",
            created_at=now,
            last_used_at=now,
        )
    )
    session.flush()
    record_change(
        session,
        clock=clock,
        actor=_actor(identity),
        action="user.link_identity",
        entity_type="user",
        entity_id=row.id,
        organisation_id=row.organisation_id,
        before=None,
        after={"issuer": identity.issuer, "subject": identity.subject, "email": row.email},
    )


def _has_identity_at(session: Session, row: UserRow, identity: VerifiedIdentity) -> bool:
    found = session.scalar(
        select(UserIdentityRow.id).where(
            UserIdentityRow.user_id == row.id, UserIdentityRow.issuer == identity.issuer
        )
    )
    return found is not None


def _find_or_link(
    session: Session, identity: VerifiedIdentity, *, clock: Clock, config: OidcConfig
) -> UserRow | None:
    linked = session.scalar(
        select(UserIdentityRow).where(
            UserIdentityRow.issuer == identity.issuer, UserIdentityRow.subject == identity.subject
        )
    )
    if linked is not None:
        linked.last_used_at = clock.now()
        return session.get(UserRow, linked.user_id)
    email = _linkable_email(identity, config)
    if email is None:
        return None
    row = session.scalar(select(UserRow).where(UserRow.email == email))
    if row is not None and (not config.link_by_email or _has_identity_at(session, row, identity)):
        # A user linked to another subject of this provider already: the address has passed
        # to someone else there (recycled), and it must not open this account.
        return None
    if row is None:
        grant = _grant_for(identity, config)
        if grant is None:
            return None
        row = _create(session, identity, email, grant, clock)
        if row is None:
            return None
    _link(session, identity, row, clock)
    return row


def sign_in_with_identity(
    session: Session, identity: VerifiedIdentity, *, clock: Clock, config: OidcConfig
) -> OidcSignInResult:
    """Return the outcome of signing in as the verified identity: DONE (audited as
    `user.sign_in`, method oidc), NEED_TOTP (oidc_requires_local_totp and a TOTP enrolled),
    NO_ACCOUNT or REFUSED (disabled or locked)."""
    row = _find_or_link(session, identity, clock=clock, config=config)
    if row is None:
        return OidcSignInResult(OidcSignIn.NO_ACCOUNT)
    state = model.FailureState(row.failed_count, row.locked_until)
    if row.disabled_at is not None or model.is_locked(state, clock.now()):
        return OidcSignInResult(OidcSignIn.REFUSED, user_info(row))
    if config.requires_local_totp and row.totp_secret is not None:
        return OidcSignInResult(OidcSignIn.NEED_TOTP, user_info(row))
    record_sign_in(
        session, row, clock, after={"method": "oidc", "issuer": identity.issuer}, note="method=oidc"
    )
    return OidcSignInResult(OidcSignIn.DONE, user_info(row))
