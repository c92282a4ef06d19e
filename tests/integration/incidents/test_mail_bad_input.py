"""Bad input to the e-mail intake, over real SMTP/LMTP to the listener on loopback: malformed
MIME, a huge message, deeply nested multiparts, a zip bomb, a path-traversal file name, a
forged case reference, an undecryptable message, a signature from a key unknown until it is
added to the registry — each kept as received, recorded with a clear reason, never lost."""

from __future__ import annotations

import io
import smtplib
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from support.factories import CERT_ADMIN
from support.mail_intake import (
    intake_platform,
    pgp_mime_encrypted,
    pgp_mime_signed,
    plain_message,
    running_listener,
    send,
    wait_for,
)
from support.notify import add_member
from support.pgp_keys import TestKey, key_home, make_key
from vardeild.access.model import SYSTEM
from vardeild.core.clock import FixedClock
from vardeild.incidents import attachments, coordination, journal, service
from vardeild.incidents.model import InvolvedRole
from vardeild.mail.inbound import process_pending, store_message
from vardeild.mail.inbound_open import intake_parts
from vardeild.mail.inbound_records import get_message_or_raise
from vardeild.mail.inbound_tables import InboundBlobRow, InboundMessageRow
from vardeild.members import service as members
from vardeild.platform import Platform

MAX_BYTES = 300_000


@pytest.fixture
def intake(fresh_database_url: str, tmp_path: Path, clock: FixedClock) -> Iterator[Platform]:
    """A platform with small bounds, on a database of its own."""
    with intake_platform(
        fresh_database_url,
        tmp_path / "data",
        clock,
        mail_inbound_max_bytes=MAX_BYTES,
        mail_inbound_max_parts=30,
        mail_inbound_max_depth=5,
        mail_inbound_max_unzipped_bytes=2_000_000,
        mail_inbound_max_zip_ratio=50,
    ) as platform:
        yield platform


@pytest.fixture(scope="module")
def signer_key() -> Iterator[TestKey]:
    """A contact's key, not (yet) in the registry."""
    with key_home() as home:
        yield make_key(home, "signer@medlem.example", name="Signe Signatar")


def _detail(platform: Platform, message_pk: int) -> dict[str, Any]:
    with platform.session() as session:
        return get_message_or_raise(session, SYSTEM, message_pk)


def _raw(platform: Platform, message_pk: int) -> bytes:
    with platform.session() as session:
        row = session.get(InboundMessageRow, message_pk)
        assert row is not None
        return bytes(row.raw)


def _journal(platform: Platform, case_id: int) -> list[dict[str, Any]]:
    with platform.session() as session:
        return journal.list_journal(session, SYSTEM, case_id)


def _zip(members_: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members_.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _nested(depth: int) -> bytes:
    body = b"Content-Type: text/plain\r\n\r\nbunnen\r\n"
    for level in range(depth):
        boundary = f"lvl{level}".encode()
        body = (
            b"Content-Type: multipart/mixed; boundary=" + boundary + b"\r\n\r\n--" + boundary
            + b"\r\n" + body + b"\r\n--" + boundary + b"--\r\n"
        )  # fmt: skip
    return (
        b"From: nester@example.org\r\nTo: cert@vardeild.example\r\nSubject: nest\r\n"
        b"Message-ID: <nest@example.org>\r\nMIME-Version: 1.0\r\n" + body
    )


def test_malformed_mime_is_kept_processed_and_named(intake: Platform) -> None:
    raw = (
        b"From: broken@example.org\r\nTo: cert@vardeild.example\r\nSubject: broken mime\r\n"
        b"Message-ID: <broken@example.org>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=never-there\r\n\r\n"
        b"No boundary line follows; the C2 is 198.51.100.23\r\n"
    )
    with running_listener(intake) as listener:
        sent = send(listener, raw, sender="broken@example.org")
        [row] = wait_for(intake, 1)
    assert _raw(intake, row.id) == sent == raw
    assert row.status == "processed"
    assert row.flagged
    assert any("malformed MIME" in p and "StartBoundaryNotFound" in p for p in row.problems)
    assert row.case_id is not None
    notes = [e["text"] for e in _journal(intake, row.case_id) if e["visibility"] == "internal"]
    assert any("malformed MIME" in text for text in notes)


def test_a_huge_message_is_refused_in_transit_and_recorded(intake: Platform) -> None:
    huge = plain_message(sender="bomber@example.org", text="A" * 50 + "\n" + "B" * 400_000)
    with running_listener(intake) as listener, pytest.raises(smtplib.SMTPException) as refused:
        send(listener, huge.as_bytes(), sender="bomber@example.org")
    assert "552" in str(refused.value)
    with intake.session() as session:
        [row] = session.scalars(select(InboundMessageRow)).all()
        assert row.status == "refused"
        assert row.flagged
        assert row.envelope_from == "bomber@example.org"
        assert "mail bomb: larger than 300,000 bytes" in row.problems[0]
    # A line longer than SMTP allows is refused (500) and recorded the same way.
    long_line = b"From: long@example.org\r\nSubject: long\r\n\r\n" + b"L" * 5000 + b"\r\n"
    with running_listener(intake) as listener, pytest.raises(smtplib.SMTPException) as long:
        send(listener, long_line, sender="long@example.org")
    assert "500" in str(long.value)
    with intake.session() as session:
        rows = session.scalars(select(InboundMessageRow).order_by(InboundMessageRow.id)).all()
        assert rows[-1].envelope_from == "long@example.org"
        assert "a line longer than SMTP allows" in rows[-1].problems[0]
    # Handed over by other means (vardeild mail import), its head and hash are kept.
    oversized = huge.as_bytes()
    with intake.session() as session:
        kept = store_message(
            session, oversized, clock=intake.clock, limits=intake_parts(intake.settings).limits
        )
    with intake.session() as session:
        row = session.get(InboundMessageRow, kept.id)
        assert row is not None
        assert (row.status, row.truncated, row.size) == ("refused", True, len(oversized))
        assert oversized.startswith(row.raw)
        assert "only the first 65,536 bytes are kept" in row.problems[0]


def test_deeply_nested_and_too_many_parts_are_refused_but_kept(intake: Platform) -> None:
    many = _nested(3).replace(b"bunnen", b"\r\n".join([b"boundary=x"] * 40))
    with running_listener(intake) as listener:
        sent = send(listener, _nested(12), sender="nester@example.org")
        send(listener, many, sender="nester@example.org")
        rows = wait_for(intake, 2)
    nested, parts = rows
    assert _raw(intake, nested.id) == sent
    assert (nested.status, nested.case_id) == ("refused", None)
    assert nested.problems == [
        "mail bomb: multiparts nested deeper than 5 levels (mail_inbound_max_depth)"
    ]
    assert parts.status == "refused"
    assert "multipart boundaries declared" in parts.problems[0]


def test_a_zip_bomb_is_refused_and_a_traversal_name_made_safe(intake: Platform) -> None:
    message = plain_message(sender="vedlegg@example.org", subject="Logs attached")
    bomb = _zip({"zeros.bin": b"\0" * 1_500_000})
    logs = b"2026-11-28 203.0.113.77 failed login\n" * 30
    message.add_attachment(bomb, maintype="application", subtype="zip", filename="logs.zip")
    message.add_attachment(logs, maintype="text", subtype="plain", filename="../../etc/passwd")
    with running_listener(intake) as listener:
        send(listener, message.as_bytes(), sender="vedlegg@example.org")
        [row] = wait_for(intake, 1)
    detail = _detail(intake, row.id)
    assert detail["status"] == "processed"
    zipped, traversal = detail["attachments"]
    assert not zipped["stored"]
    assert "zip bomb" in zipped["problem"]
    assert traversal["stored"]
    assert traversal["filename"] == "passwd"
    assert traversal["given_name"] == "../../etc/passwd"
    assert "path traversal" in traversal["problem"]
    with intake.session() as session:
        assert session.get(InboundBlobRow, zipped["sha256"]) is None
        blob = session.get(InboundBlobRow, traversal["sha256"])
        assert blob is not None
        assert blob.data == logs
    # The kept attachment is the case's internal evidence; the bomb is not.
    with intake.session() as session:
        evidence = attachments.list_attachments(session, SYSTEM, detail["case_id"])
    assert [(e["filename"], e["sha256"], e["visibility"]) for e in evidence] == [
        ("passwd", traversal["sha256"], "internal")
    ]
    # Nothing was written under the given name, anywhere under the data directory.
    assert not any(path.name == "passwd" for path in intake.settings.data_dir.rglob("*"))
    assert any("zip bomb" in p for p in detail["problems"])


def test_a_forged_reference_does_not_thread_onto_the_case(intake: Platform) -> None:
    member = add_member(
        intake,
        [{"name": "Ekte Kontakt", "email": "ekte@medlem.example", "roles": ["security"]}],
        networks=["198.18.70.0/24"],
    )
    with intake.session() as session:
        case = service.create_case(session, CERT_ADMIN, clock=intake.clock, title="Ransomware")
        coordination.involve_organisation(
            session, CERT_ADMIN, case["id"], member, InvolvedRole.AFFECTED, clock=intake.clock
        )
    case_id = int(case["id"])
    before = len(_journal(intake, case_id))
    forged = plain_message(
        sender="angriper@evil.example",
        subject=f"Re: [VARDEILD#{case_id}] Ransomware",
        text="Please send me everything you know.",
    )
    missing = plain_message(sender="someone@example.org", subject="Re: [VARDEILD#987654] hi")
    genuine = plain_message(
        sender="ekte@medlem.example",
        subject=f"Re: [VARDEILD#{case_id}] Ransomware",
        text="We restored from backup; IOC sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709",
    )
    with running_listener(intake) as listener:
        for count, message in enumerate((forged, missing, genuine), start=1):
            send(listener, message.as_bytes(), sender=str(message["From"]))
            wait_for(intake, count)
        rows = wait_for(intake, 3)
    by_sender = {row.sender: row for row in rows}
    bad = by_sender["angriper@evil.example"]
    assert (bad.outcome, bad.flagged) == ("new_case", True)
    assert bad.case_id != case_id
    assert any(
        f"names VARDEILD#{case_id}, but angriper@evil.example is not involved" in p
        for p in bad.problems
    )
    nowhere = by_sender["someone@example.org"]
    assert nowhere.flagged
    assert any("no such case exists" in p for p in nowhere.problems)
    good = by_sender["ekte@medlem.example"]
    assert (good.outcome, good.case_id, good.flagged) == ("threaded", case_id, False)
    entries = _journal(intake, case_id)
    assert len(entries) == before + 1
    [reply] = entries[before:]
    assert (reply["visibility"], reply["source"]) == ("shared", "email")
    assert "ekte@medlem.example" in reply["text"]
    assert not any("Please send me everything" in e["text"] for e in entries)
    with intake.session() as session:
        new_case = service.get_case_or_raise(session, SYSTEM, bad.case_id or 0)
    assert "VARDEILD#" not in new_case["title"]


def test_an_unknown_signing_key_is_recorded_then_verified_when_added(
    intake: Platform, signer_key: TestKey
) -> None:
    member = add_member(
        intake,
        [{"name": "Signe", "email": signer_key.email, "roles": ["security"]}],
        networks=["198.18.71.0/24"],
    )
    signed = pgp_mime_signed(
        signer_key.home,
        signer_key.fingerprint,
        plain_message(sender=signer_key.email, subject="Signed report", text="Signed text"),
    )
    with running_listener(intake) as listener:
        sent = send(listener, signed, sender=signer_key.email)
        [row] = wait_for(intake, 1)
        assert (row.signature, row.signature_key) == ("unknown_key", signer_key.fingerprint)
        detail = _detail(intake, row.id)
        assert "Signed text" in str(detail.get("text"))
        assert row.case_id is not None
        with intake.session() as session:
            opened = service.get_case_or_raise(session, SYSTEM, row.case_id)
        assert f"unknown key {signer_key.fingerprint}" in opened["description"]
        with intake.session() as session:
            organisation = members.get_organisation_or_raise(session, SYSTEM, member)
            contact_id = organisation["contacts"][0]["id"]
            members.update_contact(
                session, CERT_ADMIN, member, contact_id, {"pgp_key": signer_key.public},
                clock=intake.clock, key_inspector=intake.key_inspector,
            )  # fmt: skip
        # The listener notices the registry changed and checks the signature again.
        for _ in range(300):
            with intake.session() as session:
                again = session.get(InboundMessageRow, row.id)
                assert again is not None
                if again.signature != "unknown_key":
                    break
            time.sleep(0.1)
    assert again.signature == "good"
    assert again.signer_contact == signer_key.email
    notes = [e["text"] for e in _journal(intake, row.case_id)]
    assert any("checked again" in text and "good signature" in text for text in notes)
    assert _raw(intake, row.id) == sent


def test_an_undecryptable_message_fails_with_the_reason_and_is_kept(intake: Platform) -> None:
    with key_home() as home:
        other = make_key(home, "not-the-cert@example.org")
        raw = pgp_mime_encrypted(
            home,
            None,
            b"",
            plain_message(sender="lost@example.org", subject="For someone else"),
            recipient=other.fingerprint,
        )
    with running_listener(intake) as listener:
        sent = send(listener, raw, sender="lost@example.org")
        [row] = wait_for(intake, 1)
    assert row.status == "failed"
    assert row.encrypted
    assert row.subject == "For someone else"
    assert any("cannot be decrypted" in p for p in row.problems)
    assert _raw(intake, row.id) == sent
    process_pending(
        intake.session, clock=intake.clock, parts=intake_parts(intake.settings), include_failed=True
    )
    assert _detail(intake, row.id)["attempts"] == 2


def test_kept_but_unprocessed_mail_is_processed_on_start_and_kept_once(
    intake: Platform,
) -> None:
    message = plain_message(sender="early@example.org", subject="Before the crash")
    raw = message.as_bytes()
    limits = intake_parts(intake.settings).limits
    with intake.session() as session:
        first = store_message(session, raw, clock=intake.clock, limits=limits)
    with intake.session() as session:
        again = store_message(session, raw, clock=intake.clock, limits=limits)
    assert (again.id, again.duplicate) == (first.id, True)
    with running_listener(intake, lmtp=True) as listener:
        [row] = wait_for(intake, 1)  # processed on start, nothing sent
        assert (row.status, row.outcome) == ("processed", "new_case")
        # The same Message-ID by another route (another Received line): kept, not filed again.
        send(
            listener,
            b"Received: from relay2.example.org\r\n" + raw,
            sender="early@example.org",
            recipients=["cert@vardeild.example", "soc@vardeild.example"],
        )
        rows = wait_for(intake, 2)
    copy = rows[1]
    assert copy.status == "duplicate"
    assert copy.case_id == row.case_id
    assert copy.envelope_to == ["cert@vardeild.example", "soc@vardeild.example"]


def test_bounces_and_auto_replies_open_no_case_and_reach_no_member(intake: Platform) -> None:
    member = add_member(
        intake,
        [{"name": "Ferie", "email": "ferie@medlem.example", "roles": ["security"]}],
        networks=["198.18.72.0/24"],
    )
    with intake.session() as session:
        case = service.create_case(session, CERT_ADMIN, clock=intake.clock, title="DDoS")
        coordination.involve_organisation(
            session, CERT_ADMIN, case["id"], member, InvolvedRole.AFFECTED, clock=intake.clock
        )
    case_id = int(case["id"])
    away = plain_message(
        sender="ferie@medlem.example",
        subject=f"Fravær: [VARDEILD#{case_id}] DDoS",
        text="Jeg er på ferie til mandag.",
    )
    away["Auto-Submitted"] = "auto-replied"
    bounce = plain_message(
        sender="MAILER-DAEMON@relay.example", subject="Undelivered Mail", text="550 no such user"
    )
    with running_listener(intake) as listener:
        send(listener, away.as_bytes(), sender="ferie@medlem.example")
        wait_for(intake, 1)
        send(listener, bounce.as_bytes(), sender="")
        auto, bounced = wait_for(intake, 2)
    assert (auto.outcome, auto.case_id) == ("threaded", case_id)
    entries = _journal(intake, case_id)
    [note] = [e for e in entries if "på ferie" in e["text"]]
    assert note["visibility"] == "internal"
    assert "Auto-Submitted: auto-replied" in note["text"]
    assert bounced.envelope_from == "<>"
    assert (bounced.status, bounced.outcome, bounced.case_id) == ("processed", "none", None)
    assert any("a bounce (empty envelope sender)" in p for p in bounced.problems)
    with intake.session() as session:
        total = service.list_cases(session, SYSTEM)[1]
    assert total == 1
