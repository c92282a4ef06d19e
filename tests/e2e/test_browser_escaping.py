"""Real Chromium reads every page of the portal while every free-text field of member B holds
script payloads (tests/integration/web/test_page_escaping.py checks the HTML; this proves the
browser runs none of them): the CERT's admin and B's own admin sign in and open each page of the
page walk's table with B's ids; no payload sets its marker, and no dialog opens."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import pytest

from support.page_walk import PAGES
from support.portal import PortalUser
from support.tenancy import build_world, portal_users
from support.web import token_maker
from vardeild.platform import Platform

pytestmark = pytest.mark.slow

MARKUP = '<script>window.xss=1</script>"><img src=x onerror="window.xss=2">'
_PLANTED = """
return [...document.querySelectorAll('script, [onerror]')]
    .filter(e => (e.textContent + (e.getAttribute('onerror') || '')).includes('window.xss'))
    .length;
"""


def test_no_payload_runs_on_any_page(
    served: tuple[str, Platform],
    browser: object,
    arrive: Callable[[str], None],
    artifacts: Path,
) -> None:
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver

    assert isinstance(browser, WebDriver)
    base, platform = served
    world = build_world(platform, token_maker(platform), markup=MARKUP)
    users = portal_users(platform, world)
    reads = [
        (path.format(**call.path(world)), call.query(world))
        for (method, path), calls in sorted(PAGES.items())
        if method == "GET"
        for call in calls
    ]
    reads = [
        (url, query)
        for url, query in reads
        # These send a signed-in reader elsewhere; the pages they lead to are read anyway.
        if url != "/signin" and not url.startswith(("/language/", "/signin/"))
    ]
    assert len(reads) >= 5
    visited = 0
    for reader in ("cert_admin", "b_admin"):
        user: PortalUser = users[reader]
        browser.delete_all_cookies()
        browser.get(f"{base}/signin")
        arrive("/signin")
        browser.find_element(By.ID, "email").send_keys(user.email)
        browser.find_element(By.ID, "password").send_keys(user.password)
        browser.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()
        arrive("/portal")
        for url, query in reads:
            address = f"{base}{url}" + (f"?{urlencode(query)}" if query else "")
            browser.get(address)
            try:
                dialog = browser.switch_to.alert
            except NoAlertPresentException:
                dialog = None
            assert dialog is None, f"{url} as {reader} opened a dialog: {dialog and dialog.text}"
            marker = browser.execute_script("return window.xss === undefined ? null : window.xss")
            assert marker is None, f"{url} as {reader} ran payload {marker}"
            # The CSP would stop an inline script even if one got in: look for the elements
            # themselves too, so escaping is proven and not only the policy.
            planted = browser.execute_script(_PLANTED)
            assert planted == 0, f"{url} as {reader} holds {planted} planted elements"
            visited += 1
        browser.get(f"{base}/portal")
        browser.save_screenshot(str(artifacts / f"portal-escaping-{reader}.png"))
    assert visited == 2 * len(reads)
