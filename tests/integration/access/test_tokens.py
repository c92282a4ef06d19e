"""API tokens: stored hashed, scoped, expiring, revocable, audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from support.factories import CERT, CERT_ADMIN, member, org_data
from vardeild.access import service as tokens
from vardeild.access.model import Role
from vardeild.access.tables import ApiTokenRow
from vardeild.core.clock import FixedClock
from vardeild.core.errors import NotFound, PermissionDenied, ValidationFailed
from vardeild.members import service


def test_token_authenticates_and_only_its_hash_is_stored(
    session: Session, clock: FixedClock
) -> None:
    issued = tokens.issue_token(
        session,
        CERT_ADMIN,
        clock=clock,
        name="sensor",
        role=Role.CERT_READONLY,
        organisation_id=None,
    )
    stored = session.scalar(select(ApiTokenRow).where(ApiTokenRow.id == issued.info.id))
    assert stored is not None
    assert issued.secret not in (stored.secret_hash, stored.prefix)
    assert len(stored.secret_hash) == 64
    principal = tokens.authenticate(session, issued.secret, clock=clock)
    assert principal is not None
    assert principal.role is Role.CERT_READONLY
    assert tokens.authenticate(session, issued.secret + "x", clock=clock) is None
    assert tokens.authenticate(session, "Bearer " + issued.secret, clock=clock) is None


def test_expiry_and_revocation(session: Session, clock: FixedClock) -> None:
    issued = tokens.issue_token(
        session,
        CERT_ADMIN,
        clock=clock,
        name="kort",
        role=Role.CERT_ANALYST,
        organisation_id=None,
        expires_at=clock.now() + timedelta(hours=1),
    )
    assert tokens.authenticate(session, issued.secret, clock=clock) is not None
    clock.advance(timedelta(hours=2))
    assert tokens.authenticate(session, issued.secret, clock=clock) is None
    other = tokens.issue_token(
        session, CERT_ADMIN, clock=clock, name="lang", role=Role.CERT_ANALYST, organisation_id=None
    )
    tokens.revoke_token(session, CERT_ADMIN, other.info.id, clock=clock)
    assert tokens.authenticate(session, other.secret, clock=clock) is None


def test_member_admins_issue_only_their_own_member_tokens(
    session: Session, clock: FixedClock
) -> None:
    a = service.create_organisation(session, CERT, org_data(), clock=clock, key_inspector=None)
    b = service.create_organisation(session, CERT, org_data(), clock=clock, key_inspector=None)
    admin_a = member(a["id"])
    own = tokens.issue_token(
        session, admin_a, clock=clock, name="api", role=Role.MEMBER_USER, organisation_id=a["id"]
    )
    assert own.info.organisation_id == a["id"]
    with pytest.raises(ValidationFailed, match="a CERT token has no organisation"):
        tokens.issue_token(
            session, admin_a, clock=clock, name="x", role=Role.CERT_ADMIN, organisation_id=a["id"]
        )
    with pytest.raises(PermissionDenied):
        tokens.issue_token(
            session, admin_a, clock=clock, name="x", role=Role.CERT_ADMIN, organisation_id=None
        )
    with pytest.raises(NotFound):
        tokens.issue_token(
            session, admin_a, clock=clock, name="x", role=Role.MEMBER_USER, organisation_id=b["id"]
        )
    b_token = tokens.issue_token(
        session, CERT_ADMIN, clock=clock, name="b", role=Role.MEMBER_USER, organisation_id=b["id"]
    )
    assert [t.id for t in tokens.list_tokens(session, admin_a)] == [own.info.id]
    with pytest.raises(NotFound):
        tokens.revoke_token(session, admin_a, b_token.info.id, clock=clock)
    with pytest.raises(PermissionDenied):
        tokens.issue_token(
            session, CERT, clock=clock, name="x", role=Role.CERT_ADMIN, organisation_id=None
        )
