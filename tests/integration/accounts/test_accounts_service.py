"""Accounts through the service on the real database: what is stored (hashes only), who may
manage whom, what ends sessions, and the audit trail of every change."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from support.factories import CERT, CERT_ADMIN, member, org_data
from vardeild.access.model import Role
from vardeild.accounts import resets, sessions
from vardeild.accounts import service as accounts
from vardeild.accounts.model import new_totp_secret, open_secret, totp_code, totp_key
from vardeild.accounts.tables import PasswordResetRow, UserRow, UserSessionRow
from vardeild.audit.model import AuditFilter
from vardeild.audit.service import list_entries
from vardeild.core.clock import FixedClock
from vardeild.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from vardeild.members import service

PASSWORD = "fjell-og-fjord-2026"
CONFIG = accounts.AccountsConfig(totp_key=totp_key(b"test portal key"))


def _org(session: Session, clock: FixedClock) -> int:
    created = service.create_organisation(
        session, CERT, org_data(), clock=clock, key_inspector=None
    )
    return int(created["id"])


def _user(
    session: Session,
    clock: FixedClock,
    *,
    email: str = "ada@cert.example",
    role: Role = Role.CERT_ANALYST,
    organisation_id: int | None = None,
) -> accounts.UserInfo:
    return accounts.create_user(
        session, CERT_ADMIN, clock=clock, email=email, display_name="Ada",
        role=role, organisation_id=organisation_id, password=PASSWORD,
    )  # fmt: skip


def test_only_hashes_are_stored(session: Session, clock: FixedClock) -> None:
    user = _user(session, clock, email="  Ada@CERT.example ")
    assert user.email == "ada@cert.example"
    secret = sessions.start_session(
        session, user.id, stage=sessions.STAGE_FULL, clock=clock, config=CONFIG
    )
    made = resets.request_reset(session, user.email, clock=clock, config=CONFIG)
    assert made is not None
    row = session.get(UserRow, user.id)
    assert row is not None
    assert row.password_hash is not None
    assert row.password_hash.startswith("$argon2id$")
    assert PASSWORD not in row.password_hash
    stored_session = session.scalar(select(UserSessionRow))
    stored_reset = session.scalar(select(PasswordResetRow))
    assert stored_session is not None
    assert stored_reset is not None
    assert secret != stored_session.id_hash
    assert made[1] != stored_reset.token_hash
    assert sessions.find_session(session, secret, clock=clock, config=CONFIG) is not None
    assert (
        sessions.find_session(session, stored_session.id_hash, clock=clock, config=CONFIG) is None
    )


def test_bad_input_is_refused_by_name(session: Session, clock: FixedClock) -> None:
    with pytest.raises(ValidationFailed, match="email"):
        _user(session, clock, email="not-an-address")
    with pytest.raises(ValidationFailed, match="organisation"):
        _user(session, clock, role=Role.MEMBER_USER)
    with pytest.raises(ValidationFailed, match="password"):
        accounts.create_user(
            session, CERT_ADMIN, clock=clock, email="b@cert.example", display_name="B",
            role=Role.CERT_ANALYST, organisation_id=None, password="short",
        )  # fmt: skip
    _user(session, clock)
    with pytest.raises(Conflict, match=r"ada@cert\.example"):
        _user(session, clock, email="ADA@cert.example")


def test_a_member_admin_manages_only_its_own_members(session: Session, clock: FixedClock) -> None:
    a = _org(session, clock)
    b = _org(session, clock)
    b_user = _user(session, clock, email="b@b.example", role=Role.MEMBER_USER, organisation_id=b)
    admin_a = member(a)
    own = accounts.create_user(
        session, admin_a, clock=clock, email="u@a.example", display_name="U",
        role=Role.MEMBER_USER, organisation_id=a, password=PASSWORD,
    )  # fmt: skip
    assert [u.id for u in accounts.list_users(session, admin_a)] == [own.id]
    with pytest.raises(PermissionDenied):
        accounts.create_user(
            session, admin_a, clock=clock, email="x@a.example", display_name="X",
            role=Role.CERT_ADMIN, organisation_id=None, password=PASSWORD,
        )  # fmt: skip
    with pytest.raises(NotFound):
        accounts.set_role(
            session, admin_a, b_user.id, clock=clock, role=Role.MEMBER_ADMIN, organisation_id=b
        )
    with pytest.raises(PermissionDenied):
        accounts.set_role(
            session, admin_a, own.id, clock=clock, role=Role.CERT_ADMIN, organisation_id=None
        )
    with pytest.raises(PermissionDenied):
        accounts.list_users(session, member(a, Role.MEMBER_USER))


@pytest.mark.parametrize("change", ["set_role", "disable", "reset_totp", "set_password"])
def test_account_changes_end_sessions_and_are_audited(
    session: Session, clock: FixedClock, change: str
) -> None:
    user = _user(session, clock)
    secret = sessions.start_session(
        session, user.id, stage=sessions.STAGE_FULL, clock=clock, config=CONFIG
    )
    if change == "set_role":
        accounts.set_role(
            session, CERT_ADMIN, user.id, clock=clock, role=Role.CERT_ADMIN, organisation_id=None
        )
    elif change == "disable":
        accounts.disable_user(session, CERT_ADMIN, user.id, clock=clock)
    elif change == "reset_totp":
        accounts.reset_totp(session, CERT_ADMIN, user.id, clock=clock)
    else:
        accounts.set_password(
            session, CERT_ADMIN, user.id, clock=clock, password="annet-passord-42"
        )
    assert sessions.find_session(session, secret, clock=clock, config=CONFIG) is None
    entries, _ = list_entries(session, filters=AuditFilter(action=f"user.{change}"))
    assert len(entries) == 1
    assert entries[0].actor == CERT_ADMIN.actor
    assert entries[0].entity_id == str(user.id)
    assert "password_hash" not in str(entries[0].after)


def test_disabled_user_cannot_sign_in_or_reset(session: Session, clock: FixedClock) -> None:
    user = _user(session, clock)
    accounts.disable_user(session, CERT_ADMIN, user.id, clock=clock)
    result = accounts.check_password(
        session, email=user.email, password=PASSWORD, clock=clock, config=CONFIG
    )
    assert result.outcome is accounts.SignIn.REFUSED
    assert resets.request_reset(session, user.email, clock=clock, config=CONFIG) is None


def test_totp_enrolment_needs_a_code_from_the_secret(session: Session, clock: FixedClock) -> None:
    user = _user(session, clock)
    secret = accounts.begin_totp(session, user.id, config=CONFIG)
    assert accounts.begin_totp(session, user.id, config=CONFIG) == secret  # stable until confirmed
    right = totp_code(secret, clock.now())
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    assert not accounts.confirm_totp(session, user.id, wrong, clock=clock, config=CONFIG)
    assert accounts.confirm_totp(
        session, user.id, totp_code(secret, clock.now()), clock=clock, config=CONFIG
    )
    row = session.get(UserRow, user.id)
    assert row is not None
    assert row.totp_secret is not None
    assert secret not in row.totp_secret  # sealed at rest
    assert open_secret(row.totp_secret, CONFIG.totp_key, user_id=user.id) == secret
    result = accounts.check_password(
        session, email=user.email, password=PASSWORD, clock=clock, config=CONFIG
    )
    assert result.outcome is accounts.SignIn.NEED_TOTP
    # The enrolment's own code cannot be used again to sign in.
    again = accounts.check_totp(
        session, user.id, totp_code(secret, clock.now()), clock=clock, config=CONFIG
    )
    assert again.outcome is accounts.SignIn.REFUSED
    clock.advance(timedelta(seconds=30))
    done = accounts.check_totp(
        session, user.id, totp_code(secret, clock.now()), clock=clock, config=CONFIG
    )
    assert done.outcome is accounts.SignIn.DONE
    entries, _ = list_entries(session, filters=AuditFilter(action="user.enrol_totp"))
    assert len(entries) == 1
    assert new_totp_secret() != secret


def test_sessions_end_at_their_absolute_limit(session: Session, clock: FixedClock) -> None:
    user = _user(session, clock)
    secret = sessions.start_session(
        session, user.id, stage=sessions.STAGE_FULL, clock=clock, config=CONFIG
    )
    for _ in range(int(CONFIG.session_max / timedelta(minutes=20)) - 1):
        clock.advance(timedelta(minutes=20))
        assert sessions.find_session(session, secret, clock=clock, config=CONFIG) is not None
    clock.advance(timedelta(minutes=20))
    assert sessions.find_session(session, secret, clock=clock, config=CONFIG) is None
