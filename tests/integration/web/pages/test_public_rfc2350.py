"""The RFC 2350 description (HTML and plain text, made from the settings) and security.txt
checked against RFC 9116: every field, a Policy naming the RFC 2350 page, a signature gpg
verifies."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from support.pgp_keys import SHARED_CERT_EMAIL, gpg, key_home, shared_cert_home
from vardeild.mail.cert_key import CertKey
from vardeild.platform import Platform

# The template of RFC 2350's Appendix A, section by section.
SECTIONS = (
    "1. Document Information", "1.1 Date of Last Update", "1.2 Distribution List for Notifications",
    "1.3 Locations where this Document May Be Found", "2. Contact Information",
    "2.1 Name of the Team", "2.2 Address", "2.3 Time Zone", "2.4 Telephone Number",
    "2.5 Facsimile Number", "2.6 Other Telecommunication", "2.7 Electronic Mail Address",
    "2.8 Public Keys and Encryption Information", "2.10 Other Information",
    "2.11 Points of Customer Contact", "3. Charter", "3.1 Mission Statement", "3.2 Constituency",
    "3.3 Sponsorship and/or Affiliation", "3.4 Authority", "4. Policies",
    "4.1 Types of Incidents and Level of Support",
    "4.2 Co-operation, Interaction and Disclosure of Information",
    "4.3 Communication and Authentication", "5. Services", "5.1 Incident Response",
    "5.2 Proactive Activities", "6. Incident Reporting Forms", "7. Disclaimers",
)  # fmt: skip
BASE = "https://vardeild.helsecert.example"


@pytest.fixture
def configured(platform: Platform) -> dict[str, str]:
    """A CERT described in its settings, one value with markup in it."""
    values = {
        "cert_name": "HelseCERT",
        "cert_email": "cert@helsecert.example",
        "cert_phone": "+47 23 00 00 00",
        "cert_address": "Postboks 1 <Sentrum>, 0101 Oslo",
        "cert_timezone": "Europe/Oslo (UTC+1/UTC+2)",
        "cert_hours": "Hverdager 08-16",
        "cert_team_members": "Kari (leder), Ola, Siri",
        "cert_mission": "Styrke helsesektorens digitale motstandskraft.",
        "cert_constituency": "Helseforetak og kommuner i sektoren.",
        "cert_sponsorship": "Finansiert av medlemmene.",
        "cert_authority": "Etter avtale med medlemmene.",
    }
    for name, value in values.items():
        setattr(platform.settings, name, value)
    platform.settings.cert_description_updated = date(2026, 10, 1)
    platform.settings.pgp_public_url = BASE
    return values


def test_the_html_holds_every_section_and_setting_escaped(
    client: TestClient, configured: dict[str, str]
) -> None:
    answer = client.get("/rfc2350")
    assert answer.status_code == 200
    page = answer.text
    for section in SECTIONS:
        assert section.replace("&", "&amp;") in page, section
    assert "2.9 Team Members" in page
    for name, value in configured.items():
        assert value.replace("<", "&lt;").replace(">", "&gt;") in page, name
    assert "<Sentrum>" not in page
    assert "2026-10-01" in page
    assert f"{BASE}/report" in page
    assert 'href="/rfc2350.txt"' in page


def test_the_text_holds_every_section_and_setting(
    client: TestClient, configured: dict[str, str], platform: Platform
) -> None:
    answer = client.get("/rfc2350.txt")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/plain; charset=utf-8"
    body = answer.text
    for section in SECTIONS:
        assert section in body, section
    flat = " ".join(body.split())
    for name, value in configured.items():
        assert value in flat, name  # as written, not HTML-escaped
    assert "&lt;" not in body
    assert f"{BASE}/rfc2350.txt" in flat
    assert "The team has not published an OpenPGP key yet." in flat
    assert max(len(line) for line in body.splitlines()) <= 80
    # Without team members the optional section is left out.
    platform.settings.cert_team_members = ""
    assert "2.9 Team Members" not in client.get("/rfc2350.txt").text


def test_the_description_names_the_cert_key(
    client: TestClient, configured: dict[str, str], platform: Platform
) -> None:
    platform.settings.pgp_home = shared_cert_home()
    fingerprint = CertKey.from_settings(platform.settings).fingerprint()
    flat = " ".join(client.get("/rfc2350.txt").text.split())
    assert f"fingerprint {fingerprint}" in flat
    assert f"{BASE}/pgp-key.asc" in flat


@pytest.fixture
def member_home(client: TestClient, platform: Platform) -> Iterator[Path]:
    platform.settings.pgp_home = shared_cert_home()
    with key_home() as home:
        gpg(home, "--import", input=client.get("/pgp-key.asc").content)
        yield home


def test_security_txt_has_every_rfc_9116_field_and_its_policy_is_rfc_2350(
    client: TestClient, configured: dict[str, str], platform: Platform, member_home: Path
) -> None:
    platform.settings.pgp_security_policy_url = None
    answer = client.get("/.well-known/security.txt")
    assert answer.status_code == 200
    with tempfile.TemporaryDirectory() as scratch:
        signed = Path(scratch, "security.txt")
        signed.write_bytes(answer.content)
        status = gpg(member_home, "--status-fd", "1", "--verify", str(signed)).decode()
        content = gpg(member_home, "--decrypt", str(signed)).decode()
    fingerprint = CertKey.from_settings(platform.settings).fingerprint()
    assert f"VALIDSIG {fingerprint}" in status
    fields: dict[str, list[str]] = {}
    for line in content.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition(": ")
            fields.setdefault(name, []).append(value)
    assert fields["Contact"] == [f"mailto:{SHARED_CERT_EMAIL}"]
    assert len(fields["Expires"]) == 1  # RFC 9116 2.5.5: once, and within a year
    assert fields["Expires"][0] <= "2027-11-28"
    assert f"{BASE}/pgp-key.asc" in fields["Encryption"]
    assert fields["Preferred-Languages"] == ["nb, en"]
    assert fields["Canonical"] == [f"{BASE}/.well-known/security.txt"]
    assert fields["Policy"] == [f"{BASE}/rfc2350"]
    # The policy it names is there, and says how to report.
    assert "Incident Reporting Forms" in client.get("/rfc2350").text
