"""The portal's sign-in pages through the real app and database: password and TOTP, lockout
and its end, the per-address limit, session fixation, sign-out, CSRF on every form, security
headers, escaping, password reset and the language switch."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from support.portal import (
    PASSWORD,
    PortalUser,
    csrf_token,
    current_code,
    mails,
    make_user,
    reset_link,
    sign_in,
)
from vardeild.access.model import Role
from vardeild.app import create_web_app
from vardeild.audit.model import AuditFilter
from vardeild.audit.service import list_entries
from vardeild.core.clock import FixedClock
from vardeild.platform import Platform
from vardeild.settings import Settings
from vardeild.web.pages import PAGE_ROUTERS

SESSION = "vardeild_session"
SCRIPT = "<script>alert('x')</script>"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with a private data directory, a small per-address limit, and the test
    client's address as a trusted proxy."""
    return Settings(
        data_dir=tmp_path / "data",
        portal_address_max_failures=8,
        portal_trusted_proxies="testclient",
    )


@pytest.fixture
def user(platform: Platform) -> PortalUser:
    return make_user(platform)


def _signed_in(client: TestClient) -> bool:
    answer = client.get("/portal", follow_redirects=False)
    return answer.status_code == 200


def _password_step(client: TestClient, email: str, password: str) -> int:
    token = csrf_token(client.get("/signin").text)
    answer = client.post(
        "/signin",
        data={"csrf_token": token, "email": email, "password": password},
        follow_redirects=False,
    )
    return answer.status_code


def test_sign_in_with_password_and_totp_shows_who_and_role(
    client: TestClient, platform: Platform, clock: FixedClock, user: PortalUser
) -> None:
    assert not _signed_in(client)
    assert client.get("/portal").url.path == "/signin"
    sign_in(client, user, clock)
    home = client.get("/portal")
    assert home.status_code == 200
    assert "Ada Analytiker" in home.text
    assert "analytiker@cert.example" in home.text
    assert "CERT-analytiker" in home.text
    with platform.session() as session:
        entries, _ = list_entries(session, filters=AuditFilter(action="user.sign_in"))
    assert [e.entity_id for e in entries] == [str(user.id)]


def test_password_alone_does_not_sign_in_an_enrolled_user(
    client: TestClient, user: PortalUser
) -> None:
    assert _password_step(client, user.email, user.password) == 303
    assert not _signed_in(client)
    assert client.get("/account").url.path == "/signin"


def test_wrong_totp_is_refused(client: TestClient, clock: FixedClock, user: PortalUser) -> None:
    assert _password_step(client, user.email, user.password) == 303
    right = current_code(user, clock)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    token = csrf_token(client.get("/signin/totp").text)
    answer = client.post("/signin/totp", data={"csrf_token": token, "code": wrong})
    assert answer.status_code == 401
    assert "Feil e-postadresse, passord eller kode" in answer.text
    assert not _signed_in(client)


def test_a_totp_code_cannot_be_replayed(
    client: TestClient, platform: Platform, clock: FixedClock, user: PortalUser
) -> None:
    sign_in(client, user, clock)
    other = TestClient(create_web_app(platform))
    assert _password_step(other, user.email, user.password) == 303
    token = csrf_token(other.get("/signin/totp").text)
    answer = other.post(
        "/signin/totp", data={"csrf_token": token, "code": current_code(user, clock)}
    )
    assert answer.status_code == 401


def test_lockout_after_failures_and_unlock_after_the_time(
    client: TestClient, platform: Platform, clock: FixedClock, user: PortalUser
) -> None:
    for _ in range(platform.settings.portal_signin_max_failures):
        assert _password_step(client, user.email, "wrong-password-123") == 401
    # Locked: even the right password is refused, with the same answer as a wrong one.
    token = csrf_token(client.get("/signin").text)
    locked = client.post(
        "/signin", data={"csrf_token": token, "email": user.email, "password": user.password}
    )
    assert locked.status_code == 401
    assert "midlertidig sperret" in locked.text
    clock.advance(timedelta(minutes=platform.settings.portal_lockout_minutes - 1))
    assert _password_step(client, user.email, user.password) == 401
    clock.advance(timedelta(minutes=1))
    sign_in(client, user, clock)
    assert _signed_in(client)
    with platform.session() as session:
        entries, _ = list_entries(session, filters=AuditFilter(action="user.lock"))
    assert len(entries) == 1


def test_wrong_codes_count_towards_the_lockout(
    client: TestClient, platform: Platform, clock: FixedClock, user: PortalUser
) -> None:
    assert _password_step(client, user.email, user.password) == 303
    for _ in range(platform.settings.portal_signin_max_failures - 1):
        token = csrf_token(client.get("/signin/totp").text)
        answer = client.post("/signin/totp", data={"csrf_token": token, "code": "000000"})
        assert answer.status_code == 401
    token = csrf_token(client.get("/signin/totp").text)
    answer = client.post("/signin/totp", data={"csrf_token": token, "code": "000000"})
    assert answer.status_code == 401
    # The pending session ended with the lock: the code step is gone.
    assert client.get("/signin/totp").url.path == "/signin"
    assert _password_step(client, user.email, user.password) == 401


def test_one_address_is_limited_across_accounts(
    client: TestClient, platform: Platform, clock: FixedClock
) -> None:
    limit = platform.settings.portal_address_max_failures
    for i in range(limit):
        assert _password_step(client, f"ukjent{i}@example.no", "wrong-password-123") == 401
    assert _password_step(client, "enda-en@example.no", "wrong-password-123") == 429
    # Another client address (behind the trusted proxy) is not held back.
    other = TestClient(create_web_app(platform), headers={"X-Forwarded-For": "192.0.2.9"})
    assert _password_step(other, "ukjent@example.no", "wrong-password-123") == 401
    clock.advance(timedelta(minutes=15))
    assert _password_step(client, "ukjent@example.no", "wrong-password-123") == 401


def test_session_id_changes_at_each_sign_in_step(
    client: TestClient, clock: FixedClock, user: PortalUser
) -> None:
    # An attacker plants a session id of their own before the victim signs in.
    client.cookies.set(SESSION, "planted-by-the-attacker", domain="testserver.local")
    assert _password_step(client, user.email, user.password) == 303
    pending = client.cookies.get(SESSION)
    assert pending
    assert pending != "planted-by-the-attacker"
    token = csrf_token(client.get("/signin/totp").text)
    answer = client.post(
        "/signin/totp",
        data={"csrf_token": token, "code": current_code(user, clock)},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    full = client.cookies.get(SESSION)
    assert full
    assert full not in {pending, "planted-by-the-attacker"}
    # The pending id does not become signed in.
    replay = TestClient(client.app, cookies={SESSION: pending})
    assert not _signed_in(replay)
    assert _signed_in(client)


def test_signout_revokes_the_session_on_the_server(
    client: TestClient, clock: FixedClock, user: PortalUser
) -> None:
    sign_in(client, user, clock)
    stolen = client.cookies.get(SESSION)
    assert stolen
    token = csrf_token(client.get("/portal").text)
    answer = client.post("/signout", data={"csrf_token": token}, follow_redirects=False)
    assert answer.status_code == 303
    assert not _signed_in(client)
    # The old cookie, kept by someone, no longer works either.
    thief = TestClient(client.app, cookies={SESSION: stolen})
    assert not _signed_in(thief)


def test_idle_sessions_end(client: TestClient, platform: Platform, clock: FixedClock) -> None:
    user = make_user(platform, totp=False)
    sign_in(client, user, clock)
    clock.advance(timedelta(minutes=platform.settings.portal_session_idle_minutes - 1))
    assert _signed_in(client)
    clock.advance(timedelta(minutes=platform.settings.portal_session_idle_minutes))
    assert not _signed_in(client)


# --- CSRF -----------------------------------------------------------------------------------


def _post_routes() -> list[str]:
    paths = [
        route.path
        for router in PAGE_ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute) and route.methods & {"POST", "PUT", "PATCH", "DELETE"}
    ]
    assert len(paths) >= 7
    return sorted(paths)


@pytest.mark.parametrize("path", _post_routes())
def test_every_form_refuses_a_missing_or_wrong_csrf_token(
    client: TestClient, platform: Platform, clock: FixedClock, user: PortalUser, path: str
) -> None:
    sign_in(client, user, clock)
    url = re.sub(r"\{\w+\}", "1", path.replace("{token}", "x" * 32))
    stranger = TestClient(client.app)
    foreign = csrf_token(stranger.get("/signin").text)  # a real token of another browser
    for data in ({}, {"csrf_token": ""}, {"csrf_token": "0" * 64}, {"csrf_token": foreign}):
        answer = client.post(url, data={**data, "code": "000000"}, follow_redirects=False)
        assert answer.status_code == 403, f"{path} with {data}: {answer.status_code}"
        assert "CSRF" in answer.text
    # Refused forms changed nothing: still signed in, nothing audited but the sign-in.
    assert _signed_in(client)
    with platform.session() as session:
        _, total = list_entries(session, filters=AuditFilter(entity_type="user"))
    assert total == 2  # user.create and user.sign_in


def test_a_token_from_before_sign_in_is_refused_after_it(
    client: TestClient, clock: FixedClock, user: PortalUser
) -> None:
    before = csrf_token(client.get("/signin").text)
    sign_in(client, user, clock)
    answer = client.post("/signout", data={"csrf_token": before}, follow_redirects=False)
    assert answer.status_code == 403
    assert _signed_in(client)


# --- headers, cookies and escaping -----------------------------------------------------------


@pytest.mark.parametrize("path", ["/signin", "/reset", "/portal", "/account"])
def test_security_headers_on_pages(
    client: TestClient, clock: FixedClock, user: PortalUser, path: str
) -> None:
    sign_in(client, user, clock)
    answer = client.get(path)
    assert answer.status_code == 200
    csp = answer.headers["content-security-policy"]
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "default-src 'self'" in csp
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert answer.headers["content-type"].startswith("text/html")
    assert "strict-transport-security" not in answer.headers  # plain HTTP: no HSTS
    assert "<script" not in answer.text
    assert " style=" not in answer.text


def test_hsts_and_host_cookies_over_tls(app: FastAPI, clock: FixedClock, user: PortalUser) -> None:
    direct = TestClient(app, base_url="https://portal.example")
    answer = direct.get("/signin")
    assert answer.headers["strict-transport-security"].startswith("max-age=")
    seed = answer.headers["set-cookie"]
    assert seed.startswith("__Host-vardeild_csrf=")
    for flag in ("HttpOnly", "Path=/", "SameSite=lax", "Secure"):
        assert flag.lower() in seed.lower()
    token = csrf_token(answer.text)
    step = direct.post(
        "/signin",
        data={"csrf_token": token, "email": user.email, "password": user.password},
        follow_redirects=False,
    )
    cookie = step.headers["set-cookie"]
    assert cookie.startswith("__Host-vardeild_session=")
    for flag in ("HttpOnly", "Path=/", "SameSite=lax", "Secure"):
        assert flag.lower() in cookie.lower()
    assert "domain=" not in cookie.lower()


def test_hsts_behind_a_trusted_proxy_only(app: FastAPI, platform: Platform) -> None:
    proxied = TestClient(app, headers={"X-Forwarded-Proto": "https"})
    assert "strict-transport-security" in proxied.get("/signin").headers
    # The same header from an address that is not a trusted proxy is not believed.
    platform.settings.portal_trusted_proxies = "192.0.2.1"
    untrusted = TestClient(create_web_app(platform), headers={"X-Forwarded-Proto": "https"})
    answer = untrusted.get("/signin")
    assert "strict-transport-security" not in answer.headers
    assert not answer.headers["set-cookie"].startswith("__Host-")


def test_script_in_a_display_name_is_escaped_everywhere(
    client: TestClient, platform: Platform, clock: FixedClock
) -> None:
    user = make_user(platform, display_name=f"Eve {SCRIPT}", totp=False)
    sign_in(client, user, clock)
    for path in ("/portal", "/account"):
        page = client.get(path)
        assert page.status_code == 200
        assert "Eve &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page.text, path
        assert "<script" not in page.text, path


# --- account page ---------------------------------------------------------------------------


def test_enrol_totp_from_the_account_page(
    client: TestClient, platform: Platform, clock: FixedClock
) -> None:
    user = make_user(platform, totp=False)
    sign_in(client, user, clock)
    page = client.get("/account")
    assert "<svg" in page.text  # the QR code, inline (no script, no data: URI)
    found = re.search(r'id="totp-secret">([A-Z2-7]+)<', page.text)
    assert found
    secret = found.group(1)
    assert f"secret={secret}" in page.text  # the otpauth URI, for typing in
    enrolled = PortalUser(user.id, user.email, user.password, secret)
    token = csrf_token(page.text)
    assert (
        client.post("/account/totp", data={"csrf_token": token, "code": "000000"}).status_code
        == 422
    )
    answer = client.post(
        "/account/totp", data={"csrf_token": token, "code": current_code(enrolled, clock)}
    )
    assert answer.status_code == 200
    assert "Tofaktor er slått på" in answer.text
    assert secret not in answer.text  # never shown again
    clock.advance(timedelta(seconds=30))
    fresh = TestClient(client.app)
    sign_in(fresh, enrolled, clock)  # now asks for the code


def test_change_password_ends_other_sessions(
    client: TestClient, platform: Platform, clock: FixedClock, user: PortalUser
) -> None:
    sign_in(client, user, clock)
    clock.advance(timedelta(seconds=30))  # the next sign-in needs the next code
    elsewhere = TestClient(client.app)
    sign_in(elsewhere, user, clock)
    token = csrf_token(client.get("/account").text)
    new = "ny-og-bedre-passfrase-9"
    weak = client.post(
        "/account/password",
        data={"csrf_token": token, "current": user.password, "new": "kort", "repeat": "kort"},
    )
    assert weak.status_code == 422
    assert "at least 12 characters" in weak.text
    answer = client.post(
        "/account/password",
        data={"csrf_token": token, "current": user.password, "new": new, "repeat": new},
    )
    assert answer.status_code == 200
    assert _signed_in(client)  # this browser got a new session
    assert not _signed_in(elsewhere)
    clock.advance(timedelta(seconds=30))
    sign_in(TestClient(client.app), PortalUser(user.id, user.email, new, user.totp_secret), clock)


# --- password reset -------------------------------------------------------------------------


def _ask_reset(client: TestClient, email: str) -> tuple[int, str]:
    token = csrf_token(client.get("/reset").text)
    answer = client.post("/reset", data={"csrf_token": token, "email": email})
    return answer.status_code, answer.text.replace(token, "")


def test_reset_answer_is_the_same_for_known_and_unknown_addresses(
    client: TestClient, platform: Platform, user: PortalUser
) -> None:
    outbox = platform.settings.data_dir / "outbox"
    known = _ask_reset(client, user.email)
    unknown = _ask_reset(client, "finnes-ikke@cert.example")
    assert known == unknown
    assert known[0] == 200
    sent = mails(outbox)
    assert [m["To"] for m in sent] == [user.email]


def test_reset_link_works_once_and_ends_sessions(
    client: TestClient, platform: Platform, clock: FixedClock, user: PortalUser
) -> None:
    sign_in(client, user, clock)
    _ask_reset(TestClient(client.app), user.email)
    (message,) = mails(platform.settings.data_dir / "outbox")
    link = reset_link(message)
    browser = TestClient(client.app)
    token = csrf_token(browser.get(link).text)
    new = "nytt-passord-fra-lenken-7"
    done = browser.post(link, data={"csrf_token": token, "new": new, "repeat": new})
    assert done.status_code == 200
    assert "Passordet er satt" in done.text
    assert not _signed_in(client)  # the old session ended
    again = browser.post(link, data={"csrf_token": token, "new": new, "repeat": new})
    assert again.status_code == 404
    assert browser.get(link).status_code == 404
    clock.advance(timedelta(seconds=30))
    sign_in(browser, PortalUser(user.id, user.email, new, user.totp_secret), clock)
    with platform.session() as session:
        entries, _ = list_entries(session, filters=AuditFilter(action="user.reset_password"))
    assert len(entries) == 1


def test_reset_link_expires(
    client: TestClient, platform: Platform, clock: FixedClock, user: PortalUser
) -> None:
    _ask_reset(client, user.email)
    (message,) = mails(platform.settings.data_dir / "outbox")
    link = reset_link(message)
    assert client.get(link).status_code == 200
    clock.advance(timedelta(minutes=platform.settings.portal_reset_link_minutes))
    assert client.get(link).status_code == 404
    token = csrf_token(client.get("/reset").text)
    answer = client.post(link, data={"csrf_token": token, "new": PASSWORD, "repeat": PASSWORD})
    assert answer.status_code == 404


# --- language -------------------------------------------------------------------------------


def test_language_from_accept_language_and_the_switch(client: TestClient) -> None:
    assert ">Logg inn</h1>" in client.get("/signin").text
    english = client.get("/signin", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert ">Sign in</h1>" in english.text
    assert 'lang="en"' in english.text
    switched = client.get("/language/en?next=/reset")
    assert switched.url.path == "/reset"
    assert "Send link" in switched.text
    assert client.get("/language/nb?next=https://evil.example/").url.path == "/signin"


def test_member_user_sees_its_organisation(
    client: TestClient, platform: Platform, clock: FixedClock, make_org: object
) -> None:
    org = make_org(name="Kraftverket AS")  # type: ignore[operator]
    user = make_user(
        platform, email="vakt@kraft.example", role=Role.MEMBER_USER, organisation_id=org["id"]
    )
    sign_in(client, user, clock)
    page = client.get("/portal").text
    assert "Kraftverket AS" in page
    assert "Medlemsbruker" in page


def test_after_signing_in_the_browser_goes_back_to_the_page_it_asked_for(
    client: TestClient, clock: FixedClock, user: PortalUser
) -> None:
    """A notice's e-mail links to its page in the portal: a reader who is not signed in signs
    in and lands there, once; the next sign-in goes to the home page."""
    asked = client.get("/portal/notices/7?language=en", follow_redirects=False)
    assert asked.status_code == 303
    assert asked.headers["location"] == "/signin"
    _, location = _through_totp(client, clock, user)
    assert location == "/portal/notices/7?language=en"
    assert "vardeild_return" not in client.cookies
    client.post("/signout", data={"csrf_token": csrf_token(client.get("/portal").text)})
    clock.advance(timedelta(seconds=30))  # a new code: the last one may not be used again
    assert _through_totp(client, clock, user)[1] == "/portal"


def test_a_form_sent_while_signed_out_is_not_returned_to(
    client: TestClient, clock: FixedClock, user: PortalUser
) -> None:
    client.post("/portal/notices/7/acknowledge", data={}, follow_redirects=False)
    assert _through_totp(client, clock, user)[1] == "/portal"


@pytest.mark.parametrize(
    "planted",
    [
        "//evil.example/portal",
        "https://evil.example/portal",
        "/\\evil.example",
        "/portal//evil.example",
        "/signin/totp",
        "/signout",
        "/9portal",
        "/portal/x y",
        "javascript:alert(1)",
        "/portal/" + "a" * 1100,
    ],
)
def test_a_planted_return_cookie_never_leaves_our_pages(
    client: TestClient, clock: FixedClock, user: PortalUser, planted: str
) -> None:
    """The cookie is ours, but a browser's cookies can be set by others (another site on a
    sibling host, a script): whatever it says, only a path of ours is returned to."""
    client.cookies.set("vardeild_return", planted)
    assert _through_totp(client, clock, user)[1] == "/portal"


def _through_totp(client: TestClient, clock: FixedClock, user: PortalUser) -> tuple[int, str]:
    """Sign in (password, then the code); return the last answer's status and location."""
    assert _password_step(client, user.email, user.password) == 303
    token = csrf_token(client.get("/signin/totp").text)
    answer = client.post(
        "/signin/totp",
        data={"csrf_token": token, "code": current_code(user, clock)},
        follow_redirects=False,
    )
    return answer.status_code, answer.headers.get("location", "")
