"""The CERT key in public: WKD, /pgp-key.asc and a security.txt that gpg verifies; and the
expiring-keys list for CERT staff."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from support.pgp_keys import (
    AT_TEST_CLOCK,
    SHARED_CERT_EMAIL,
    TestKey,
    gpg,
    key_home,
    make_key,
    shared_cert_home,
)
from support.web import Headers, OrgMaker, TokenMaker
from vardeild.access.model import Role
from vardeild.core.clock import FixedClock
from vardeild.mail.cert_key import CertKey
from vardeild.mail.publish import wkd_hash
from vardeild.platform import Platform

LOCAL, _, DOMAIN = SHARED_CERT_EMAIL.partition("@")
WKD = "/.well-known/openpgpkey"


@pytest.fixture
def with_key(platform: Platform) -> CertKey:
    """The platform's CERT has a key (shared by the test run)."""
    platform.settings.pgp_home = shared_cert_home()
    platform.settings.pgp_public_url = "https://vardeild.helsecert.example"
    platform.settings.pgp_security_policy_url = "https://helsecert.example/cvd"
    return CertKey.from_settings(platform.settings)


@pytest.fixture
def member_home(client: TestClient, with_key: CertKey) -> Iterator[Path]:
    """A member's own GnuPG home holding the key fetched from /pgp-key.asc."""
    with key_home() as home:
        gpg(home, "--import", input=client.get("/pgp-key.asc").content)
        yield home


def test_pgp_key_asc_is_the_armoured_cert_key(client: TestClient, with_key: CertKey) -> None:
    answer = client.get("/pgp-key.asc")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pgp-keys"
    assert answer.text.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    with key_home() as home:
        imported = gpg(home, "--status-fd", "1", "--import", input=answer.content).decode()
    assert f"IMPORT_OK 1 {with_key.fingerprint()}" in imported


def test_wkd_serves_the_binary_key_for_the_cert_address(
    client: TestClient, with_key: CertKey
) -> None:
    for path in (f"{WKD}/hu/{wkd_hash(LOCAL)}", f"{WKD}/{DOMAIN}/hu/{wkd_hash(LOCAL)}"):
        answer = client.get(path, params={"l": LOCAL})
        assert answer.status_code == 200, path
        assert answer.headers["content-type"] == "application/octet-stream"
        assert answer.headers["access-control-allow-origin"] == "*"
        assert answer.content == with_key.export_public(armor=False)
        assert not answer.content.startswith(b"-----")  # binary, not armoured
        with key_home() as home:
            listed = gpg(
                home,
                "--with-colons",
                "--import-options",
                "show-only",
                "--import",
                input=answer.content,
            ).decode()
        assert with_key.fingerprint() in listed
        assert SHARED_CERT_EMAIL in listed
    for path in (
        f"{WKD}/hu/{wkd_hash('someone-else')}",
        f"{WKD}/other.example/hu/{wkd_hash(LOCAL)}",
        f"{WKD}/other.example/policy",
    ):
        assert client.get(path).status_code == 404, path


def test_wkd_policy_files_are_there_and_empty(client: TestClient, with_key: CertKey) -> None:
    for path in (f"{WKD}/policy", f"{WKD}/{DOMAIN}/policy"):
        answer = client.get(path)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/plain")
        assert answer.content == b""


def test_security_txt_is_clear_signed_and_verifies(
    client: TestClient, with_key: CertKey, member_home: Path, platform: Platform
) -> None:
    answer = client.get("/.well-known/security.txt")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/plain; charset=utf-8"
    assert answer.text.startswith("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n")
    with tempfile.TemporaryDirectory() as scratch:
        signed = Path(scratch, "security.txt")
        signed.write_bytes(answer.content)
        status = gpg(member_home, "--status-fd", "1", "--verify", str(signed)).decode()
        content = gpg(member_home, "--decrypt", str(signed)).decode()
    assert f"VALIDSIG {with_key.fingerprint()}" in status
    assert content.startswith(f"# {platform.settings.cert_name}: sikkerhetskontakt / security")
    fields = [line for line in content.splitlines() if line and not line.startswith("#")]
    base = "https://vardeild.helsecert.example"
    assert fields == [
        f"Contact: mailto:{SHARED_CERT_EMAIL}",
        "Expires: 2027-05-27T00:00:00.000Z",  # the test clock's day + pgp_security_txt_days
        f"Encryption: {base}/pgp-key.asc",
        f"Encryption: openpgp4fpr:{with_key.fingerprint().lower()}",
        "Preferred-Languages: nb, en",
        f"Canonical: {base}/.well-known/security.txt",
        "Policy: https://helsecert.example/cvd",
    ]


def test_security_txt_is_signed_anew_when_the_day_turns(
    client: TestClient, with_key: CertKey, clock: FixedClock
) -> None:
    first = client.get("/.well-known/security.txt").text
    assert client.get("/.well-known/security.txt").text == first  # cached
    clock.advance(timedelta(days=1))
    later = client.get("/.well-known/security.txt").text
    assert "Expires: 2027-05-28T00:00:00.000Z" in later
    assert "Expires: 2027-05-28" not in first


def test_security_txt_without_a_public_url_names_the_requested_site(
    client: TestClient, with_key: CertKey, platform: Platform
) -> None:
    platform.settings.pgp_public_url = None
    text = client.get("/.well-known/security.txt").text
    assert "Canonical: http://testserver/.well-known/security.txt" in text


def test_without_a_cert_key_nothing_is_published(client: TestClient) -> None:
    for path in (
        "/pgp-key.asc",
        "/.well-known/security.txt",
        f"{WKD}/policy",
        f"{WKD}/hu/{wkd_hash(LOCAL)}",
    ):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert "not published an OpenPGP key" in answer.json()["message"]


@pytest.fixture(scope="module")
def soon_expiring() -> Iterator[TestKey]:
    """A contact's key that expires ten days from now."""
    with key_home() as home:
        yield make_key(home, "vakt@snart.example", expire="10d", faked_time=AT_TEST_CLOCK)


def test_expiring_keys_for_cert_staff(
    client: TestClient,
    make_org: OrgMaker,
    cert: Headers,
    token: TokenMaker,
    clock: FixedClock,
    soon_expiring: TestKey,
) -> None:
    org = make_org(
        contacts=[
            {"name": "Vakt", "email": soon_expiring.email, "pgp_key": soon_expiring.public},
            {"name": "Uten nøkkel", "email": "ingen@snart.example"},
        ]
    )
    answer = client.get("/api/v1/pgp/expiring", headers=cert)
    assert answer.status_code == 200
    body = answer.json()
    assert body["days"] == 30
    [item] = body["items"]
    assert item["owner"] == soon_expiring.email
    assert item["fingerprint"] == soon_expiring.fingerprint
    assert item["organisation_id"] == org["id"]
    assert item["expired"] is False
    assert item["days_left"] in {9, 10}  # ten days from when the key was made
    assert client.get("/api/v1/pgp/expiring?days=5", headers=cert).json()["items"] == []

    clock.advance(timedelta(days=11))
    [item] = client.get("/api/v1/pgp/expiring", headers=cert).json()["items"]
    assert item["expired"] is True
    assert item["days_left"] < 0

    member_token = token(Role.MEMBER_ADMIN, org["id"])
    assert client.get("/api/v1/pgp/expiring", headers=member_token).status_code == 403
