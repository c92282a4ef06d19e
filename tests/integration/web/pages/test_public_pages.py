"""The public pages: the start page, the key page and the links between them, in bokmål and
English, with nobody signed in."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from support.pgp_keys import shared_cert_home
from support.portal import make_user, sign_in
from vardeild.mail.cert_key import CertKey
from vardeild.platform import Platform

PUBLIC = ("/", "/report", "/key", "/rfc2350")
NORSK_SERVICES = (
    "Overvåking",
    "Informasjonsdeling",
    "Hendelseshåndtering",
    "Sårbarhetsoversikt",
    "Penetrasjonstesting",
    "Rapportering og kontakt",
)
ENGLISH_SERVICES = (
    "Monitoring",
    "Information sharing",
    "Incident handling",
    "Vulnerability overview",
    "Penetration testing",
    "Reporting and contact",
)


@pytest.mark.parametrize("path", PUBLIC)
def test_each_public_page_links_the_others_and_sign_in(client: TestClient, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 200
    links = set(re.findall(r'href="([^"]+)"', answer.text))
    assert {"/", "/report", "/key", "/rfc2350", "/.well-known/security.txt", "/signin"} <= links
    assert "<script" not in answer.text
    # Nobody is signed in: the header has no signed-in links.
    assert 'action="/signout"' not in answer.text
    assert "/console/reports" not in links


def test_the_start_page_lists_every_service_in_both_languages(client: TestClient) -> None:
    norsk = client.get("/").text
    english = client.get("/", headers={"Accept-Language": "en"}).text
    for title in NORSK_SERVICES:
        assert f"<h3>{title}</h3>" in norsk
    for title in ENGLISH_SERVICES:
        assert f"<h3>{title}</h3>" in english
    assert 'href="/api/docs"' in norsk
    assert 'href="/report"' in norsk


def test_the_start_page_shows_the_contact_settings_escaped(
    client: TestClient, platform: Platform
) -> None:
    platform.settings.cert_phone = "+47 99 <b>88</b> 77 66"
    platform.settings.cert_email = "vakt@helsecert.example"
    page = client.get("/").text
    assert "+47 99 &lt;b&gt;88&lt;/b&gt; 77 66" in page
    assert 'href="mailto:vakt@helsecert.example"' in page


def test_signed_in_staff_see_the_reports_link_on_public_pages(
    client: TestClient, platform: Platform
) -> None:
    sign_in(client, make_user(platform), platform.clock)
    page = client.get("/").text
    assert 'href="/console/reports"' in page
    assert 'action="/signout"' in page


def test_the_key_page_without_a_key_says_so(client: TestClient) -> None:
    page = client.get("/key").text
    assert 'id="no-key"' in page
    assert 'href="/pgp-key.asc"' not in page


def test_the_key_page_shows_fingerprint_user_ids_expiry_and_download(
    client: TestClient, platform: Platform
) -> None:
    platform.settings.pgp_home = shared_cert_home()
    info = CertKey.from_settings(platform.settings).info()
    page = client.get("/key", headers={"Accept-Language": "en"}).text
    assert f'<code id="fingerprint">{info.fingerprint}</code>' in page
    for uid in info.user_ids:
        assert uid.replace("<", "&lt;").replace(">", "&gt;") in page
    expected = info.expires_at.strftime("%Y-%m-%d") if info.expires_at else "never"
    assert f'<dd id="expires">{expected}</dd>' in page
    assert 'href="/pgp-key.asc"' in page
    assert f"gpg --fingerprint {info.fingerprint}" in page
    # The download link serves the very key the page describes.
    assert client.get("/pgp-key.asc").status_code == 200
    # And the footer of every public page names the fingerprint.
    assert info.fingerprint in client.get("/").text
