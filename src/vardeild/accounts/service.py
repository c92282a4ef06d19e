"""Local accounts' use cases: users (created, listed, changed by an authorised principal),
sign-in (password, then TOTP when enrolled) and TOTP enrolment. Every change to an account is
audited in the same transaction. Sessions are in `sessions`, reset links in `resets`; both are
random secrets of which only the SHA-256 (secret_digest) is stored, so a copy of the database
does not let anyone sign in.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vardeild.access.model import Action, Principal, Role, authorize
from vardeild.accounts import model
from vardeild.accounts.tables import UserRow, UserSessionRow
from vardeild.audit.service import record_change
from vardeild.core.clock import Clock
from vardeild.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from vardeild.core.text import clean_text

# argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): about a quarter of
# argon2-cffi's default cost (RFC 9106's 64 MiB, 3 passes, 4 lanes), which on a small server
# under a burst of sign-ins is the difference between answering and queueing; guessing is held
# back by the lockout and the per-address limit as well. Hashes made with other parameters
# still verify and are re-hashed at the next sign-in.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified against when the address is unknown, so that an unknown address costs the same time
# as a wrong password and the answer's timing does not tell which addresses exist.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class AccountsConfig:
    """What accounts need from the settings."""

    lockout: model.LockoutPolicy = field(default_factory=model.LockoutPolicy)
    session_idle: timedelta = timedelta(minutes=30)
    session_max: timedelta = timedelta(hours=12)
    totp_step_for: timedelta = timedelta(minutes=5)
    reset_valid: timedelta = timedelta(minutes=30)
    # Seals TOTP secrets at rest (accounts.model.totp_key of the portal's key); empty means
    # none, and enrolling or checking a second factor refuses to run.
    totp_key: bytes = field(default=b"", repr=False)

    def sealing_key(self) -> bytes:
        """Return the key that seals TOTP secrets; ValueError when none is configured."""
        if len(self.totp_key) != 32:
            raise ValueError("no key to seal TOTP secrets with (AccountsConfig.totp_key)")
        return self.totp_key


@dataclass(frozen=True)
class UserInfo:
    """A user as shown: never a hash or a secret."""

    id: int
    email: str
    display_name: str
    role: Role
    organisation_id: int | None
    totp_enrolled: bool
    locked_until: datetime | None
    disabled: bool
    created_at: datetime

    @property
    def principal(self) -> Principal:
        """Return the principal the user acts as."""
        return Principal(
            actor=f"user:{self.id}:{self.email}",
            role=self.role,
            organisation_id=self.organisation_id,
        )


class SignIn(StrEnum):
    """How a sign-in step ended."""

    DONE = "done"  # signed in
    NEED_TOTP = "need_totp"  # the password was right; the second factor is next
    REFUSED = "refused"  # wrong address, password or code (the answer never says which)
    LOCKED = "locked"  # too many failures in a row; try again later


@dataclass(frozen=True)
class SignInResult:
    """The outcome of a sign-in step, and the user when the step succeeded."""

    outcome: SignIn
    user: UserInfo | None = None


def user_info(row: UserRow) -> UserInfo:
    """Return the user as shown (no hash, no secret)."""
    return UserInfo(
        id=row.id,
        email=row.email,
        display_name=row.display_name,
        role=Role(row.role),
        organisation_id=row.organisation_id,
        totp_enrolled=row.totp_secret is not None,
        locked_until=row.locked_until,
        disabled=row.disabled_at is not None,
        created_at=row.created_at,
    )


def _snapshot(row: UserRow) -> dict[str, Any]:
    return {
        "email": row.email,
        "display_name": row.display_name,
        "role": row.role,
        "organisation_id": row.organisation_id,
        "totp_enrolled": row.totp_secret is not None,
        "disabled": row.disabled_at is not None,
    }


def audit_user(
    session: Session,
    clock: Clock,
    actor: str,
    action: str,
    row: UserRow,
    before: dict[str, Any] | None,
    note: str = "",
) -> None:
    """Add the audit entry of a change to the user (its state after, never a hash)."""
    record_change(
        session,
        clock=clock,
        actor=actor,
        action=action,
        entity_type="user",
        entity_id=row.id,
        organisation_id=row.organisation_id,
        before=before,
        after=_snapshot(row),
        note=note,
    )


def _clean_email(email: str) -> str:
    email = email.strip().lower()
    local, at, domain = email.partition("@")
    if (
        not at
        or not local
        or "." not in domain
        or len(email) > 254
        or any(c.isspace() for c in email)
    ):
        raise ValidationFailed.one("user", "email", f"{email[:80]!r} is not an e-mail address")
    return email


def _check_scope(role: Role, organisation_id: int | None) -> None:
    if role.is_cert and organisation_id is not None:
        raise ValidationFailed.one("user", "organisation", "a CERT user has no organisation")
    if not role.is_cert and organisation_id is None:
        raise ValidationFailed.one("user", "organisation", f"a {role.value} user needs one")


def _may_manage(principal: Principal, role: Role, organisation_id: int | None) -> None:
    # Managing users is the same grant as managing tokens: CERT admins for anyone, a member
    # admin for its own organisation, never above its own station.
    authorize(principal, Action.MANAGE_TOKENS, organisation_id)
    if not principal.is_cert and role.is_cert:
        raise PermissionDenied("a member may only manage member users")


def _hash_password(password: str, *, email: str, display_name: str) -> str:
    problems = model.password_problems(password, email=email, display_name=display_name)
    if problems:
        raise ValidationFailed.one("user", "password", "; ".join(problems))
    return _HASHER.hash(password)


def _row_or_raise(session: Session, principal: Principal, user_id: int) -> UserRow:
    row = session.get(UserRow, user_id)
    if row is None or (not principal.is_cert and row.organisation_id != principal.organisation_id):
        raise NotFound(f"user {user_id} not found")
    return row


# --- users ----------------------------------------------------------------------------------


def create_user(
    session: Session,
    principal: Principal,
    *,
    clock: Clock,
    email: str,
    display_name: str,
    role: Role,
    organisation_id: int | None,
    password: str | None = None,
) -> UserInfo:
    """Return a new user; ValidationFailed for bad input, Conflict if the address is taken,
    PermissionDenied/NotFound if the principal may not create it."""
    email = _clean_email(email)
    try:
        display_name = clean_text(display_name, max_length=200)
    except ValueError as exc:
        raise ValidationFailed.one("user", "display_name", str(exc)) from exc
    if not display_name:
        raise ValidationFailed.one("user", "display_name", "is required")
    _check_scope(role, organisation_id)
    _may_manage(principal, role, organisation_id)
    now = clock.now()
    row = UserRow(
        email=email,
        display_name=display_name,
        role=role.value,
        organisation_id=organisation_id,
        password_hash=(
            _hash_password(password, email=email, display_name=display_name) if password else None
        ),
        failed_count=0,
        created_at=now,
        password_changed_at=now if password else None,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError as exc:
        raise Conflict(f"a user with the address {email} exists") from exc
    audit_user(session, clock, principal.actor, "user.create", row, None)
    return user_info(row)


def list_users(session: Session, principal: Principal) -> list[UserInfo]:
    """Return the users the principal may manage: all for the CERT, its own members' else."""
    query = select(UserRow).order_by(UserRow.id)
    if principal.is_cert:
        authorize(principal, Action.MANAGE_TOKENS)
    else:
        authorize(principal, Action.MANAGE_TOKENS, principal.organisation_id)
        query = query.where(UserRow.organisation_id == principal.organisation_id)
    return [user_info(row) for row in session.scalars(query)]


def get_user(session: Session, user_id: int) -> UserInfo | None:
    """Return the user with user_id, or None."""
    row = session.get(UserRow, user_id)
    return user_info(row) if row is not None else None


def find_user_id(session: Session, principal: Principal, key: str) -> int:
    """Return the id of the user key names (an id or an e-mail address); NotFound if none."""
    if key.isdigit():
        return _row_or_raise(session, principal, int(key)).id
    row = session.scalar(select(UserRow).where(UserRow.email == key.strip().lower()))
    if row is None:
        raise NotFound(f"user {key} not found")
    return _row_or_raise(session, principal, row.id).id


def set_role(
    session: Session,
    principal: Principal,
    user_id: int,
    *,
    clock: Clock,
    role: Role,
    organisation_id: int | None,
) -> UserInfo:
    """Give the user a new role (and organisation) and end its sessions, so that the new
    privileges start with a fresh session; return the user."""
    row = _row_or_raise(session, principal, user_id)
    _check_scope(role, organisation_id)
    _may_manage(principal, Role(row.role), row.organisation_id)
    _may_manage(principal, role, organisation_id)
    before = _snapshot(row)
    row.role = role.value
    row.organisation_id = organisation_id
    revoke_sessions(session, row.id, now=clock.now())
    audit_user(session, clock, principal.actor, "user.set_role", row, before)
    return user_info(row)


def disable_user(session: Session, principal: Principal, user_id: int, *, clock: Clock) -> UserInfo:
    """Disable the user (no more sign-ins) and end its sessions; return the user."""
    row = _row_or_raise(session, principal, user_id)
    _may_manage(principal, Role(row.role), row.organisation_id)
    if row.disabled_at is None:
        before = _snapshot(row)
        row.disabled_at = clock.now()
        revoke_sessions(session, row.id, now=clock.now())
        audit_user(session, clock, principal.actor, "user.disable", row, before)
    return user_info(row)


def reset_totp(session: Session, principal: Principal, user_id: int, *, clock: Clock) -> UserInfo:
    """Remove the user's second factor (a lost phone) and end its sessions; return the user."""
    row = _row_or_raise(session, principal, user_id)
    _may_manage(principal, Role(row.role), row.organisation_id)
    before = _snapshot(row)
    row.totp_secret = None
    row.totp_pending = None
    row.totp_last_step = None
    revoke_sessions(session, row.id, now=clock.now())
    audit_user(session, clock, principal.actor, "user.reset_totp", row, before)
    return user_info(row)


def set_password(
    session: Session, principal: Principal, user_id: int, *, clock: Clock, password: str
) -> UserInfo:
    """Set the user's password (by an administrator), unlock it and end its sessions."""
    row = _row_or_raise(session, principal, user_id)
    _may_manage(principal, Role(row.role), row.organisation_id)
    store_password(session, row, password, clock=clock)
    audit_user(session, clock, principal.actor, "user.set_password", row, _snapshot(row))
    return user_info(row)


def store_password(session: Session, row: UserRow, password: str, *, clock: Clock) -> None:
    """Set the password (ValidationFailed if it breaks the policy), lift a lock and end every
    session of the user."""
    row.password_hash = _hash_password(password, email=row.email, display_name=row.display_name)
    row.password_changed_at = clock.now()
    row.failed_count = 0
    row.locked_until = None
    revoke_sessions(session, row.id, now=clock.now())


def change_own_password(
    session: Session, user_id: int, *, clock: Clock, current: str, new: str
) -> None:
    """Change the user's own password after checking the current one; every session of the
    user ends (the caller starts a new one for the browser that asked).

    Raises ValidationFailed if current is wrong or new breaks the policy."""
    row = session.get(UserRow, user_id)
    if row is None:
        raise NotFound(f"user {user_id} not found")
    if not _verify(row.password_hash, current):
        raise ValidationFailed.one("user", "current_password", "is not right")
    store_password(session, row, new, clock=clock)
    actor = f"user:{row.id}:{row.email}"
    audit_user(session, clock, actor, "user.change_password", row, _snapshot(row))


# --- sign-in --------------------------------------------------------------------------------


def _verify(stored: str | None, password: str) -> bool:
    if len(password) > model.PASSWORD_MAX:
        return False
    try:
        return _HASHER.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _failed(session: Session, row: UserRow, *, clock: Clock, config: AccountsConfig) -> SignIn:
    now = clock.now()
    state = model.after_failure(
        model.FailureState(row.failed_count, row.locked_until), now, config.lockout
    )
    row.failed_count = state.failures
    newly_locked = state.locked_until != row.locked_until and state.locked_until is not None
    row.locked_until = state.locked_until
    if newly_locked:
        audit_user(
            session, clock, "system", "user.lock", row, None, note="too many failed sign-ins"
        )
        return SignIn.LOCKED
    return SignIn.REFUSED


def check_password(
    session: Session, *, email: str, password: str, clock: Clock, config: AccountsConfig
) -> SignInResult:
    """Return the outcome of the password step: DONE (no TOTP enrolled), NEED_TOTP, REFUSED
    (unknown address, wrong password, disabled) or LOCKED."""
    row = session.scalar(select(UserRow).where(UserRow.email == email.strip().lower()))
    if row is None:
        _verify(None, password)  # the same time as a wrong password
        return SignInResult(SignIn.REFUSED)
    now = clock.now()
    if model.is_locked(model.FailureState(row.failed_count, row.locked_until), now):
        _verify(None, password)
        return SignInResult(SignIn.LOCKED)
    if not _verify(row.password_hash, password):
        return SignInResult(_failed(session, row, clock=clock, config=config))
    if row.disabled_at is not None:
        return SignInResult(SignIn.REFUSED)
    if _HASHER.check_needs_rehash(row.password_hash or ""):
        row.password_hash = _HASHER.hash(password)
    if row.totp_secret is not None:
        return SignInResult(SignIn.NEED_TOTP, user_info(row))
    record_sign_in(session, row, clock)
    return SignInResult(SignIn.DONE, user_info(row))


def record_sign_in(
    session: Session,
    row: UserRow,
    clock: Clock,
    *,
    after: dict[str, Any] | None = None,
    note: str = "",
) -> None:
    """Clear the user's failure count and record the sign-in (after: how, when not by
    password)."""
    row.failed_count = 0
    row.locked_until = None
    record_change(
        session,
        clock=clock,
        actor=f"user:{row.id}:{row.email}",
        action="user.sign_in",
        entity_type="user",
        entity_id=row.id,
        organisation_id=row.organisation_id,
        before=None,
        after=after,
        note=note,
    )


def check_totp(
    session: Session, user_id: int, code: str, *, clock: Clock, config: AccountsConfig
) -> SignInResult:
    """Return the outcome of the TOTP step for a user whose password was right: DONE,
    REFUSED (a wrong or replayed code counts as a failure) or LOCKED."""
    row = session.get(UserRow, user_id)
    if row is None or row.totp_secret is None or row.disabled_at is not None:
        return SignInResult(SignIn.REFUSED)
    now = clock.now()
    if model.is_locked(model.FailureState(row.failed_count, row.locked_until), now):
        return SignInResult(SignIn.LOCKED)
    secret = model.open_secret(row.totp_secret, config.sealing_key(), user_id=row.id)
    if secret is None:
        # Sealed under another key (the portal's key changed): not the user's failure; an
        # administrator resets the second factor (vardeild users reset-totp).
        return SignInResult(SignIn.REFUSED)
    step = model.verify_totp(secret, code, now, last_step=row.totp_last_step)
    if step is None:
        return SignInResult(_failed(session, row, clock=clock, config=config))
    row.totp_last_step = step
    record_sign_in(session, row, clock)
    return SignInResult(SignIn.DONE, user_info(row))


# --- TOTP enrolment ---------------------------------------------------------------------------


def begin_totp(session: Session, user_id: int, *, config: AccountsConfig) -> str:
    """Return the secret to enrol (kept pending, sealed, until confirmed; the same one until
    then)."""
    row = session.get(UserRow, user_id)
    if row is None:
        raise NotFound(f"user {user_id} not found")
    key = config.sealing_key()
    pending = model.open_secret(row.totp_pending, key, user_id=row.id) if row.totp_pending else None
    if pending is None:
        pending = model.new_totp_secret()
        row.totp_pending = model.seal_secret(pending, key, user_id=row.id)
    return pending


def confirm_totp(
    session: Session, user_id: int, code: str, *, clock: Clock, config: AccountsConfig
) -> bool:
    """Return True and enrol the pending secret if code is valid for it; False otherwise."""
    row = session.get(UserRow, user_id)
    if row is None or row.totp_pending is None:
        return False
    pending = model.open_secret(row.totp_pending, config.sealing_key(), user_id=row.id)
    if pending is None:
        return False
    step = model.verify_totp(pending, code, clock.now())
    if step is None:
        return False
    before = _snapshot(row)
    row.totp_secret = row.totp_pending
    row.totp_pending = None
    row.totp_last_step = step
    audit_user(session, clock, f"user:{row.id}:{row.email}", "user.enrol_totp", row, before)
    return True


def enrol_totp_secret(
    session: Session, user_id: int, secret: str, *, config: AccountsConfig
) -> None:
    """Enrol secret as the user's second factor without a code (fixtures and benches that
    know the secret already); the pages always go through begin_totp and confirm_totp."""
    row = session.get(UserRow, user_id)
    if row is None:
        raise NotFound(f"user {user_id} not found")
    row.totp_secret = model.seal_secret(secret, config.sealing_key(), user_id=row.id)


def revoke_sessions(session: Session, user_id: int, *, now: datetime) -> None:
    """Revoke every live session of the user."""
    session.execute(
        update(UserSessionRow)
        .where(UserSessionRow.user_id == user_id, UserSessionRow.revoked_at.is_(None))
        .values(revoked_at=now)
    )
