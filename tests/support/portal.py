"""Helpers for the portal's tests: users made through the accounts service, the CSRF token of
a rendered form, sign-in through the real pages, and reset mails read from the maildir."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from pathlib import Path

from fastapi.testclient import TestClient

from support.factories import CERT_ADMIN
from vardeild.access.model import Role
from vardeild.accounts import service as accounts
from vardeild.accounts.model import new_totp_secret, totp_code
from vardeild.core.clock import Clock
from vardeild.platform import Platform
from vardeild.web.pages.context import build_state

PASSWORD = "fjell-og-fjord-2026"
_TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


@dataclass(frozen=True)
class PortalUser:
    """A user the test made, with its password and TOTP secret (when enrolled)."""

    id: int
    email: str
    password: str
    totp_secret: str | None


def make_user(
    platform: Platform,
    *,
    email: str = "analytiker@cert.example",
    display_name: str = "Ada Analytiker",
    role: Role = Role.CERT_ANALYST,
    organisation_id: int | None = None,
    totp: bool = True,
    password: str = PASSWORD,
) -> PortalUser:
    """Return a new user made through the service, enrolled in TOTP unless totp is False."""
    secret = new_totp_secret() if totp else None
    with platform.session() as session:
        user = accounts.create_user(
            session, CERT_ADMIN, clock=platform.clock, email=email, display_name=display_name,
            role=role, organisation_id=organisation_id, password=password,
        )  # fmt: skip
        if secret is not None:
            # Enrolment itself is tested through the account page; here it is a given, sealed
            # under the key the app on this platform uses.
            config = build_state(platform).config
            accounts.enrol_totp_secret(session, user.id, secret, config=config)
    return PortalUser(id=user.id, email=email, password=password, totp_secret=secret)


def csrf_token(html: str) -> str:
    """Return the CSRF token of the first form in html."""
    found = _TOKEN.search(html)
    assert found, f"no CSRF token in the page: {html[:300]}"
    return found.group(1)


def post_form(client: TestClient, get_path: str, post_path: str, data: dict[str, str]) -> object:
    """GET get_path, then POST data to post_path with the page's CSRF token."""
    token = csrf_token(client.get(get_path).text)
    return client.post(post_path, data={"csrf_token": token, **data}, follow_redirects=False)


def current_code(user: PortalUser, clock: Clock) -> str:
    """Return the user's TOTP code now."""
    assert user.totp_secret is not None
    return totp_code(user.totp_secret, clock.now())


def sign_in(
    client: TestClient, user: PortalUser, clock: Clock, *, landing: str = "/portal"
) -> None:
    """Sign in through the pages (password, then the TOTP code when enrolled) and check the
    browser is sent to landing (the page it asked for while signed out, else the home page)."""
    token = csrf_token(client.get("/signin").text)
    answer = client.post(
        "/signin",
        data={"csrf_token": token, "email": user.email, "password": user.password},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    if user.totp_secret is not None:
        assert answer.headers["location"] == "/signin/totp"
        token = csrf_token(client.get("/signin/totp").text)
        answer = client.post(
            "/signin/totp",
            data={"csrf_token": token, "code": current_code(user, clock)},
            follow_redirects=False,
        )
        assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == landing


def mails(maildir: Path) -> list[Message]:
    """Return the messages in the maildir's new/ folder, oldest first."""
    folder = maildir / "new"
    if not folder.exists():
        return []
    paths = sorted(folder.iterdir(), key=lambda p: p.stat().st_mtime_ns)
    return [message_from_bytes(p.read_bytes()) for p in paths]


def reset_link(message: Message) -> str:
    """Return the path of the reset link in a reset mail."""
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    found = re.search(r"https?://[^/\s]+(/reset/\S+)", body.decode("utf-8"))
    assert found, body
    return found.group(1)
