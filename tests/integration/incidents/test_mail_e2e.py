"""Issue 7, end to end with real parts: an encrypted and signed report e-mail arrives over
real SMTP at the intake listener and becomes a case; two members are involved, each with a
contact whose OpenPGP key was made by gpg; a coordinated update goes to both through the
notice machinery to a real SMTP server and each contact's own key opens it; one contact
replies by encrypted e-mail and the reply lands in the case's journal; an internal note
appears in nothing any member received."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.factories import CERT_ADMIN, member
from support.mail_intake import (
    INTAKE_ADDRESS,
    intake_platform,
    pgp_mime_encrypted,
    plain_message,
    running_listener,
    send,
    wait_for,
)
from support.notify import Inbox, add_member, body_text, decrypt, parse, smtp_server, verify
from support.pgp_keys import TestKey, gpg, key_home, make_key, shared_cert_home
from vardeild.access.model import SYSTEM, Role
from vardeild.app import build_outbox, notify_config
from vardeild.core.clock import FixedClock
from vardeild.core.tlp import Tlp
from vardeild.incidents import coordination, journal, links, service
from vardeild.incidents.model import InvolvedRole, Visibility
from vardeild.mail.cert_key import CertKey
from vardeild.mail.pgpmime import PgpMime
from vardeild.mail.smtp import SmtpSecurity, SmtpTransport
from vardeild.platform import Platform

INTERNAL_NOTE = "INTERN-KANARI-7f3a: mistenker innsidejobb hos leverandøren"
UPDATE_TEXT = "Koordinert oppdatering: blokker 198.51.100.66 og roter passord for VPN i dag."
REPLY_TEXT = "Vi har blokkert adressen og rotert passordene. Ny IOC: evil-c2[.]example"


@pytest.fixture
def intake(fresh_database_url: str, tmp_path: Path, clock: FixedClock) -> Iterator[Platform]:
    """The platform on a database of its own, its CERT key the shared test key."""
    with intake_platform(fresh_database_url, tmp_path / "data", clock) as platform:
        yield platform


@pytest.fixture(scope="module")
def keys() -> Iterator[dict[str, TestKey]]:
    """The reporter's and two member contacts' keys, each in its own short home."""
    with key_home() as reporter, key_home() as a, key_home() as b:
        yield {
            "reporter": make_key(reporter, "forsker@uavhengig.example", name="Frida Førsker"),
            "a": make_key(a, "soc@sykehus-a.example", name="SOC A"),
            "b": make_key(b, "soc@kommune-b.example", name="SOC B"),
        }


def _contact(key: TestKey, name: str) -> dict[str, object]:
    return {"name": name, "email": key.email, "roles": ["security"], "pgp_key": key.public}


def test_report_case_update_reply_and_no_internal_note_leaks(
    intake: Platform, keys: dict[str, TestKey]
) -> None:
    cert_public = CertKey(shared_cert_home()).export_public()
    reporter, contact_a, contact_b = keys["reporter"], keys["a"], keys["b"]

    # 1. An encrypted, signed report arrives over real SMTP and becomes a case.
    report = plain_message(
        sender=reporter.email,
        subject="Kompromittert VPN hos flere helseforetak",
        text=(
            "Vi ser innlogging fra 198.51.100.66 mot VPN hos flere medlemmer.\n"
            "Payload sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n"
            "Utnytter CVE-2024-3400, C2 på hxxps://vpn-update[.]example/gate\n"
        ),
    )
    raw_report = pgp_mime_encrypted(reporter.home, reporter.fingerprint, cert_public, report)
    assert b"198.51.100.66" not in raw_report  # only ciphertext travels
    with running_listener(intake) as listener:
        sent_report = send(listener, raw_report, sender=reporter.email)
        [kept] = wait_for(intake, 1)
    assert kept.raw == sent_report
    assert (kept.status, kept.outcome, kept.encrypted) == ("processed", "new_case", True)
    # The reporter is in no registry: the signature is recorded against an unknown key.
    assert (kept.signature, kept.signature_key) == ("unknown_key", reporter.fingerprint)
    case_id = kept.case_id
    assert case_id is not None
    with intake.session() as session:
        case = service.get_case_or_raise(session, SYSTEM, case_id)
        observables = {
            (o["kind"], o["value"]) for o in links.list_observables(session, SYSTEM, case_id)
        }
    assert case["title"] == "Kompromittert VPN hos flere helseforetak"
    assert case["source"] == "email"
    assert case["reporter"] == reporter.email
    assert "198.51.100.66" in case["description"]
    assert {
        ("ip", "198.51.100.66"),
        ("cve", "CVE-2024-3400"),
        ("url", "https://vpn-update.example/gate"),
        ("domain", "vpn-update.example"),
        ("sha256", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
    } <= observables

    # 2. Two members are involved, each with a contact holding a real key; the CERT writes
    #    an internal note.
    member_a = add_member(intake, [_contact(contact_a, "SOC A")], networks=["198.18.80.0/24"])
    member_b = add_member(intake, [_contact(contact_b, "SOC B")], networks=["198.18.81.0/24"])
    with intake.session() as session:
        for organisation_id in (member_a, member_b):
            coordination.involve_organisation(
                session, CERT_ADMIN, case_id, organisation_id, InvolvedRole.AFFECTED,
                clock=intake.clock,
            )  # fmt: skip
        journal.add_journal_entry(
            session, CERT_ADMIN, case_id, clock=intake.clock, text=INTERNAL_NOTE,
            visibility=Visibility.INTERNAL,
        )  # fmt: skip

    # 3. A coordinated update goes to both through the notice machinery over real SMTP.
    with smtp_server() as (inbox, port):
        with intake.session() as session:
            update = coordination.send_update(
                session, CERT_ADMIN, case_id, clock=intake.clock,
                config=notify_config(intake.settings), text=UPDATE_TEXT, tlp=Tlp.AMBER,
            )  # fmt: skip
        assert {n["organisation_id"] for n in update["notices"]} == {member_a, member_b}
        outbox = build_outbox(
            intake,
            transport=SmtpTransport("127.0.0.1", port, security=SmtpSecurity.NONE, timeout=10),
            protector=PgpMime(CertKey(shared_cert_home())),
        )
        report_sent = outbox.send_due()
        assert (report_sent.sent, report_sent.failed) == (2, 0)
        assert report_sent.by_protection == {"encrypted": 2}
        received = _everything(inbox)

    with key_home() as verifier:
        gpg(verifier, "--import", input=cert_public)
        plaintexts: dict[str, bytes] = {}
        for contact in (contact_a, contact_b):
            [raw] = received[contact.email]
            outer = parse(raw)
            assert outer.get_content_type() == "multipart/encrypted"
            assert f"[VARDEILD#{case_id}]" in str(outer["Subject"])
            assert b"198.51.100.66" not in raw
            inner = decrypt(contact.home, raw)  # the contact's own key opens it
            assert "VALIDSIG" in verify(verifier, inner)  # signed by the CERT
            text = body_text(parse(inner).get_payload()[0])
            assert "blokker 198.51.100.66" in text
            plaintexts[contact.email] = inner
        # Neither contact can open the other's message.
        [raw_a] = received[contact_a.email]
        other = gpg(contact_b.home, "--decrypt", input=parse(raw_a).get_payload()[1].get_payload(
            decode=True), check=False)  # fmt: skip
        assert b"blokker" not in other

    # 4. Member A's contact replies by encrypted, signed e-mail; it lands in the journal.
    reply = plain_message(
        sender=contact_a.email,
        subject=f"Re: {parse(received[contact_a.email][0])['Subject']}",
        text=REPLY_TEXT,
    )
    raw_reply = pgp_mime_encrypted(contact_a.home, contact_a.fingerprint, cert_public, reply)
    with running_listener(intake) as listener:
        send(listener, raw_reply, sender=contact_a.email, recipients=[INTAKE_ADDRESS])
        rows = wait_for(intake, 2)
    answer = rows[-1]
    assert (answer.status, answer.outcome, answer.case_id) == ("processed", "threaded", case_id)
    assert (answer.signature, answer.signer_contact) == ("good", contact_a.email)
    with intake.session() as session:
        entries = journal.list_journal(session, SYSTEM, case_id)
        member_view = journal.list_journal(session, member(member_a, Role.MEMBER_USER), case_id)
    [landed] = [e for e in entries if e["source"] == "email"]
    assert landed["visibility"] == "shared"
    assert REPLY_TEXT in landed["text"]
    assert contact_a.email in landed["text"]
    assert "good signature" in landed["text"]
    assert any(REPLY_TEXT in e["text"] for e in member_view)
    assert not any(INTERNAL_NOTE in e["text"] for e in member_view)

    # 5. The internal note is in nothing any member received, encrypted or opened.
    for address, messages in received.items():
        for raw in messages:
            assert INTERNAL_NOTE.encode() not in raw, address
            assert b"INTERN-KANARI" not in raw, address
    for inner in plaintexts.values():
        assert b"INTERN-KANARI" not in inner
        assert b"INTERN-KANARI" not in _decoded_parts(inner)


def _everything(inbox: Inbox, *, timeout: float = 30.0) -> dict[str, list[bytes]]:
    deadline = time.monotonic() + timeout
    while len(inbox.messages) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    by_address: dict[str, list[bytes]] = {}
    with inbox.lock:
        for envelope, raw in inbox.messages:
            for address in envelope.rcpt_tos:
                by_address.setdefault(address, []).append(raw)
    return by_address


def _decoded_parts(raw: bytes) -> bytes:
    """Return every decoded leaf of a message joined (text as sent may be encoded)."""
    found = []
    for part in parse(raw).walk():
        if not part.is_multipart():
            data = part.get_payload(decode=True)
            if isinstance(data, bytes):
                found.append(data)
    return b"\n".join(found)
