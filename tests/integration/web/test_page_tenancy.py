"""The page walk: every page of the portal, called as A's member admin and member user, as each
CERT role and anonymously, with B's ids — each answers as the table says, and nothing of B's is
shown to, or changed by, anyone outside the CERT.

The table is tests/support/page_walk (one module per area of the portal). With ROUTES of
test_tenancy.py (the API walk by token) it must cover every route the app serves.

The app, the world and the signed-in browsers are made once per backend for the whole module;
each test runs in a SAVEPOINT rolled back after it, with copies of the browsers' cookies
(tests/support/shared_world.py), and its teardown proves the world whole again.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import Engine

from support.page_walk import PAGES
from support.page_walk.model import PageCall
from support.portal import csrf_token, sign_in
from support.shared_world import SharedWorld, copy_browser, shared_world
from support.tenancy import World, assert_no_canary, portal_users, state_of_b
from vardeild.platform import Platform

ROLES = ("anonymous", "a_admin", "a_user", "cert_readonly", "cert_analyst", "cert_admin")
OUTSIDERS = ("anonymous", "a_admin", "a_user")
_PARAM = re.compile(r"\{(\w+)\}")


def _sign_in_everyone(shared: SharedWorld) -> None:
    """Sign a browser in through the real pages for each role but the anonymous one."""
    users = portal_users(shared.platform, shared.world)
    browsers = {}
    for role in ROLES[1:]:
        browser = TestClient(shared.app)
        sign_in(browser, users[role], shared.platform.clock)
        browsers[role] = browser
    shared.extra.update(users=users, browsers=browsers)


@pytest.fixture(scope="module")
def shared(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedWorld]:
    """The app, the world and a signed-in browser per role, made once per backend."""
    data_dir = tmp_path_factory.mktemp("page-tenancy") / "data"
    with shared_world(engine, data_dir, prepare=_sign_in_everyone) as built:
        yield built


@pytest.fixture(autouse=True)
def isolated(shared: SharedWorld) -> Iterator[None]:
    """Run the test in a savepoint of the shared world; afterwards prove the world whole."""
    with shared.isolated():
        yield
    shared.check_back()


@pytest.fixture
def platform(shared: SharedWorld, isolated: None) -> Platform:
    """The shared platform."""
    return shared.platform


@pytest.fixture
def app(shared: SharedWorld) -> FastAPI:
    """The shared app (building one takes seconds)."""
    return shared.app


@pytest.fixture
def world(shared: SharedWorld, isolated: None) -> World:
    """Members A and B as tests/support/tenancy.py describes."""
    return shared.world


@pytest.fixture
def clients(shared: SharedWorld, isolated: None) -> dict[str, TestClient]:
    """A browser per role, signed in through the real pages (anonymous: not signed in): this
    test's own, holding copies of the signed-in browsers' cookies."""
    browsers = {"anonymous": TestClient(shared.app)}
    for role in ROLES[1:]:
        browsers[role] = copy_browser(shared.app, shared.extra["browsers"][role])
    return browsers


def send_page(client: TestClient, method: str, path: str, call: PageCall, w: World) -> Response:
    """Call the page as call says; a POST carries the CSRF token of the caller's session."""
    params = call.path(w)
    missing = set(_PARAM.findall(path)) - set(params)
    assert not missing, f"{method} {path}: the table gives no value for {sorted(missing)}"
    url = path.format(**params)
    if method == "GET":
        return client.get(url, params=call.query(w), follow_redirects=False)
    form = {"csrf_token": _csrf_token(client), **(call.form(w) if call.form else {})}
    return client.request(method, url, params=call.query(w), data=form, follow_redirects=False)


# The CSRF token a browser's forms carry, by the browser's cookies: the app derives it from the
# CSRF seed and session cookies and its own key alone, so the copies each test makes of a
# signed-in browser need not read a page before every POST. The cookies' random values tell
# the apps of the two backends apart.
_TOKENS: dict[tuple[tuple[str, str], ...], str] = {}


def _csrf_token(client: TestClient) -> str:
    """Return the CSRF token of the client's session, read from a form when not known yet
    (which on a first visit also sets the seed cookie)."""
    known = _TOKENS.get(_cookies(client))
    if known is not None:
        return known
    token = csrf_token(client.get("/account" if _signed_in(client) else "/signin").text)
    _TOKENS[_cookies(client)] = token
    return token


def _cookies(client: TestClient) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(client.cookies.items()))


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


def test_a_test_s_sign_out_and_failed_sign_ins_stay_with_it(
    clients: dict[str, TestClient], shared: SharedWorld
) -> None:
    """A test that signs its browser out, and reaches the limit of failed sign-ins, leaves the
    next test's browsers signed in and its sign-ins welcome (each test runs as these blocks)."""
    limit = shared.app.state.portal.signin_failures.limit
    wrong = {"email": "nobody@walk.example", "password": "x"}
    with shared.isolated():
        browser = clients["a_admin"]
        assert _signed_in(browser)
        signout = PageCall(form=lambda w: {})
        assert send_page(browser, "POST", "/signout", signout, shared.world).status_code == 303
        assert not _signed_in(browser)
        signin = PageCall(form=lambda w: wrong)
        statuses = [
            send_page(clients["anonymous"], "POST", "/signin", signin, shared.world).status_code
            for _ in range(limit + 1)
        ]
        assert statuses == [401] * limit + [429]
    shared.check_back()
    assert _signed_in(copy_browser(shared.app, shared.extra["browsers"]["a_admin"]))
    sign_in(TestClient(shared.app), shared.extra["users"]["a_user"], shared.clock)
