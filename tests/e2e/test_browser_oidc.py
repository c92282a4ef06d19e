"""Real Chromium signs in to the portal through a real OpenID Connect provider (oidc-provider on
loopback, tests/support/oidc_provider): the button on the sign-in page, the provider's login and
consent pages, back to the portal signed in as the linked local user. Screenshots go to
test-artifacts/. Skips without Chromium or the provider (see their fixtures)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import SecretStr

from support.oidc_provider import CLIENT_ID, CLIENT_SECRET, running_provider
from support.portal import make_user
from vardeild.platform import Platform

pytestmark = pytest.mark.slow


def test_sign_in_through_the_provider_in_chromium(
    served: tuple[str, Platform],
    browser: object,
    arrive: Callable[[str], None],
    artifacts: Path,
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support.wait import WebDriverWait

    assert isinstance(browser, WebDriver)
    base, platform = served
    user = make_user(platform, email="ada@cert.example", display_name="Ada Analytiker")
    claims = {"email": user.email, "email_verified": True, "name": "Ada"}
    with running_provider(f"{base}/signin/oidc/callback", {"ada": claims}) as issuer:
        settings = platform.settings  # read at each request, so the running app follows
        settings.notify_public_url = base
        settings.oidc_issuer = issuer
        settings.oidc_client_id = CLIENT_ID
        settings.oidc_client_secret = SecretStr(CLIENT_SECRET)
        settings.oidc_provider_name = "Sektor-ID"
        settings.oidc_allow_private = True

        browser.get(f"{base}/signin")
        arrive("/signin")
        button = browser.find_element(By.CSS_SELECTOR, 'main a[href="/signin/oidc"]')
        assert "Sektor-ID" in button.text
        button.click()

        WebDriverWait(browser, 15).until(lambda b: b.current_url.startswith(issuer))
        browser.find_element(By.NAME, "login").send_keys("ada")
        browser.find_element(By.NAME, "password").send_keys("any password")
        browser.save_screenshot(str(artifacts / "portal-oidc-1-provider-login.png"))
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        WebDriverWait(browser, 15).until(
            lambda b: b.find_elements(By.CSS_SELECTOR, "input[name=prompt][value=consent]")
        )
        browser.save_screenshot(str(artifacts / "portal-oidc-2-provider-consent.png"))
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

        arrive("/portal")
        assert user.email in browser.find_element(By.ID, "who").text
        assert browser.get_cookie("vardeild_oidc") is None  # the pending sign-in is spent
        browser.save_screenshot(str(artifacts / "portal-oidc-3-home.png"))
