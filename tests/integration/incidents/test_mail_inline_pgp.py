"""Inline PGP to the e-mail intake over real SMTP: a text body that is an armoured OpenPGP
message (encrypted to the CERT and signed) is decrypted and its signature checked by the
contact's registered key; a clear-signed body is verified and its signed text kept; a
tampered clear-signed body is a bad signature, recorded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.mail_intake import intake_platform, plain_message, running_listener, send, wait_for
from support.notify import add_member
from support.pgp_keys import TestKey, gpg, key_home, make_key, shared_cert_home
from vardeild.core.clock import FixedClock
from vardeild.mail.cert_key import CertKey
from vardeild.platform import Platform


@pytest.fixture
def intake(fresh_database_url: str, tmp_path: Path, clock: FixedClock) -> Iterator[Platform]:
    """The platform on a database of its own, its CERT key the shared test key."""
    with intake_platform(fresh_database_url, tmp_path / "data", clock) as platform:
        yield platform


@pytest.fixture(scope="module")
def contact() -> Iterator[TestKey]:
    """A member contact's key, with the CERT's public key beside it."""
    with key_home() as home:
        key = make_key(home, "inline@medlem.example", name="Inge Inline")
        gpg(home, "--import", input=CertKey(shared_cert_home()).export_public())
        yield key


def test_inline_encrypted_signed_and_clear_signed_bodies(
    intake: Platform, contact: TestKey
) -> None:
    add_member(
        intake,
        [
            {
                "name": "Inge",
                "email": contact.email,
                "roles": ["security"],
                "pgp_key": contact.public,
            }
        ],
        networks=["198.18.90.0/24"],
    )
    armoured = gpg(
        contact.home, "--armor", "--no-auto-key-locate", "--trust-model", "always", "--sign",
        "-u", contact.fingerprint, "--encrypt", "-r", "cert@vardeild.example",
        input="Hemmelig: C2 på 192.0.2.44, hash d41d8cd98f00b204e9800998ecf8427e".encode(),
    ).decode()  # fmt: skip
    clear = gpg(
        contact.home, "--clearsign", "-u", contact.fingerprint,
        input=b"Signert tekst: phishing fra kontor-login[.]example",
    ).decode()  # fmt: skip
    tampered = clear.replace("phishing fra", "phishing hos")
    messages = [
        plain_message(sender=contact.email, subject="Inline kryptert", text=armoured),
        plain_message(sender=contact.email, subject="Klarsignert", text=clear),
        plain_message(sender=contact.email, subject="Endret", text=tampered),
    ]
    with running_listener(intake) as listener:
        for count, message in enumerate(messages, start=1):
            send(listener, message.as_bytes(), sender=contact.email)
            wait_for(intake, count)
        encrypted, signed, bad = wait_for(intake, 3)
    assert encrypted.encrypted
    assert (encrypted.signature, encrypted.signer_contact) == ("good", contact.email)
    assert "C2 på 192.0.2.44" in encrypted.text
    assert "BEGIN PGP MESSAGE" not in encrypted.text
    assert {"type": "ipv4", "value": "192.0.2.44"} in encrypted.observables
    assert {"type": "md5", "value": "d41d8cd98f00b204e9800998ecf8427e"} in encrypted.observables
    assert (signed.signature, signed.signer_contact) == ("good", contact.email)
    assert signed.text.strip() == "Signert tekst: phishing fra kontor-login[.]example"
    assert {"type": "domain", "value": "kontor-login.example"} in signed.observables
    assert bad.signature == "bad"
    assert (bad.status, bad.flagged) == ("processed", True)
    assert any(p.startswith("signature: bad signature by") for p in bad.problems)
    assert not signed.flagged


def test_a_signature_by_a_signing_subkey_finds_the_contacts_key(intake: Platform) -> None:
    with key_home() as home:
        key = make_key(home, "subkey@medlem.example", name="Sub Nøkkel")
        gpg(home, "--quick-add-key", key.fingerprint, "ed25519", "sign", "0")
        listing = gpg(home, "--with-colons", "--list-keys", key.fingerprint).decode()
        subkeys = [
            line.split(":")[9]
            for line in listing.splitlines()
            if line.startswith("fpr:") and line.split(":")[9] != key.fingerprint
        ]
        signing = subkeys[-1]  # added last
        public = gpg(home, "--armor", "--export", key.fingerprint).decode()
        add_member(
            intake,
            [{"name": "Sub", "email": key.email, "roles": ["security"], "pgp_key": public}],
            networks=["198.18.91.0/24"],
        )
        clear = gpg(home, "--clearsign", "-u", f"{signing}!", input=b"Signert med undernokkel")
    message = plain_message(sender=key.email, subject="Undernøkkel", text=clear.decode())
    with running_listener(intake) as listener:
        send(listener, message.as_bytes(), sender=key.email)
        [row] = wait_for(intake, 1)
    assert (row.signature, row.signature_key) == ("good", key.fingerprint)
    assert row.signer_contact == key.email
