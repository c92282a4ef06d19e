"""The one permission check: every role against every action, own and foreign organisation."""

from __future__ import annotations

import pytest

from vardeild.access.model import Action, Principal, Role, authorize, may
from vardeild.core.errors import NotFound, PermissionDenied

OWN, OTHER = 1, 2


def test_member_reaching_for_another_organisation_gets_not_found() -> None:
    for role in (Role.MEMBER_ADMIN, Role.MEMBER_USER):
        principal = Principal("m", role, OWN)
        for action in Action:
            with pytest.raises(NotFound):
                authorize(principal, action, OTHER)


def test_member_grants_on_own_organisation() -> None:
    admin = Principal("a", Role.MEMBER_ADMIN, OWN)
    user = Principal("u", Role.MEMBER_USER, OWN)
    assert {a for a in Action if may(admin, a, OWN)} == {
        Action.READ,
        Action.PROPOSE,
        Action.READ_AUDIT,
        Action.MANAGE_TOKENS,
    }
    assert {a for a in Action if may(user, a, OWN)} == {Action.READ}
    # Without an organisation, a member action would reach across the constituency.
    assert not may(admin, Action.READ_AUDIT)
    assert not may(admin, Action.LIST_ALL)


def test_cert_roles() -> None:
    assert all(may(Principal("x", Role.CERT_ADMIN), a, OTHER) for a in Action)
    analyst = Principal("x", Role.CERT_ANALYST)
    assert not may(analyst, Action.MANAGE_TOKENS)
    assert may(analyst, Action.DECIDE, OTHER)
    readonly = Principal("x", Role.CERT_READONLY)
    writes = {Action.EDIT, Action.PROPOSE, Action.DECIDE, Action.IMPORT, Action.MANAGE_TOKENS}
    for action in writes:
        with pytest.raises(PermissionDenied):
            authorize(readonly, action, OTHER)


def test_principals_are_consistent() -> None:
    with pytest.raises(ValueError, match="no member organisation"):
        Principal("x", Role.CERT_ADMIN, OWN)
    with pytest.raises(ValueError, match="needs its organisation"):
        Principal("x", Role.MEMBER_USER)
