"""Fixtures for notices: the CERT key, contacts' keys (real gpg, homes under /tmp), a real
SMTP server on loopback, and the outbox wired as the composition root wires it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.notify import Inbox, smtp_server
from support.pgp_keys import TestKey, gpg, key_home, make_key
from vardeild.app import build_outbox, notify_config
from vardeild.mail.cert_key import CertKey
from vardeild.mail.pgpmime import PgpMime
from vardeild.mail.smtp import SmtpSecurity, SmtpTransport
from vardeild.notify.outbox import Outbox
from vardeild.notify.service import NotifyConfig
from vardeild.platform import Platform


@pytest.fixture(scope="session")
def cert_key() -> Iterator[CertKey]:
    """The CERT's key, passphrase-protected, in its own home."""
    with key_home() as home:
        key = CertKey(home / "cert", passphrase="notice passphrase")
        key.generate(name="Test-CERT", email="cert@vardeild.example", valid_days=365)
        yield key
        key.stop_agent()


@pytest.fixture(scope="session")
def verifier(cert_key: CertKey) -> Iterator[Path]:
    """A home holding only the CERT's public key, as a member's would."""
    with key_home() as home:
        gpg(home, "--import", input=cert_key.export_public())
        yield home


@pytest.fixture(scope="session")
def contact_key() -> Iterator[TestKey]:
    """A contact with a good key; its secret half stays in its own home."""
    with key_home() as home:
        yield make_key(home, "ola@medlem.example", name="Ola Nordmann")


@pytest.fixture(scope="session")
def stranger_key() -> Iterator[TestKey]:
    """A good key whose user id names another address than the contact's."""
    with key_home() as home:
        yield make_key(home, "someone.else@annen.example", name="Someone Else")


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server on loopback: its inbox and port."""
    with smtp_server() as served:
        yield served


@pytest.fixture
def config(platform: Platform) -> NotifyConfig:
    """The notify settings of the test platform."""
    return notify_config(platform.settings)


@pytest.fixture
def outbox(platform: Platform, cert_key: CertKey, inbox: tuple[Inbox, int]) -> Outbox:
    """The outbox as the composition root builds it, sending over SMTP to the test server,
    signing with the test CERT key."""
    transport = SmtpTransport("127.0.0.1", inbox[1], security=SmtpSecurity.NONE, timeout=10)
    return build_outbox(platform, transport=transport, protector=PgpMime(cert_key))
