"""Which local user a verified OIDC identity is (accounts.oidc_links), on the test database:
linking by (issuer, subject), first links only by a verified address of an allowed domain,
never to an account whose address passed to another subject, disabled and locked users
refused, users created only through an explicit role map, and the local TOTP step when asked
for. Every link and sign-in is audited."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from support.factories import CERT_ADMIN, org_data
from vardeild.access.model import Role
from vardeild.accounts import service as accounts
from vardeild.accounts.oidc import OidcConfig, RoleGrant, VerifiedIdentity
from vardeild.accounts.oidc_links import OidcSignIn, OidcSignInResult, sign_in_with_identity
from vardeild.accounts.tables import UserIdentityRow, UserRow
from vardeild.audit.tables import AuditRow
from vardeild.core.clock import FixedClock
from vardeild.members import service as members
from vardeild.platform import Platform

ISSUER = "https://idp.sector.example"
ADDRESS = "anna@member-a.example"


def _config(**change: Any) -> OidcConfig:
    given: dict[str, Any] = {
        "issuer": ISSUER, "client_id": "vardeild", "client_secret": "s",
        "redirect_uri": "https://vardeild.example/signin/oidc/callback",
    }  # fmt: skip
    return OidcConfig(**{**given, **change})


def _identity(subject: str = "p-1", **change: Any) -> VerifiedIdentity:
    given: dict[str, Any] = {
        "issuer": ISSUER, "subject": subject, "email": ADDRESS, "email_verified": True,
        "name": "Anna", "groups": (),
    }  # fmt: skip
    return VerifiedIdentity(**{**given, **change})


def _org(platform: Platform) -> int:
    with platform.session() as session:
        made = members.create_organisation(
            session, CERT_ADMIN, org_data(), clock=platform.clock,
            key_inspector=platform.key_inspector,
        )  # fmt: skip
    return int(made["id"])


def _user(platform: Platform, email: str = ADDRESS) -> int:
    with platform.session() as session:
        return accounts.create_user(
            session, CERT_ADMIN, clock=platform.clock, email=email, display_name="Anna",
            role=Role.MEMBER_USER, organisation_id=_org(platform),
        ).id  # fmt: skip


def _sign_in(
    platform: Platform, identity: VerifiedIdentity, config: OidcConfig | None = None
) -> OidcSignInResult:
    with platform.session() as session:
        return sign_in_with_identity(
            session, identity, clock=platform.clock, config=config or _config()
        )


def _actions(platform: Platform) -> list[tuple[str, str]]:
    with platform.session() as session:
        rows = session.scalars(select(AuditRow).order_by(AuditRow.id))
        return [(row.action, row.entity_id) for row in rows if row.actor != CERT_ADMIN.actor]


def test_a_verified_address_links_once_and_the_link_holds(platform: Platform) -> None:
    user = _user(platform)
    first = _sign_in(platform, _identity())
    assert first.outcome is OidcSignIn.DONE
    assert first.user is not None
    assert first.user.id == user
    assert _actions(platform) == [("user.link_identity", str(user)), ("user.sign_in", str(user))]
    # The address changed at the provider, and is not even verified: the link is by subject.
    again = _sign_in(platform, _identity(email="new@elsewhere.example", email_verified=False))
    assert again.outcome is OidcSignIn.DONE
    assert [a for a, _ in _actions(platform)].count("user.link_identity") == 1


def test_an_unverified_address_is_not_linked(platform: Platform) -> None:
    _user(platform)
    result = _sign_in(platform, _identity(email_verified=False))
    assert result.outcome is OidcSignIn.NO_ACCOUNT
    assert _actions(platform) == []


def test_no_address_no_link(platform: Platform) -> None:
    _user(platform)
    assert _sign_in(platform, _identity(email=None)).outcome is OidcSignIn.NO_ACCOUNT


def test_linking_by_address_can_be_off(platform: Platform) -> None:
    _user(platform)
    result = _sign_in(platform, _identity(), _config(link_by_email=False))
    assert result.outcome is OidcSignIn.NO_ACCOUNT


def test_only_allowed_domains_are_linked(platform: Platform) -> None:
    _user(platform)
    refused = _sign_in(platform, _identity(), _config(allowed_email_domains=("hf.example",)))
    assert refused.outcome is OidcSignIn.NO_ACCOUNT
    allowed = _config(allowed_email_domains=("member-a.example",))
    assert _sign_in(platform, _identity(), allowed).outcome is OidcSignIn.DONE


def test_an_address_passed_to_another_subject_does_not_open_the_account(
    platform: Platform,
) -> None:
    _user(platform)
    assert _sign_in(platform, _identity("p-1")).outcome is OidcSignIn.DONE
    # The provider gave the address to someone else (a new subject): not the same person.
    assert _sign_in(platform, _identity("p-2")).outcome is OidcSignIn.NO_ACCOUNT
    with platform.session() as session:
        assert [r.subject for r in session.scalars(select(UserIdentityRow))] == ["p-1"]


def test_disabled_and_locked_users_are_refused(platform: Platform, clock: FixedClock) -> None:
    user = _user(platform)
    with platform.session() as session:
        row = session.get(UserRow, user)
        assert row is not None
        row.locked_until = clock.now() + timedelta(minutes=5)
    locked = _sign_in(platform, _identity())
    assert locked.outcome is OidcSignIn.REFUSED
    clock.advance(timedelta(minutes=10))
    assert _sign_in(platform, _identity()).outcome is OidcSignIn.DONE
    with platform.session() as session:
        accounts.disable_user(session, CERT_ADMIN, user, clock=clock)
    assert _sign_in(platform, _identity()).outcome is OidcSignIn.REFUSED
    sign_ins = [a for a, _ in _actions(platform) if a == "user.sign_in"]
    assert len(sign_ins) == 1


def test_nobody_is_created_without_a_role_map(platform: Platform) -> None:
    stranger = _identity(email="new@member-a.example", groups=("cert-admins",))
    assert _sign_in(platform, stranger, _config(role_claim="groups")).outcome is (
        OidcSignIn.NO_ACCOUNT
    )
    with platform.session() as session:
        assert session.scalars(select(UserRow)).all() == []


def test_the_role_map_creates_users_with_the_mapped_role_only(platform: Platform) -> None:
    org = _org(platform)
    config = _config(
        role_claim="groups",
        role_map=(
            RoleGrant("cert-analysts", Role.CERT_ANALYST, None),
            RoleGrant("hf-a", Role.MEMBER_USER, org),
        ),
    )
    member = _sign_in(platform, _identity("m-1", email="m@hf-a.example", groups=("x", "hf-a")))
    assert member.outcome is OidcSignIn.NO_ACCOUNT  # the default config has no map
    member = _sign_in(
        platform, _identity("m-1", email="m@hf-a.example", groups=("x", "hf-a")), config
    )
    assert member.outcome is OidcSignIn.DONE
    assert member.user is not None
    assert (member.user.role, member.user.organisation_id) == (Role.MEMBER_USER, org)
    # A claim value the map does not name gives nothing, CERT-sounding or not.
    admin = _sign_in(
        platform, _identity("a-1", email="a@cert.example", groups=("cert-admins",)), config
    )
    assert admin.outcome is OidcSignIn.NO_ACCOUNT
    actions = [a for a, _ in _actions(platform)]
    assert actions == ["user.create", "user.link_identity", "user.sign_in"]


def test_local_totp_is_asked_for_when_configured_and_enrolled(platform: Platform) -> None:
    user = _user(platform)
    config = _config(requires_local_totp=True)
    assert _sign_in(platform, _identity(), config).outcome is OidcSignIn.DONE  # not enrolled
    with platform.session() as session:
        accounts.enrol_totp_secret(
            session, user, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
            config=accounts.AccountsConfig(totp_key=b"k" * 32),
        )  # fmt: skip
    assert _sign_in(platform, _identity(), config).outcome is OidcSignIn.NEED_TOTP
    assert _sign_in(platform, _identity()).outcome is OidcSignIn.DONE
