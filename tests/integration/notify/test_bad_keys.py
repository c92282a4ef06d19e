"""A contact's key that stopped being usable after it was registered (expired), under both
policies: without require-encryption the contact gets a signed notice and the CERT a task;
with it, only the portal note. Nothing is lost either way."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from support.notify import Inbox, add_member, decrypt, parse, queue_message, verify
from support.pgp_keys import AT_TEST_CLOCK, TestKey, damage, key_home, make_key
from vardeild.access.model import SYSTEM
from vardeild.core.clock import FixedClock
from vardeild.members.tables import ContactRow
from vardeild.monitoring.model import Severity
from vardeild.notify import records, service
from vardeild.notify.model import NoticeKind
from vardeild.notify.outbox import Outbox
from vardeild.notify.service import NotifyConfig
from vardeild.notify.tables import NotifyTaskRow
from vardeild.platform import Platform


@pytest.fixture(scope="module")
def short_lived() -> Iterator[TestKey]:
    """A good key that expires in two days."""
    with key_home() as home:
        yield make_key(
            home,
            "kortvarig@medlem.example",
            name="Kort Varig",
            expire="2d",
            faked_time=AT_TEST_CLOCK,
        )


@pytest.mark.parametrize("required", [False, True], ids=["optional", "required"])
def test_an_expired_key_is_not_used_and_the_cert_is_told(
    platform: Platform,
    config: NotifyConfig,
    outbox: Outbox,
    inbox: tuple[Inbox, int],
    short_lived: TestKey,
    verifier: Path,
    clock: FixedClock,
    required: bool,
) -> None:
    member = add_member(
        platform,
        [
            {
                "name": "Kort Varig",
                "email": short_lived.email,
                "roles": ["security"],
                "pgp_key": short_lived.public,
            }
        ],
    )
    clock.advance(timedelta(days=3))
    with platform.session() as session:
        service.set_policy(
            session, SYSTEM, member, {"require_encryption": required}, now=clock.now()
        )
        service.queue_notice(
            session,
            SYSTEM,
            member_id=member,
            kind=NoticeKind.MESSAGE,
            title="Hemmelig innhold",
            severity=Severity.HIGH,
            content={"details": {"text": "Detaljer som ikke skal ut i klartekst"}},
            source_key=f"expired:{required}",
            config=config,
            now=clock.now(),
        )
    report = outbox.send_due()
    assert report.by_protection == {("portal_note" if required else "signed"): 1}
    [raw] = inbox[0].raw_to(short_lived.email)
    assert parse(raw).get_content_type() == "multipart/signed"
    assert "GOODSIG" in verify(verifier, raw)
    assert ("Detaljer som ikke skal" in raw.decode("utf-8", "replace")) is not required
    with platform.session() as session:
        [task] = session.scalars(select(NotifyTaskRow).where(NotifyTaskRow.member_id == member))
    assert "expired" in task.detail
    assert task.contact_email == short_lived.email


def _queue(platform: Platform, member: int, key: str) -> int:
    return queue_message(platform, member, key, title="Hemmelig innhold")


def test_a_key_damaged_in_the_database_is_refused_by_name_and_tasked(
    platform: Platform,
    config: NotifyConfig,
    outbox: Outbox,
    inbox: tuple[Inbox, int],
    contact_key: TestKey,
) -> None:
    member = add_member(
        platform,
        [
            {
                "name": "Ola",
                "email": contact_key.email,
                "roles": ["security"],
                "pgp_key": contact_key.public,
            }
        ],
    )
    with platform.session() as session:  # what the registry would refuse, stored anyway
        contact = session.scalars(
            select(ContactRow).where(ContactRow.organisation_id == member)
        ).one()
        contact.pgp_key = damage(contact.pgp_key)
    _queue(platform, member, "damaged")
    assert outbox.send_due().by_protection == {"signed": 1}
    assert len(inbox[0].raw_to(contact_key.email)) == 1
    with platform.session() as session:
        [task] = session.scalars(select(NotifyTaskRow).where(NotifyTaskRow.member_id == member))
    assert task.contact_email == contact_key.email
    assert task.open_key == "open"


def test_an_address_with_header_injection_fails_alone_and_names_the_contact(
    platform: Platform, config: NotifyConfig, outbox: Outbox, inbox: tuple[Inbox, int]
) -> None:
    member = add_member(
        platform,
        [
            {"name": "God", "email": "god@medlem.example", "roles": ["security"]},
            {"name": "Ond", "email": "ond@medlem.example", "roles": ["security"]},
        ],
    )
    with platform.session() as session:
        bad = session.scalars(
            select(ContactRow).where(ContactRow.email == "ond@medlem.example")
        ).one()
        bad.email = "ond@medlem.example\r\nBcc: alle@example.org"
    notice_id = _queue(platform, member, "injection")
    assert outbox.send_due().sent == 1
    received = inbox[0]
    assert len(received.raw_to("god@medlem.example")) == 1
    assert received.raw_to("alle@example.org") == []
    assert len(received.messages) == 1
    with platform.session() as session:
        detail = records.get_notice_or_raise(session, SYSTEM, notice_id)
    failed = [d for d in detail["deliveries"] if d["status"] == "failed"]
    assert len(failed) == 1
    assert "not a plain e-mail address" in failed[0]["last_answer"]
    assert "correct the contact in the member registry" in failed[0]["last_answer"]
    assert detail["status"] == "failed"


def test_a_key_whose_name_is_not_ascii_still_encrypts(
    platform: Platform, config: NotifyConfig, outbox: Outbox, inbox: tuple[Inbox, int]
) -> None:
    """gpg under the C locale wrote such a user id in Latin-1, python-gnupg could not read it,
    and the key looked damaged: the notice went out signed, its text in the clear."""
    with key_home() as home:
        key = make_key(home, "soc@alesund.example", name="SOC Ålesund sjukehus Ø")
        member = add_member(
            platform,
            [{"name": "Åse Ødegård", "email": key.email, "roles": ["security"],
              "pgp_key": key.public}],
        )  # fmt: skip
        _queue(platform, member, "not-ascii")
        report = outbox.send_due()
        assert report.by_protection == {"encrypted": 1}, report.by_protection
        [raw] = inbox[0].raw_to(key.email)
        assert "Detaljer" not in raw.decode("utf-8", "replace")
        assert b"Detaljer" in decrypt(home, raw)
