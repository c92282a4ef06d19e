"""Alerts become notices that arrive over a real SMTP server signed with the CERT's key and,
to a contact with a key, encrypted so that only the contact's secret key opens them (real gpg
in separate homes). A require-encryption policy sends a keyless contact no plaintext."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from support.notify import Inbox, add_member, body_text, decrypt, parse, verify
from support.pgp_keys import TestKey
from support.pipeline import eve_batch, eve_line, make_pipeline
from vardeild.access.model import SYSTEM
from vardeild.core.clock import FixedClock
from vardeild.notify import records, service
from vardeild.notify.from_alerts import notice_alerts
from vardeild.notify.outbox import Outbox
from vardeild.notify.service import NotifyConfig
from vardeild.notify.tables import NotifyTaskRow
from vardeild.platform import Platform

SIGNATURE = "ET MALWARE Test Beacon æøå"


def _alert_at(platform: Platform, address: str, clock: FixedClock) -> None:
    line = eve_line(
        src="203.0.113.66", dst=address, signature=SIGNATURE, at=clock.now(), severity=1
    )
    make_pipeline(platform).ingest(eve_batch([line]))


def _notice(platform: Platform, config: NotifyConfig, clock: FixedClock) -> list[int]:
    with platform.session() as session:
        return notice_alerts(session, config=config, now=clock.now())


def test_a_notice_arrives_signed_and_encrypted_to_the_contact_with_a_key(
    platform: Platform,
    config: NotifyConfig,
    outbox: Outbox,
    inbox: tuple[Inbox, int],
    contact_key: TestKey,
    verifier: Path,
    clock: FixedClock,
) -> None:
    member = add_member(
        platform,
        [
            {
                "name": "Ola Nordmann",
                "email": contact_key.email,
                "roles": ["security"],
                "pgp_key": contact_key.public,
            },
            {
                "name": "Kari Vakt",
                "email": "vakt@medlem.example",
                "roles": ["on_call"],
                "language": "en",
            },
            {"name": "Per Leder", "email": "leder@medlem.example", "roles": ["management"]},
        ],
        networks=["198.18.40.0/24"],
    )
    _alert_at(platform, "198.18.40.7", clock)
    made = _notice(platform, config, clock)
    assert len(made) == 1
    report = outbox.send_due()
    assert (report.sent, report.failed) == (2, 0)
    assert report.by_protection == {"encrypted": 1, "signed": 1}
    received, _ = inbox
    assert received.to("leder@medlem.example") == []  # management does not receive alerts

    [raw] = received.raw_to(contact_key.email)
    outer = parse(raw)
    assert outer.get_content_type() == "multipart/encrypted"
    assert f"[VARDEILD-N#{made[0]}]" in outer["Subject"]
    assert SIGNATURE not in raw.decode("utf-8", "replace")  # no plaintext outside the envelope
    inner = decrypt(contact_key.home, raw)
    assert "VALIDSIG" in verify(verifier, inner)
    signed = parse(inner).get_payload()[0]
    text = body_text(signed)
    assert "TLP:AMBER+STRICT" in text
    assert "HVA SKJEDDE" in text
    assert "198.18.40.7" in text
    assert "/api/v1/notices/ack/" in text
    names = {part.get_filename() for part in signed.iter_attachments()}
    assert names == {f"vardeild-{made[0]}-events.csv", f"vardeild-{made[0]}-events.json"}

    [plain] = received.raw_to("vakt@medlem.example")
    assert parse(plain).get_content_type() == "multipart/signed"
    status = verify(verifier, plain)
    assert "GOODSIG" in status
    assert "VALIDSIG" in status
    assert "WHAT HAPPENED" in body_text(parse(plain).get_payload()[0])

    with platform.session() as session:
        detail = records.get_notice_or_raise(session, SYSTEM, made[0])
    assert detail["status"] == "sent"
    assert {d["status"] for d in detail["deliveries"]} == {"sent"}
    assert member == detail["organisation_id"]


def test_require_encryption_sends_a_keyless_contact_no_plaintext_and_tasks_the_cert(
    platform: Platform,
    config: NotifyConfig,
    outbox: Outbox,
    inbox: tuple[Inbox, int],
    stranger_key: TestKey,
    verifier: Path,
    clock: FixedClock,
) -> None:
    member = add_member(
        platform,
        [
            {"name": "Uten Nøkkel", "email": "uten@medlem.example", "roles": ["security"]},
            {
                "name": "Feil Nøkkel",
                "email": "feil@medlem.example",
                "roles": ["abuse"],
                "pgp_key": stranger_key.public,  # its user id names another address
            },
        ],
        networks=["198.18.41.0/24"],
    )
    with platform.session() as session:
        service.set_policy(session, SYSTEM, member, {"require_encryption": True}, now=clock.now())
    _alert_at(platform, "198.18.41.9", clock)
    _notice(platform, config, clock)
    report = outbox.send_due()
    assert report.by_protection == {"portal_note": 2}
    received, _ = inbox
    for address in ("uten@medlem.example", "feil@medlem.example"):
        [raw] = received.raw_to(address)
        text = raw.decode("utf-8", "replace")
        assert SIGNATURE not in text
        assert "198.18.41.9" not in text
        assert "GOODSIG" in verify(verifier, raw)
        # The link is the portal's page of the notice (sign-in first), not an API address a
        # mail reader's browser could not open without a token.
        body = body_text(parse(raw).get_payload()[0])
        [notice_id] = re.findall(r"/portal/notices/(\d+)\b", body)
        with platform.session() as session:
            assert (
                records.get_notice_or_raise(session, SYSTEM, int(notice_id))["organisation_id"]
                == member
            )
    with platform.session() as session:
        tasks = session.scalars(
            select(NotifyTaskRow).where(NotifyTaskRow.member_id == member)
        ).all()
    assert {t.contact_email for t in tasks} == {"uten@medlem.example", "feil@medlem.example"}
    assert any("has no user id with feil@medlem.example" in t.detail for t in tasks)


def test_a_server_that_is_down_defers_with_backoff_and_loses_nothing(
    platform: Platform,
    config: NotifyConfig,
    outbox: Outbox,
    inbox: tuple[Inbox, int],
    clock: FixedClock,
) -> None:
    add_member(
        platform,
        [{"name": "Ola", "email": "ola.down@medlem.example", "roles": ["security"]}],
        networks=["198.18.42.0/24"],
    )
    _alert_at(platform, "198.18.42.1", clock)
    [notice_id] = _notice(platform, config, clock)
    real = outbox.transport
    from support.notify import free_port
    from vardeild.mail.smtp import SmtpSecurity, SmtpTransport

    outbox.transport = SmtpTransport(
        "127.0.0.1", free_port(), security=SmtpSecurity.NONE, timeout=5
    )
    assert outbox.send_due().deferred == 1
    assert outbox.send_due().deferred == 0  # not due again before its backoff
    clock.advance(timedelta(seconds=config.retry_base_seconds))
    assert outbox.send_due().deferred == 1  # second failure: waits twice as long
    clock.advance(timedelta(seconds=config.retry_base_seconds))
    assert outbox.send_due().deferred == 0
    outbox.transport = real
    clock.advance(timedelta(seconds=config.retry_base_seconds))
    assert outbox.send_due().sent == 1
    assert len(inbox[0].raw_to("ola.down@medlem.example")) == 1
    with platform.session() as session:
        detail = records.get_notice_or_raise(session, SYSTEM, notice_id)
    steps = [entry["status"] for entry in detail["log"]]
    assert steps.count("deferred") == 2
    assert steps[-1] == "sent"
    assert "could not be reached" in next(
        e["detail"] for e in detail["log"] if e["status"] == "deferred"
    )


def test_a_rejected_recipient_fails_with_the_servers_answer_and_can_be_retried(
    platform: Platform,
    config: NotifyConfig,
    outbox: Outbox,
    inbox: tuple[Inbox, int],
    clock: FixedClock,
) -> None:
    add_member(
        platform,
        [{"name": "Borte", "email": "borte@medlem.example", "roles": ["security"]}],
        networks=["198.18.43.0/24"],
    )
    received, _ = inbox
    received.reject["borte@medlem.example"] = "550 5.1.1 No such user here"
    _alert_at(platform, "198.18.43.1", clock)
    [notice_id] = _notice(platform, config, clock)
    assert outbox.send_due().failed == 1
    with platform.session() as session:
        detail = records.get_notice_or_raise(session, SYSTEM, notice_id)
        assert detail["status"] == "failed"
        assert "550" in detail["deliveries"][0]["last_answer"]
        del received.reject["borte@medlem.example"]
        records.retry_notice(session, SYSTEM, notice_id, config=config, now=clock.now())
    assert outbox.send_due().sent == 1
    assert len(received.raw_to("borte@medlem.example")) == 1


def test_running_the_pass_twice_queues_a_notice_once_and_a_grown_alert_again(
    platform: Platform, config: NotifyConfig, clock: FixedClock
) -> None:
    add_member(
        platform,
        [{"name": "Ola", "email": "ola.twice@medlem.example", "roles": ["security"]}],
        networks=["198.18.44.0/24"],
    )
    _alert_at(platform, "198.18.44.1", clock)
    assert len(_notice(platform, config, clock)) == 1
    assert _notice(platform, config, clock) == []
    clock.advance(timedelta(seconds=1))
    _alert_at(platform, "198.18.44.1", clock)  # the same alert, now two events: doubled
    assert len(_notice(platform, config, clock)) == 1
    assert _notice(platform, config, clock) == []
