"""Real Chromium (Debian's, through Selenium and chromedriver) in the analysts' console: an
analyst signs in with password and TOTP, opens the dashboard (its charts drawn as inline SVG,
no script), follows the header to the change requests, reads a member's request and approves
it; the member's entry then holds the change, and the audit trail says who approved it. A
screenshot of each step goes to test-artifacts/."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from support.factories import CERT_ADMIN, member
from support.pipeline import add_member, eve_batch, eve_line, make_pipeline
from support.portal import PortalUser, current_code, make_user
from vardeild.audit.model import AuditFilter
from vardeild.audit.service import list_entries
from vardeild.members import changes, service
from vardeild.platform import Platform

pytestmark = pytest.mark.slow


def test_an_analyst_approves_a_change_request_in_chromium(
    served: tuple[str, Platform],
    browser: object,
    arrive: Callable[[str], None],
    artifacts: Path,
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    assert isinstance(browser, WebDriver)
    base, platform = served
    org = add_member(platform, "10.7.0.0/16", name="Fjellby <i>legesenter</i>")
    make_pipeline(platform).ingest(eve_batch([eve_line(dst="10.7.0.9")]))
    with platform.session() as session:
        request = changes.propose_change(
            session, member(org), org, {"domains": {"add": ["ny.fjellby.example"]}},
            comment="Nytt domene for journalsystemet", clock=platform.clock, key_inspector=None,
        )  # fmt: skip
    analyst: PortalUser = make_user(platform, email="ada@cert.example")

    browser.get(f"{base}/console")  # not signed in: to the sign-in page
    arrive("/signin")
    browser.find_element(By.ID, "email").send_keys(analyst.email)
    browser.find_element(By.ID, "password").send_keys(analyst.password)
    browser.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()
    arrive("/signin/totp")
    browser.find_element(By.ID, "code").send_keys(current_code(analyst, platform.clock))
    browser.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()
    arrive("/console")  # back to the page asked for before signing in
    assert browser.find_elements(By.CSS_SELECTOR, 'header a[href="/console"]')
    charts = browser.find_elements(By.CSS_SELECTOR, "section.chart svg.chart")
    assert len(charts) == 2
    assert browser.find_elements(By.CSS_SELECTOR, "#chart-by_member rect.bar")
    assert browser.execute_script("return document.querySelectorAll('script').length") == 0
    assert browser.find_element(By.ID, "pending-total").text == "1"
    browser.save_screenshot(str(artifacts / "console-1-dashboard.png"))

    browser.find_element(By.CSS_SELECTOR, 'header a[href="/console/change-requests"]').click()
    arrive("/console/change-requests")
    browser.save_screenshot(str(artifacts / "console-2-requests.png"))
    browser.find_element(By.LINK_TEXT, str(request.id)).click()
    arrive(f"/console/change-requests/{request.id}")
    assert browser.find_element(By.CSS_SELECTOR, "main a[href^='/console/members/']").text == (
        "Fjellby <i>legesenter</i>"  # the member's name as text, not markup
    )
    assert "ny.fjellby.example" in browser.find_element(By.CSS_SELECTOR, "#diff tr.op-add").text
    browser.find_element(By.ID, "approve-reason").send_keys("Sjekket mot Brønnøysund")
    browser.save_screenshot(str(artifacts / "console-3-request.png"))
    browser.find_element(By.ID, "approve").click()
    WebDriverWait(browser, 15).until(
        expected_conditions.presence_of_element_located((By.ID, "done"))
    )
    assert browser.find_element(By.ID, "status").text == "approved"
    assert not browser.find_elements(By.ID, "approve-form")
    browser.save_screenshot(str(artifacts / "console-4-approved.png"))

    with platform.session() as session:
        entry = service.get_organisation_or_raise(session, CERT_ADMIN, org)
        trail, _ = list_entries(session, filters=AuditFilter(action="change_request.approve"))
    assert "ny.fjellby.example" in [d["name"] for d in entry["domains"]]
    assert len(trail) == 1
    assert analyst.email in trail[0].actor
    assert trail[0].note == "Sjekket mot Brønnøysund"
