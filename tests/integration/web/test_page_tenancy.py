"""The page walk: every page of the portal, called as A's member admin and member user, as each
CERT role and anonymously, with B's ids — each answers as the table says, and nothing of B's is
shown to, or changed by, anyone outside the CERT.

The table is tests/support/page_walk (one module per area of the portal). With ROUTES of
test_tenancy.py (the API walk by token) it must cover every route the app serves.
"""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response

from support.page_walk import PAGES
from support.page_walk.model import PageCall
from support.portal import csrf_token, sign_in
from support.tenancy import World, assert_no_canary, build_world, portal_users, state_of_b
from support.web import TokenMaker
from vardeild.platform import Platform

ROLES = ("anonymous", "a_admin", "a_user", "cert_readonly", "cert_analyst", "cert_admin")
OUTSIDERS = ("anonymous", "a_admin", "a_user")
_PARAM = re.compile(r"\{(\w+)\}")


@pytest.fixture
def world(platform: Platform, token: TokenMaker) -> World:
    """Members A and B as tests/support/tenancy.py describes."""
    return build_world(platform, token)


@pytest.fixture
def clients(app: FastAPI, platform: Platform, world: World) -> dict[str, TestClient]:
    """A browser per role, signed in through the real pages (anonymous: not signed in)."""
    users = portal_users(platform, world)
    browsers = {"anonymous": TestClient(app)}
    for role in ROLES[1:]:
        browser = TestClient(app)
        sign_in(browser, users[role], platform.clock)
        browsers[role] = browser
    return browsers


def send_page(client: TestClient, method: str, path: str, call: PageCall, w: World) -> Response:
    """Call the page as call says; a POST carries the CSRF token of the caller's session."""
    params = call.path(w)
    missing = set(_PARAM.findall(path)) - set(params)
    assert not missing, f"{method} {path}: the table gives no value for {sorted(missing)}"
    url = path.format(**params)
    if method == "GET":
        return client.get(url, params=call.query(w), follow_redirects=False)
    token = csrf_token(client.get("/account" if _signed_in(client) else "/signin").text)
    form = {"csrf_token": token, **(call.form(w) if call.form else {})}
    return client.request(method, url, params=call.query(w), data=form, follow_redirects=False)


def _signed_in(client: TestClient) -> bool:
    return client.get("/account", follow_redirects=False).status_code == 200


def _route_id(route: tuple[str, str]) -> str:
    return f"{route[0]} {route[1]}"


@pytest.mark.parametrize("route", sorted(PAGES), ids=_route_id)
def test_every_role_gets_what_the_table_says_and_nothing_of_b(
    clients: dict[str, TestClient], platform: Platform, world: World, route: tuple[str, str]
) -> None:
    method, path = route
    for call in PAGES[route]:
        before = state_of_b(platform, world)
        for role in ROLES:
            what = f"{method} {path} {call.note} as {role}".replace("  ", " ")
            answer = send_page(clients[role], method, path, call, world)
            expected = call.expected(role)
            assert answer.status_code == expected, (
                f"{what}: {answer.status_code} (not {expected}) "
                f"{answer.headers.get('location', '')} {answer.text[:300]}"
            )
            if role in OUTSIDERS:
                sent = [call.query(world), call.form(world) if call.form else None]
                assert_no_canary(answer, world, what, sent)
            if role in (*OUTSIDERS, "cert_readonly"):
                assert state_of_b(platform, world) == before, f"{what} changed B"


def test_signed_in_pages_show_a_nothing_of_b(clients: dict[str, TestClient], world: World) -> None:
    """Every page without parameters, as each of A's people: no canary of B's."""
    lists = [
        (path, call)
        for (method, path), calls in PAGES.items()
        if method == "GET" and "{" not in path
        for call in calls
    ]
    for role in ("a_admin", "a_user"):
        for path, call in lists:
            answer = send_page(clients[role], "GET", path, call, world)
            assert_no_canary(answer, world, f"GET {path} as {role}", [call.query(world)])
