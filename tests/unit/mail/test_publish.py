"""The Web Key Directory's names and security.txt's fields, checked against the draft's own
example and against GnuPG's gpg-wks-client."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from vardeild.mail.publish import security_txt, security_txt_expires, wkd_hash, zbase32

NOW = datetime(2026, 11, 28, 12, 30, tzinfo=UTC)


def test_wkd_hash_matches_the_drafts_example() -> None:
    # draft-koch-openpgp-webkey-service §3.1: Joe.Doe@Example.ORG -> .../hu/iy9q119eut...
    assert wkd_hash("Joe.Doe") == "iy9q119eutrkn8s1mk4r39qejnbu3n5q"
    assert wkd_hash("joe.doe") == wkd_hash("JOE.DOE")


def _gpg_wks_client() -> str | None:
    for candidate in ("/usr/lib/gnupg/gpg-wks-client", "/usr/libexec/gpg-wks-client"):
        if Path(candidate).exists():
            return candidate
    return shutil.which("gpg-wks-client")


@pytest.mark.parametrize("local", ["cert", "Joe.Doe", "post+varsel", "sikkerhet-2026", "CERT"])
def test_wkd_hash_agrees_with_gnupg(local: str) -> None:
    tool = _gpg_wks_client()
    if tool is None:
        pytest.skip("gpg-wks-client is not installed")
    printed = subprocess.run(
        [tool, "--print-wkd-hash", f"{local}@example.org"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert printed[0] == wkd_hash(local)


def test_zbase32_of_known_bits() -> None:
    assert zbase32(b"") == ""
    assert zbase32(b"\x00") == "yy"
    assert zbase32(b"\xff") == "9h"  # 11111 111(00)
    assert len(zbase32(bytes(20))) == 32


def test_security_txt_expires_a_set_number_of_days_ahead_capped_by_the_key() -> None:
    assert security_txt_expires(NOW, days=180, key_expires_at=None) == datetime(
        2027, 5, 27, tzinfo=UTC
    )
    key_end = datetime(2027, 1, 10, 8, 0, 0, 123, tzinfo=UTC)
    assert security_txt_expires(NOW, days=180, key_expires_at=key_end) == key_end.replace(
        microsecond=0
    )
    with pytest.raises(ValueError, match="365"):
        security_txt_expires(NOW, days=366, key_expires_at=None)


def test_security_txt_has_the_rfc_9116_fields() -> None:
    text = security_txt(
        cert_name="HelseCERT",
        contacts=["cert@helsecert.example", "https://helsecert.example/kontakt"],
        expires=datetime(2027, 5, 27, tzinfo=UTC),
        base_url="https://vardeild.helsecert.example/",
        fingerprint="ABCDEF0123456789ABCDEF0123456789ABCDEF01",
        policy_url="https://helsecert.example/cvd",
    )
    fields = [line for line in text.splitlines() if not line.startswith("#")]
    assert fields == [
        "Contact: mailto:cert@helsecert.example",
        "Contact: https://helsecert.example/kontakt",
        "Expires: 2027-05-27T00:00:00.000Z",
        "Encryption: https://vardeild.helsecert.example/pgp-key.asc",
        "Encryption: openpgp4fpr:abcdef0123456789abcdef0123456789abcdef01",
        "Preferred-Languages: nb, en",
        "Canonical: https://vardeild.helsecert.example/.well-known/security.txt",
        "Policy: https://helsecert.example/cvd",
    ]
    with pytest.raises(ValueError, match="Contact"):
        security_txt(
            cert_name="X",
            contacts=[],
            expires=NOW,
            base_url="https://x",
            fingerprint="AB",
            policy_url=None,
        )
