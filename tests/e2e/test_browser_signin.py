"""Real Chromium (Debian's, through Selenium and chromedriver) signs in to the portal served by
uvicorn on loopback: password, then a TOTP code, then the home page; a screenshot of each step
goes to test-artifacts/. The fixtures, and when they skip, are in conftest.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from support.portal import PortalUser, current_code, make_user
from vardeild.platform import Platform

pytestmark = pytest.mark.slow


def test_sign_in_with_totp_in_chromium(
    served: tuple[str, Platform],
    browser: object,
    arrive: Callable[[str], None],
    artifacts: Path,
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver

    assert isinstance(browser, WebDriver)

    base, platform = served
    user: PortalUser = make_user(platform, display_name="Ada <b>Analytiker</b>")

    browser.get(f"{base}/portal")  # not signed in: sent to the sign-in page
    arrive("/signin")
    browser.find_element(By.ID, "email").send_keys(user.email)
    browser.find_element(By.ID, "password").send_keys(user.password)
    browser.save_screenshot(str(artifacts / "portal-signin-1-password.png"))
    browser.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()

    arrive("/signin/totp")
    browser.find_element(By.ID, "code").send_keys(current_code(user, platform.clock))
    browser.save_screenshot(str(artifacts / "portal-signin-2-totp.png"))
    browser.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()

    arrive("/portal")
    who = browser.find_element(By.ID, "who").text
    assert who == f"Ada <b>Analytiker</b> <{user.email}>"  # shown as text, not markup
    assert browser.find_element(By.ID, "role").text == "CERT analyst"  # Accept-Language: en
    cookie = browser.get_cookie("vardeild_session")
    assert cookie is not None
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    browser.save_screenshot(str(artifacts / "portal-signin-3-home.png"))

    browser.find_element(By.CSS_SELECTOR, "header button[type=submit]").click()
    arrive("/signin")
    browser.get(f"{base}/portal")
    arrive("/signin")
