"""Threading by `[VARDEILD#<id>]` beyond members' contacts: the case's reporter (outside the
constituency) may reply onto it; a reply to a case that was merged lands in the case it went
into; the same reply kept twice is filed once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.factories import CERT_ADMIN
from support.mail_intake import intake_platform, plain_message
from vardeild.access.model import SYSTEM
from vardeild.core.clock import FixedClock
from vardeild.incidents import journal, service, workflow
from vardeild.mail.inbound import process_message, store_message
from vardeild.mail.inbound_open import intake_parts
from vardeild.mail.inbound_tables import InboundMessageRow
from vardeild.notify.model import reference as notice_reference
from vardeild.platform import Platform


@pytest.fixture
def intake(fresh_database_url: str, tmp_path: Path, clock: FixedClock) -> Iterator[Platform]:
    """The platform on a database of its own."""
    with intake_platform(fresh_database_url, tmp_path / "data", clock) as platform:
        yield platform


def _file(platform: Platform, raw: bytes) -> InboundMessageRow:
    parts = intake_parts(platform.settings)
    with platform.session() as session:
        kept = store_message(session, raw, clock=platform.clock, limits=parts.limits)
    with platform.session() as session:
        row = process_message(session, kept.id, clock=platform.clock, parts=parts)
        session.expunge(row)
    return row


def test_the_reporter_replies_and_a_merged_case_forwards(intake: Platform) -> None:
    first = _file(
        intake,
        plain_message(sender="Frida <frida@forsker.example>", subject="Lekkasje").as_bytes(),
    )
    assert first.outcome == "new_case"
    case_id = first.case_id
    assert case_id is not None
    reply = plain_message(
        sender="frida@forsker.example",
        subject=f"Re: [VARDEILD#{case_id}] Lekkasje",
        text="Flere detaljer: 203.0.113.200",
    )
    threaded = _file(intake, reply.as_bytes())
    assert (threaded.outcome, threaded.case_id, threaded.flagged) == ("threaded", case_id, False)
    again = _file(intake, b"Received: from relay.example\r\n" + reply.as_bytes())
    assert (again.status, again.case_id) == ("duplicate", case_id)
    with intake.session() as session:
        entries = journal.list_journal(session, SYSTEM, case_id)
    replies = [e for e in entries if "203.0.113.200" in e["text"]]
    assert len(replies) == 1
    assert (replies[0]["visibility"], replies[0]["source"]) == ("shared", "email")

    with intake.session() as session:
        target = service.create_case(session, CERT_ADMIN, clock=intake.clock, title="Samlesak")
        workflow.merge_cases(session, CERT_ADMIN, case_id, int(target["id"]), clock=intake.clock)
    late = _file(
        intake,
        plain_message(
            sender="frida@forsker.example",
            subject=f"Re: [VARDEILD#{case_id}] Lekkasje",
            text="Enda mer: 203.0.113.201",
        ).as_bytes(),
    )
    assert (late.outcome, late.case_id) == ("threaded", int(target["id"]))


def test_a_reply_to_a_notice_is_not_threaded_onto_the_case_of_its_number(
    intake: Platform,
) -> None:
    """Notices are `[VARDEILD-N#<id>]`, cases `[VARDEILD#<id>]`: the reporter of case N,
    answering notice N, opens a new intake case instead of writing into case N."""
    first = _file(
        intake,
        plain_message(sender="frida@forsker.example", subject="Lekkasje").as_bytes(),
    )
    assert first.case_id is not None
    notice_reply = plain_message(
        sender="frida@forsker.example",
        subject=f"Re: {notice_reference(first.case_id)} TLP:AMBER Varsel",
        text="Takk for varselet",
    )
    filed = _file(intake, notice_reply.as_bytes())
    assert filed.outcome == "new_case"
    assert filed.case_id != first.case_id
