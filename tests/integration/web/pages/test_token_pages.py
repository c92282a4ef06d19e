"""API tokens managed from the portal: issued and revoked through the page, they work (and
stop working) against the API; a member admin manages its own organisation's tokens only and
never gives a CERT role; other roles are refused."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from support.factories import CERT_ADMIN
from support.pipeline import add_member
from support.portal import make_user, post_form, sign_in
from vardeild.access import service as access
from vardeild.access.model import Role
from vardeild.audit.model import AuditFilter
from vardeild.audit.service import list_entries
from vardeild.platform import Platform

_SECRET = re.compile(r'<code id="secret" class="uri">(vdt_[A-Za-z0-9_-]+)</code>')


def _issue_for(platform: Platform, organisation: int | None, name: str, role: Role) -> int:
    with platform.session() as session:
        issued = access.issue_token(
            session, CERT_ADMIN, clock=platform.clock, name=name, role=role,
            organisation_id=organisation,
        )  # fmt: skip
        return issued.info.id


@pytest.fixture
def orgs(platform: Platform) -> tuple[int, int]:
    return add_member(platform, "192.0.2.0/24"), add_member(platform, "198.51.100.0/24")


def test_a_member_admin_issues_a_token_that_works_and_revokes_it(
    client: TestClient, platform: Platform, orgs: tuple[int, int]
) -> None:
    a, b = orgs
    _issue_for(platform, a, "A sin gamle nøkkel", Role.MEMBER_USER)
    b_token = _issue_for(platform, b, "Bs hemmelige integrasjon", Role.MEMBER_ADMIN)
    admin = make_user(
        platform, email="admin@a.example", role=Role.MEMBER_ADMIN, organisation_id=a, totp=False
    )
    sign_in(client, admin, platform.clock)

    listing = client.get("/account/tokens")
    assert listing.status_code == 200
    assert "A sin gamle nøkkel" in listing.text
    assert "Bs hemmelige" not in listing.text
    assert 'value="cert_admin"' not in listing.text  # no CERT role offered

    issued = post_form(
        client, "/account/tokens", "/account/tokens",
        {"name": "SIEM-integrasjon", "role": "member_user", "expires": "2027-06-01"},
    )  # fmt: skip
    assert issued.status_code == 200, issued.text
    found = _SECRET.search(issued.text)
    assert found, issued.text
    secret = found.group(1)
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200
    assert me.json()["role"] == "member_user"
    assert me.json()["organisation_id"] == a
    assert secret not in client.get("/account/tokens").text  # shown once only

    with platform.session() as session:
        (made,) = [
            t for t in access.list_tokens(session, CERT_ADMIN) if t.name == "SIEM-integrasjon"
        ]
        issued_audit, _ = list_entries(session, filters=AuditFilter(action="token.issue"))
    assert made.organisation_id == a
    assert made.expires_at is not None
    assert made.expires_at.date().isoformat() == "2027-06-01"
    assert (issued_audit[0].actor, issued_audit[0].entity_id) == (
        f"user:{admin.id}:{admin.email}",
        str(made.id),
    )

    revoked = post_form(client, "/account/tokens", f"/account/tokens/{made.id}/revoke", {})
    assert revoked.status_code == 303
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 401
    with platform.session() as session:
        revoke_audit, _ = list_entries(session, filters=AuditFilter(action="token.revoke"))
    assert [entry.entity_id for entry in revoke_audit] == [str(made.id)]

    foreign = post_form(client, "/account/tokens", f"/account/tokens/{b_token}/revoke", {})
    assert foreign.status_code == 404
    assert "Bs hemmelige" not in foreign.text
    with platform.session() as session:
        still = [t for t in access.list_tokens(session, CERT_ADMIN) if t.id == b_token]
    assert still[0].revoked_at is None


def test_a_member_admin_cannot_issue_a_cert_role_nor_for_another_organisation(
    client: TestClient, platform: Platform, orgs: tuple[int, int]
) -> None:
    a, b = orgs
    admin = make_user(
        platform, email="admin@a.example", role=Role.MEMBER_ADMIN, organisation_id=a, totp=False
    )
    sign_in(client, admin, platform.clock)
    cert_role = post_form(
        client, "/account/tokens", "/account/tokens", {"name": "opp", "role": "cert_admin"}
    )
    assert cert_role.status_code == 403  # as the API answers it
    assert "vdt_" not in cert_role.text
    for_b = post_form(
        client, "/account/tokens", "/account/tokens",
        {"name": "til B", "role": "member_user", "organisation": str(b)},
    )  # fmt: skip
    assert for_b.status_code == 404
    past = post_form(
        client, "/account/tokens", "/account/tokens",
        {"name": "gammel", "role": "member_user", "expires": "2000-01-01"},
    )  # fmt: skip
    assert past.status_code == 422
    with platform.session() as session:
        assert access.list_tokens(session, CERT_ADMIN) == []


@pytest.mark.parametrize("role", [Role.MEMBER_USER, Role.CERT_ANALYST, Role.CERT_READONLY])
def test_roles_that_do_not_manage_tokens_are_refused(
    client: TestClient, platform: Platform, orgs: tuple[int, int], role: Role
) -> None:
    a, _ = orgs
    token = _issue_for(platform, a, "A sin nøkkel", Role.MEMBER_USER)
    user = make_user(
        platform, email="someone@a.example", role=role,
        organisation_id=None if role.is_cert else a, totp=False,
    )  # fmt: skip
    sign_in(client, user, platform.clock)
    assert client.get("/account/tokens").status_code == 403
    revoke = post_form(client, "/account", f"/account/tokens/{token}/revoke", {})
    assert revoke.status_code == 403  # the role may not manage tokens
    with platform.session() as session:
        assert access.list_tokens(session, CERT_ADMIN)[0].revoked_at is None


def test_a_cert_admin_sees_every_token_and_issues_a_cert_token(
    client: TestClient, platform: Platform, orgs: tuple[int, int]
) -> None:
    a, b = orgs
    _issue_for(platform, a, "A sin nøkkel", Role.MEMBER_USER)
    _issue_for(platform, b, "B sin nøkkel", Role.MEMBER_ADMIN)
    admin = make_user(platform, email="admin@cert.example", role=Role.CERT_ADMIN, totp=False)
    sign_in(client, admin, platform.clock)
    listing = client.get("/account/tokens")
    assert "A sin nøkkel" in listing.text
    assert "B sin nøkkel" in listing.text
    issued = post_form(
        client, "/account/tokens", "/account/tokens", {"name": "Analyse", "role": "cert_readonly"}
    )
    assert issued.status_code == 200
    found = _SECRET.search(issued.text)
    assert found, issued.text
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {found.group(1)}"})
    assert me.json()["role"] == "cert_readonly"
    assert me.json()["organisation_id"] is None
