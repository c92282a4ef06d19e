"""Escaping: every free-text field of member B holds script payloads (the tenancy world built
with markup), and every page of the portal, read by the CERT and by B's own admin, shows them as
text — never as markup a browser would run. tests/e2e/test_browser_escaping.py proves in real
Chromium that none runs."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from support.page_walk import PAGES
from support.portal import sign_in
from support.tenancy import World, build_world, portal_users
from support.web import TokenMaker
from vardeild.platform import Platform

# Two ways markup gets in: a script element, and an attribute breaking out of its quotes.
MARKUP = '<script>window.xss=1</script>"><img src=x onerror="window.xss=2">'
RAW = ("<script>window.xss", "<img src=x onerror")
ESCAPED = "&lt;script&gt;window.xss=1&lt;/script&gt;"
READERS = ("cert_admin", "b_admin")


@pytest.fixture
def world(platform: Platform, token: TokenMaker) -> World:
    """Members A and B, every free-text field of B ending with MARKUP."""
    return build_world(platform, token, markup=MARKUP)


def page_reads(w: World) -> list[tuple[str, dict[str, str]]]:
    """Return every GET page of the walk's table with its path filled in for B, and query."""
    reads = []
    for (method, path), calls in sorted(PAGES.items()):
        if method != "GET":
            continue
        for call in calls:
            reads.append((path.format(**call.path(w)), call.query(w)))
    return reads


def test_no_page_shows_the_markup_as_markup(app: FastAPI, platform: Platform, world: World) -> None:
    users = portal_users(platform, world)
    shown_escaped: set[str] = set()
    for reader in READERS:
        browser = TestClient(app)
        sign_in(browser, users[reader], platform.clock)
        for url, query in page_reads(world):
            answer = browser.get(url, params=query, follow_redirects=False)
            assert answer.status_code < 500, f"{url} as {reader}: {answer.status_code}"
            if not answer.headers.get("content-type", "").startswith("text/html"):
                continue  # a CSV or PDF is no page a browser runs (CSV cells: csv_safe)
            for raw in RAW:
                assert raw not in answer.text, f"{url} as {reader} shows {raw!r} unescaped"
            if ESCAPED in answer.text:
                shown_escaped.add(url)
    # The test sees the payloads where B's data is shown (else it could not fail).
    assert len(shown_escaped) >= 2, shown_escaped
