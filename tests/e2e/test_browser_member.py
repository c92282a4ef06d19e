"""Real Chromium (Debian's, through Selenium and chromedriver) as a member's user on the portal
served by uvicorn on loopback: signs in with password and TOTP, opens its alerts from the
header, reads one alert, then types another member's alert into the address bar and gets the
not-found page with none of that member's data. A screenshot of each step goes to
test-artifacts/. The fixtures, and when they skip, are in conftest.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from support.pipeline import add_member, eve_batch, eve_line, make_pipeline
from support.portal import current_code, make_user
from vardeild.access.model import Role
from vardeild.platform import Platform

pytestmark = pytest.mark.slow

FOREIGN = "Kanari-BETA-e2e"  # every text of B's that the page could show carries it


def test_a_member_views_its_alerts_and_not_anothers_in_chromium(
    served: tuple[str, Platform],
    browser: object,
    arrive: Callable[[str], None],
    artifacts: Path,
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver

    assert isinstance(browser, WebDriver)

    base, platform = served
    a = add_member(platform, "192.0.2.0/24", name="Alfa Sykehus HF")
    add_member(platform, "198.51.100.0/24", name=f"{FOREIGN} Sykehus HF")
    pipeline = make_pipeline(platform)
    own = pipeline.ingest(
        eve_batch([eve_line(dst="192.0.2.10", signature="ALFA SSH-skanning")], batch_key="a")
    ).alert_ids[0]
    foreign = pipeline.ingest(
        eve_batch([eve_line(dst="198.51.100.10", signature=f"{FOREIGN} signatur")], batch_key="b")
    ).alert_ids[0]
    user = make_user(
        platform, email="it@alfa.example", display_name="Ola Medlem",
        role=Role.MEMBER_USER, organisation_id=a,
    )  # fmt: skip

    browser.get(f"{base}/signin")
    arrive("/signin")
    browser.find_element(By.ID, "email").send_keys(user.email)
    browser.find_element(By.ID, "password").send_keys(user.password)
    browser.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()
    arrive("/signin/totp")
    browser.find_element(By.ID, "code").send_keys(current_code(user, platform.clock))
    browser.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()
    arrive("/portal")

    browser.find_element(By.CSS_SELECTOR, 'header a[href="/portal/alerts"]').click()
    arrive("/portal/alerts")
    rows = browser.find_elements(By.CSS_SELECTOR, "#alerts tbody tr")
    assert [row.find_element(By.CSS_SELECTOR, "td a").text for row in rows] == [str(own)]
    assert "ALFA SSH-skanning" in browser.find_element(By.ID, "alerts").text
    assert FOREIGN not in browser.page_source
    browser.save_screenshot(str(artifacts / "portal-member-1-alerts.png"))

    browser.find_element(By.CSS_SELECTOR, f'#alerts a[href="/portal/alerts/{own}"]').click()
    arrive(f"/portal/alerts/{own}")
    assert browser.find_element(By.ID, "signature").text == "ALFA SSH-skanning"
    assert "192.0.2.10" in browser.find_element(By.ID, "events").text
    assert browser.find_element(By.ID, "acknowledge").is_displayed()
    browser.save_screenshot(str(artifacts / "portal-member-2-alert.png"))

    browser.get(f"{base}/portal/alerts/{foreign}")
    arrive(f"/portal/alerts/{foreign}")
    heading = browser.find_element(By.TAG_NAME, "h1").text
    assert heading in {"Not found", "Finnes ikke"}
    assert browser.find_element(By.CSS_SELECTOR, "p.message").text == f"alert {foreign} not found"
    source = browser.page_source
    assert FOREIGN not in source
    assert "198.51.100" not in source
    browser.save_screenshot(str(artifacts / "portal-member-3-foreign-alert.png"))

    # Exactly the page of an alert that does not exist.
    browser.get(f"{base}/portal/alerts/999999")
    arrive("/portal/alerts/999999")
    assert browser.find_element(By.TAG_NAME, "h1").text == heading
    assert browser.find_element(By.CSS_SELECTOR, "p.message").text == "alert 999999 not found"
