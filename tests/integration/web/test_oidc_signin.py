"""Sign-in with OpenID Connect against a real provider: the npm package oidc-provider (8.x, in
tests/support/oidc_provider, installed by scripts/bootstrap.sh --test) run by Node on a
loopback port. Its development login and consent pages are filled as a browser would; the
portal is driven through its pages. Skips when Node or the provider is not installed, or fails
instead under VARDEILD_REQUIRE_OIDC=1 (CI)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from support.factories import CERT_ADMIN
from support.oidc_provider import CLIENT_ID, CLIENT_SECRET, running_provider
from support.portal import make_user, sign_in
from vardeild.access.model import Role
from vardeild.accounts import service as accounts
from vardeild.accounts.oidc import Pending, open_pending, pending_key, seal_pending
from vardeild.accounts.tables import UserIdentityRow
from vardeild.audit.tables import AuditRow
from vardeild.core.clock import FixedClock
from vardeild.platform import Platform
from vardeild.settings import Settings
from vardeild.web.pages.context import SESSION_COOKIE, build_state
from vardeild.web.pages.oidc import COOKIE

CALLBACK = "http://testserver/signin/oidc/callback"
ANNA = "anna@member-a.example"
DOMAIN = "testserver.local"  # where the test client keeps the portal's cookies
ACCOUNTS = {
    "anna": {"email": ANNA, "email_verified": True, "name": "Anna Test"},
    "stranger": {"email": "stranger@elsewhere.example", "email_verified": True},
    "unverified": {"email": "ulla@member-a.example", "email_verified": False},
    "disabled": {"email": "dina@member-a.example", "email_verified": True},
}


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    """The issuer URL of a real oidc-provider on a free loopback port, for the module."""
    with running_provider(CALLBACK, ACCOUNTS) as url:
        yield url


@pytest.fixture
def settings(tmp_path: Path, issuer: str) -> Settings:
    """Settings with the test provider configured (on loopback, so private addresses are
    allowed) and the portal at the test client's address."""
    return Settings(
        data_dir=tmp_path / "data",
        notify_public_url="http://testserver",
        oidc_issuer=issuer,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
        oidc_provider_name="Sektor-ID",
        oidc_allow_private=True,
    )


@pytest.fixture
def clock() -> FixedClock:
    """The real time, fixed: the provider's tokens are checked against it."""
    return FixedClock(datetime.now(UTC))


@pytest.fixture
def anna(platform: Platform, make_org: object) -> int:
    """A member user whose address is the provider's account anna, with TOTP enrolled."""
    org = make_org()  # type: ignore[operator]
    return make_user(
        platform, email=ANNA, display_name="Anna Lokal", role=Role.MEMBER_USER,
        organisation_id=org["id"],
    ).id  # fmt: skip


_FORM = re.compile(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', re.S)
_HIDDEN = re.compile(r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"')


@dataclass
class Flow:
    """A sign-in in progress: the callback the provider sent the browser to, and the sealed
    pending cookie Vardeild set."""

    callback: str
    pending_cookie: str


def _at_provider(http: httpx.Client, url: str, login: str) -> str:
    """Return the callback URL the provider redirects to after its login and consent pages,
    filled as a browser would (any password signs in)."""
    for _ in range(12):
        if url.startswith(CALLBACK):
            return url
        answer = http.get(url)
        while answer.status_code in (302, 303):
            url = urljoin(url, answer.headers["location"])
            if url.startswith(CALLBACK):
                return url
            answer = http.get(url)
        form = _FORM.search(answer.text)
        assert form is not None, (
            f"no form at the provider: {answer.status_code} {answer.text[:300]}"
        )
        action, body = unescape(form.group(1)), form.group(2)
        data = {name: unescape(value) for name, value in _HIDDEN.findall(body)}
        if data.get("prompt") == "login":
            data |= {"login": login, "password": "any"}
        posted = http.post(urljoin(url, action), data=data)
        assert posted.status_code in (302, 303), posted.text[:300]
        url = urljoin(url, posted.headers["location"])
    raise AssertionError("the provider never sent the browser back")


def _start(client: TestClient, login: str) -> Flow:
    answer = client.get("/signin/oidc", follow_redirects=False)
    assert answer.status_code == 303, answer.text
    pending = answer.cookies.get(COOKIE)
    assert pending
    with httpx.Client(follow_redirects=False, timeout=10) as http:
        callback = _at_provider(http, answer.headers["location"], login)
    return Flow(callback=callback, pending_cookie=pending)


def _finish(client: TestClient, flow: Flow, **change: str) -> httpx.Response:
    parts = urlsplit(flow.callback)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | change
    client.cookies.set(COOKIE, flow.pending_cookie, domain=DOMAIN)
    return client.get(parts.path, params=query, follow_redirects=False)


def _audit(platform: Platform, action: str) -> list[AuditRow]:
    with platform.session() as session:
        return list(session.scalars(select(AuditRow).where(AuditRow.action == action)))


def test_signs_in_the_linked_user_with_a_fresh_session(
    client: TestClient, platform: Platform, anna: int
) -> None:
    client.cookies.set(SESSION_COOKIE, "planted-by-an-attacker", domain=DOMAIN)
    flow = _start(client, "anna")
    answer = _finish(client, flow)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/portal"
    session_id = answer.cookies.get(SESSION_COOKIE)
    assert session_id
    assert session_id != "planted-by-an-attacker"
    home = client.get("/portal")
    assert home.status_code == 200
    assert ANNA in home.text
    # The pending sign-in is gone from the browser.
    assert COOKIE not in client.cookies
    links = _audit(platform, "user.link_identity")
    assert [(row.entity_id, row.after["subject"]) for row in links] == [(str(anna), "anna")]
    sign_ins = [row for row in _audit(platform, "user.sign_in") if row.entity_id == str(anna)]
    assert [row.after for row in sign_ins] == [
        {"method": "oidc", "issuer": platform.settings.oidc_issuer}
    ]

    # Signed out and in again: the identity is linked already, so no second link.
    client.cookies.clear()
    again = _finish(client, _start(client, "anna"))
    assert again.status_code == 303
    assert again.headers["location"] == "/portal"
    assert again.cookies.get(SESSION_COOKIE) != session_id
    assert len(_audit(platform, "user.link_identity")) == 1
    with platform.session() as session:
        rows = session.scalars(select(UserIdentityRow)).all()
        assert [(r.user_id, r.subject) for r in rows] == [(anna, "anna")]


def test_the_sign_in_page_offers_the_provider(client: TestClient) -> None:
    page = client.get("/signin")
    assert 'href="/signin/oidc"' in page.text
    assert "Sektor-ID" in page.text


def test_without_a_provider_there_is_no_button_and_no_route(
    client: TestClient, platform: Platform
) -> None:
    platform.settings.oidc_issuer = ""
    assert "/signin/oidc" not in client.get("/signin").text
    assert client.get("/signin/oidc", follow_redirects=False).status_code == 404
    assert client.get("/signin/oidc/callback?code=c&state=s").status_code == 404


def test_a_malformed_role_map_is_a_clear_page_not_a_crash(
    client: TestClient, platform: Platform
) -> None:
    platform.settings.oidc_role_map = "cert-admins=boss"
    answer = client.get("/signin/oidc", follow_redirects=False)
    assert answer.status_code == 503
    assert "identity provider" in answer.text or "Identitetsleverandøren" in answer.text


def test_a_wrong_state_is_refused(client: TestClient, anna: int) -> None:
    answer = _finish(client, _start(client, "anna"), state="not-the-state")
    assert answer.status_code == 400
    assert SESSION_COOKIE not in answer.cookies
    assert client.get("/portal", follow_redirects=False).headers["location"] == "/signin"


def test_a_callback_without_the_pending_cookie_is_refused(client: TestClient, anna: int) -> None:
    flow = _start(client, "anna")
    client.cookies.clear()
    answer = client.get(flow.callback.removeprefix("http://testserver"), follow_redirects=False)
    assert answer.status_code == 400
    assert "Start again" in answer.text or "Start på nytt" in answer.text


def test_a_replayed_code_is_refused(client: TestClient, anna: int) -> None:
    flow = _start(client, "anna")
    assert _finish(client, flow).status_code == 303
    client.cookies.clear()
    # The same callback, with the same pending cookie an attacker kept: the provider refuses
    # the code a second time.
    replay = _finish(client, flow)
    assert replay.status_code == 401
    assert SESSION_COOKIE not in replay.cookies


def _resealed(platform: Platform, flow: Flow, **change: str) -> Flow:
    key = pending_key(build_state(platform).key)
    pending = open_pending(flow.pending_cookie, key, now=int(platform.clock.now().timestamp()))
    assert pending is not None
    fields = {**pending.__dict__, **change}
    return Flow(callback=flow.callback, pending_cookie=seal_pending(Pending(**fields), key))


def test_a_wrong_pkce_verifier_is_refused(
    client: TestClient, platform: Platform, anna: int
) -> None:
    flow = _resealed(platform, _start(client, "anna"), verifier="x" * 64)
    answer = _finish(client, flow)
    assert answer.status_code == 401
    assert SESSION_COOKIE not in answer.cookies


def test_a_nonce_mismatch_is_refused(client: TestClient, platform: Platform, anna: int) -> None:
    flow = _resealed(platform, _start(client, "anna"), nonce="another-nonce")
    answer = _finish(client, flow)
    assert answer.status_code == 401
    assert SESSION_COOKIE not in answer.cookies
    assert _audit(platform, "user.link_identity") == []


def test_the_provider_refuses_a_request_without_pkce(issuer: str) -> None:
    # What Vardeild never sends, the provider must refuse: the test provider is as strict as
    # the brief's real one.
    query = {
        "response_type": "code", "client_id": CLIENT_ID, "redirect_uri": CALLBACK,
        "scope": "openid email", "state": "s", "nonce": "n",
    }  # fmt: skip
    answer = httpx.get(f"{issuer}/auth", params=query, follow_redirects=False)
    assert answer.status_code in (302, 303)
    error = parse_qs(urlsplit(answer.headers["location"]).query)["error"]
    assert error == ["invalid_request"]


def test_an_identity_without_a_local_account_is_refused_clearly(
    client: TestClient, platform: Platform, anna: int
) -> None:
    answer = _finish(client, _start(client, "stranger"))
    assert answer.status_code == 403
    assert "no account here" in answer.text or "ingen konto" in answer.text
    assert SESSION_COOKIE not in answer.cookies
    with platform.session() as session:
        assert session.scalars(select(UserIdentityRow)).all() == []


def test_an_unverified_address_is_not_linked(
    client: TestClient, platform: Platform, make_org: object
) -> None:
    org = make_org()  # type: ignore[operator]
    make_user(
        platform, email="ulla@member-a.example", display_name="Ulla", role=Role.MEMBER_USER,
        organisation_id=org["id"],
    )  # fmt: skip
    answer = _finish(client, _start(client, "unverified"))
    assert answer.status_code == 403
    assert _audit(platform, "user.link_identity") == []


def test_a_disabled_user_is_refused(
    client: TestClient, platform: Platform, make_org: object
) -> None:
    org = make_org()  # type: ignore[operator]
    dina = make_user(
        platform, email="dina@member-a.example", display_name="Dina", role=Role.MEMBER_USER,
        organisation_id=org["id"],
    )  # fmt: skip
    with platform.session() as session:
        accounts.disable_user(session, CERT_ADMIN, dina.id, clock=platform.clock)
    answer = _finish(client, _start(client, "disabled"))
    assert answer.status_code == 403
    assert "disabled" in answer.text or "deaktivert" in answer.text
    assert SESSION_COOKIE not in answer.cookies
    assert [r for r in _audit(platform, "user.sign_in") if r.entity_id == str(dina.id)] == []


def test_local_totp_is_asked_for_when_configured(
    client: TestClient, platform: Platform, anna: int
) -> None:
    platform.settings.oidc_requires_local_totp = True
    answer = _finish(client, _start(client, "anna"))
    assert answer.status_code == 303
    assert answer.headers["location"] == "/signin/totp"
    assert client.get("/portal", follow_redirects=False).headers["location"] == "/signin"


def test_password_sign_in_still_works_beside_oidc(
    client: TestClient, platform: Platform, make_org: object
) -> None:
    org = make_org()  # type: ignore[operator]
    user = make_user(
        platform, email="pia@member-a.example", display_name="Pia", role=Role.MEMBER_USER,
        organisation_id=org["id"],
    )  # fmt: skip
    sign_in(client, user, platform.clock)
    assert client.get("/portal").status_code == 200
