"""Fixtures for the CERT key and PGP/MIME: one CERT key and a few recipients per session,
each in its own GnuPG home under /tmp, their agents stopped at the end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.pgp_keys import TestKey, gpg, key_home, make_key, revoke
from vardeild.mail.cert_key import CertKey
from vardeild.mail.pgpmime import PgpMime

PASSPHRASE = "korrekt hest batteri stift"


@pytest.fixture(scope="session")
def cert_key() -> Iterator[CertKey]:
    """The CERT's key, passphrase-protected, in its own home."""
    with key_home() as home:
        key = CertKey(home / "cert", passphrase=PASSPHRASE)
        key.generate(name="Test-CERT", email="cert@vardeild.example", valid_days=365)
        yield key
        key.stop_agent()


@pytest.fixture(scope="session")
def pgp(cert_key: CertKey) -> PgpMime:
    """PGP/MIME signing with the session's CERT key."""
    return PgpMime(cert_key)


@pytest.fixture(scope="session")
def verifier(cert_key: CertKey) -> Iterator[Path]:
    """A home holding only the CERT's public key, as a member's would."""
    with key_home() as home:
        gpg(home, "--import", input=cert_key.export_public())
        yield home


@pytest.fixture(scope="session")
def recipient() -> Iterator[TestKey]:
    """A member's contact with a good key; the secret half stays in its own home."""
    with key_home() as home:
        yield make_key(home, "ola.nordmann@medlem.example", name="Ola Nordmann")


@pytest.fixture(scope="session")
def second_recipient() -> Iterator[TestKey]:
    """Another contact with a good key, in another home."""
    with key_home() as home:
        yield make_key(home, "kari@medlem.example", name="Kari Nordmann")


@pytest.fixture(scope="session")
def bad_keys() -> Iterator[dict[str, TestKey]]:
    """Keys nobody can encrypt to: expired, revoked, signing-only, encryption subkey expired."""
    with key_home() as home:
        yield {
            "expired": make_key(
                home, "utlopt@medlem.example", expire="1y", faked_time="20200101T000000"
            ),
            "revoked": revoke(make_key(home, "trukket@medlem.example")),
            "sign_only": make_key(home, "signerer@medlem.example", encryption=False),
        }
