"""Real Chromium fills in the public incident report form (no sign-in) and gets a reference;
then a CERT analyst signs in (password and TOTP) and finds the report, decrypted, in
/console/reports. Screenshots of each step go to test-artifacts/. Fixtures: conftest.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from support.portal import PortalUser, current_code, make_user
from vardeild.platform import Platform

pytestmark = pytest.mark.slow

WHAT = "Phishing mail <script>alert(1)</script> to 40 staff; two typed their passwords."


def test_the_public_reports_and_an_analyst_finds_it(
    served: tuple[str, Platform],
    browser: object,
    arrive: Callable[[str], None],
    artifacts: Path,
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.wait import WebDriverWait

    assert isinstance(browser, WebDriver)
    base, platform = served

    # The public: from the start page to the form.
    browser.get(f"{base}/")
    arrive("/")
    browser.save_screenshot(str(artifacts / "public-report-1-start.png"))
    browser.find_element(By.ID, "report-link").click()
    arrive("/report")
    typed = {
        "name": "Siri Melder",
        "email": "siri@fjordbyen.example",
        "phone": "+47 900 00 000",
        "organisation": "Fjordbyen kommune",
        "what_happened": WHAT,
        "happened_at": "2026-11-28 08:15",
        "affected": "mail.fjordbyen.example, 192.0.2.25",
    }
    for field, value in typed.items():
        browser.find_element(By.ID, field).send_keys(value)
    Select(browser.find_element(By.ID, "tlp")).select_by_value("AMBER+STRICT")
    # The honeypot is there for robots, out of a person's sight.
    assert not browser.find_element(By.ID, "website").is_displayed()
    browser.save_screenshot(str(artifacts / "public-report-2-form.png"))
    browser.find_element(By.ID, "send").click()
    WebDriverWait(browser, 15).until(
        expected_conditions.presence_of_element_located((By.ID, "reference"))
    )
    reference = browser.find_element(By.ID, "reference").text
    assert reference.startswith("VR-2026-")
    assert len(reference) == len("VR-2026-") + 8
    browser.save_screenshot(str(artifacts / "public-report-3-reference.png"))

    # A CERT analyst signs in and finds it.
    analyst: PortalUser = make_user(platform)
    browser.get(f"{base}/signin")
    arrive("/signin")
    browser.find_element(By.ID, "email").send_keys(analyst.email)
    browser.find_element(By.ID, "password").send_keys(analyst.password)
    browser.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()
    arrive("/signin/totp")
    browser.find_element(By.ID, "code").send_keys(current_code(analyst, platform.clock))
    browser.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()
    arrive("/portal")
    browser.find_element(By.CSS_SELECTOR, 'header a[href="/console/reports"]').click()
    arrive("/console/reports")
    browser.save_screenshot(str(artifacts / "public-report-4-list.png"))
    link = browser.find_element(By.LINK_TEXT, reference)
    link.click()
    WebDriverWait(browser, 15).until(expected_conditions.title_contains(reference))
    for field, value in typed.items():
        assert browser.find_element(By.ID, field).text == value, field  # text, not markup
    assert browser.find_element(By.CSS_SELECTOR, "p.tlp").text == "TLP:AMBER+STRICT"
    assert browser.execute_script("return document.querySelectorAll('main script').length") == 0
    browser.save_screenshot(str(artifacts / "public-report-5-opened.png"))

    # Triaged from the page.
    Select(browser.find_element(By.ID, "new-status")).select_by_value("triaged")
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    WebDriverWait(browser, 15).until(
        expected_conditions.text_to_be_present_in_element((By.ID, "status"), "Triaged")
    )
