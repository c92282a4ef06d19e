"""Portal users managed from the portal: a member admin adds users to its own organisation
(whatever the form names), who choose their own password through the e-mailed link; it
disables them, resets their second factor and changes their role, never another organisation's
users nor a CERT role; other roles are refused; a CERT admin manages anyone."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from support.factories import CERT_ADMIN
from support.pipeline import add_member
from support.portal import PortalUser, mails, make_user, post_form, reset_link, sign_in
from vardeild.access.model import Role
from vardeild.accounts import service as accounts
from vardeild.audit.model import AuditFilter
from vardeild.audit.service import list_entries
from vardeild.platform import Platform

NEW_PASSWORD = "tre-fjorder-og-en-fjellrev"


@pytest.fixture
def orgs(platform: Platform) -> tuple[int, int]:
    return add_member(platform, "192.0.2.0/24"), add_member(platform, "198.51.100.0/24")


def _user(platform: Platform, email: str) -> accounts.UserInfo:
    with platform.session() as session:
        found = [u for u in accounts.list_users(session, CERT_ADMIN) if u.email == email]
    assert found, email
    return found[0]


def test_a_member_admin_adds_a_user_who_sets_its_own_password(
    client: TestClient, platform: Platform, orgs: tuple[int, int]
) -> None:
    a, b = orgs
    admin = make_user(
        platform, email="admin@a.example", role=Role.MEMBER_ADMIN, organisation_id=a, totp=False
    )
    sign_in(client, admin, platform.clock)
    page = client.get("/account/users")
    assert page.status_code == 200
    assert 'value="cert_admin"' not in page.text  # no CERT role offered
    added = post_form(
        client, "/account/users", "/account/users",
        {"email": "Ny.Bruker@A.example", "display_name": "Ny <b>Bruker</b>",
         "role": "member_user", "organisation": str(b)},
    )  # fmt: skip
    assert added.status_code == 303, added.text
    made = _user(platform, "ny.bruker@a.example")
    assert (made.organisation_id, made.role) == (a, Role.MEMBER_USER)  # A's, not B's
    listing = client.get("/account/users").text
    assert "Ny &lt;b&gt;Bruker&lt;/b&gt;" in listing

    (message,) = mails(platform.settings.data_dir / "outbox")
    assert message["To"] == "ny.bruker@a.example"
    link = reset_link(message)
    newcomer = TestClient(client.app)
    chosen = post_form(newcomer, link, link, {"new": NEW_PASSWORD, "repeat": NEW_PASSWORD})
    assert chosen.status_code == 200, chosen.text
    sign_in(newcomer, PortalUser(made.id, made.email, NEW_PASSWORD, None), platform.clock)

    with platform.session() as session:
        entries, _ = list_entries(session, filters=AuditFilter(entity_type="user"))
    assert {"user.create", "user.request_reset", "user.reset_password"} <= {
        e.action for e in entries
    }


def test_a_member_admin_manages_its_users_and_no_one_elses(
    client: TestClient, platform: Platform, orgs: tuple[int, int]
) -> None:
    a, b = orgs
    admin = make_user(
        platform, email="admin@a.example", role=Role.MEMBER_ADMIN, organisation_id=a, totp=False
    )
    own = make_user(
        platform, email="kollega@a.example", role=Role.MEMBER_USER, organisation_id=a, totp=True
    )
    foreign = make_user(
        platform, email="fremmed@b.example", role=Role.MEMBER_USER, organisation_id=b, totp=False
    )
    sign_in(client, admin, platform.clock)
    assert "fremmed@b.example" not in client.get("/account/users").text

    for action, data in (("role", {"role": "member_admin"}), ("reset-totp", {}), ("disable", {})):
        path = f"/account/users/{own.id}/{action}"
        answer = post_form(client, "/account/users", path, data)
        assert answer.status_code == 303, f"{action}: {answer.text}"
        refused = post_form(client, "/account/users", f"/account/users/{foreign.id}/{action}", data)
        assert refused.status_code == 404, f"{action} on B's user: {refused.status_code}"
    changed = _user(platform, own.email)
    assert (changed.role, changed.totp_enrolled, changed.disabled) == (
        Role.MEMBER_ADMIN, False, True,
    )  # fmt: skip
    assert not _user(platform, foreign.email).disabled
    upgrade = post_form(
        client, "/account/users", f"/account/users/{own.id}/role", {"role": "cert_admin"}
    )
    assert upgrade.status_code == 403


@pytest.mark.parametrize("role", [Role.MEMBER_USER, Role.CERT_ANALYST, Role.CERT_READONLY])
def test_other_roles_are_refused(
    client: TestClient, platform: Platform, orgs: tuple[int, int], role: Role
) -> None:
    organisation = None if role.is_cert else orgs[0]
    user = make_user(
        platform, email="x@a.example", role=role, organisation_id=organisation, totp=False
    )
    sign_in(client, user, platform.clock)
    assert client.get("/account/users").status_code == 403


def test_a_cert_admin_adds_cert_staff(client: TestClient, platform: Platform) -> None:
    admin = make_user(platform, email="sjef@cert.example", role=Role.CERT_ADMIN, totp=False)
    sign_in(client, admin, platform.clock)
    added = post_form(
        client, "/account/users", "/account/users",
        {"email": "analytiker2@cert.example", "display_name": "Ny Analytiker",
         "role": "cert_analyst", "organisation": ""},
    )  # fmt: skip
    assert added.status_code == 303, added.text
    made = _user(platform, "analytiker2@cert.example")
    assert (made.role, made.organisation_id) == (Role.CERT_ANALYST, None)
