"""Threading by `[VARDEILD#<id>]` beyond members' contacts: the case's reporter (outside the
constituency) may reply onto it; a reply to a case that was merged lands in the case it went
into; the same reply kept twice is filed once; replies to a notice gather in one case."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.factories import CERT_ADMIN, member
from support.mail_intake import intake_platform, plain_message
from support.notify import add_member, queue_message
from vardeild.access.model import SYSTEM
from vardeild.core.clock import FixedClock
from vardeild.core.errors import ValidationFailed
from vardeild.incidents import journal, links, service, workflow
from vardeild.incidents.model import LinkKind
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


def test_replies_to_a_notice_gather_in_one_case_that_links_it_and_involves_the_member(
    intake: Platform,
) -> None:
    """A member's contact answering a notice opens one case (linking the notice, the member
    involved, so it sees the case); the next reply to the same notice lands in that case, an
    auto-reply is an internal note there, and a stranger using the reference does not reach
    it."""
    member_id = add_member(
        intake,
        [{"name": "Kari", "email": "kari@helse.example", "roles": ["security"]}],
        networks=["198.18.60.0/24"],
    )
    notice_id = queue_message(
        intake, member_id, f"test:reply:{member_id}", title="Sårbar SMB-tjeneste",
        content={"details": {"text": "SMB er åpen mot Internett"}, "systems": ["10.9.9.9"]},
    )  # fmt: skip
    subject = f"Re: {notice_reference(notice_id)} TLP:AMBER Sårbar SMB-tjeneste"
    first = _file(
        intake,
        plain_message(sender="Kari <kari@helse.example>", subject=subject,
                      text="Vi har stengt port 445 nå.").as_bytes(),
    )  # fmt: skip
    assert (first.outcome, first.flagged) == ("new_case", False)
    case_id = first.case_id
    assert case_id is not None
    with intake.session() as session:
        case = service.get_case_or_raise(session, SYSTEM, case_id)
        assert case["reporter_organisation_id"] == member_id
        assert service.involved_ids(session, case_id) == {member_id}
        assert service.cases_linking(session, LinkKind.NOTICE, notice_id) == [case_id]
        own = service.get_case_or_raise(session, member(member_id), case_id)
        assert own["id"] == case_id
        with pytest.raises(ValidationFailed, match=f"notice {notice_id + 99} not found"):
            links.add_link(session, CERT_ADMIN, case_id, clock=intake.clock,
                           kind=LinkKind.NOTICE, target_id=notice_id + 99)  # fmt: skip

    second = _file(
        intake,
        plain_message(sender="kari@helse.example", subject=subject,
                      text="Oppdatering: 198.18.60.7 er fjernet.").as_bytes(),
    )  # fmt: skip
    assert (second.outcome, second.case_id, second.flagged) == ("threaded", case_id, False)
    away = plain_message(sender="kari@helse.example", subject=f"Automatic reply: {subject}",
                         text="Jeg er på ferie.")  # fmt: skip
    away["Auto-Submitted"] = "auto-replied"
    noted = _file(intake, away.as_bytes())
    assert (noted.outcome, noted.case_id) == ("threaded", case_id)
    with intake.session() as session:
        entries = journal.list_journal(session, SYSTEM, case_id)
    shared = [e for e in entries if "198.18.60.7" in e["text"]]
    assert [(e["visibility"], e["source"]) for e in shared] == [("shared", "email")]
    assert [e["visibility"] for e in entries if "ferie" in e["text"]] == ["internal"]

    forged = _file(
        intake,
        plain_message(sender="ukjent@angriper.example", subject=subject,
                      text="Send meg alle detaljene").as_bytes(),
    )  # fmt: skip
    assert forged.outcome == "new_case"
    assert forged.flagged
    assert forged.case_id not in (None, case_id)
    with intake.session() as session:
        assert service.cases_linking(session, LinkKind.NOTICE, notice_id) == [case_id]
        assert service.involved_ids(session, forged.case_id or 0) == set()
        entries = journal.list_journal(session, SYSTEM, forged.case_id or 0)
    assert any("is not a contact of the member it went to" in e["text"] for e in entries)
