"""The incident case service on a real database (SQLite, and PostgreSQL when configured):
opening, the workflow, journal visibility, tasks, links, merge and split, coordinated updates
through the notice machinery, and tenancy."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from support.factories import CERT, CERT_ADMIN, member, org_data
from vardeild.access.model import Principal, Role
from vardeild.app import notify_config
from vardeild.core.clock import FixedClock
from vardeild.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from vardeild.core.tlp import Tlp
from vardeild.incidents import coordination, journal, links, service, tasks, workflow
from vardeild.incidents.model import (
    CaseStatus,
    EntrySource,
    InvolvedRole,
    LinkKind,
    ObservableKind,
    Visibility,
)
from vardeild.members import service as members
from vardeild.members.model import Language
from vardeild.monitoring.model import Severity
from vardeild.notify import records as notice_records
from vardeild.platform import Platform

READONLY = Principal(actor="reader@cert.test", role=Role.CERT_READONLY)
INTERNAL = "INTERNT-hemmelig-notat-9d1c"


def _org(session: Session, platform: Platform, **more: object) -> int:
    made = members.create_organisation(
        session, CERT_ADMIN, org_data(**more), clock=platform.clock,
        key_inspector=platform.key_inspector,
    )  # fmt: skip
    return int(made["id"])


@pytest.fixture
def two(session: Session, platform: Platform) -> tuple[int, int]:
    """Two members, each with a security contact (the second reads English)."""
    a = _org(session, platform)
    b = _org(
        session, platform,
        contacts=[{"name": "Bob", "email": "bob@b.test.no", "roles": ["security"],
                   "language": "en"}],
    )  # fmt: skip
    return a, b


def test_open_move_and_stamp_times(session: Session, clock: FixedClock, two: tuple[int, int]):
    case = service.create_case(
        session, CERT, clock=clock, title="Phishing mot helseforetak",
        classification_type="phishing", severity=Severity.HIGH,
        involve=[(two[0], InvolvedRole.AFFECTED)],
    )  # fmt: skip
    assert case["reference"] == f"VARDEILD#{case['id']}"
    assert case["classification"] == {"taxonomy": "fraud", "type": "phishing"}
    assert case["status"] == "new"
    clock.advance(timedelta(minutes=20))
    moved = workflow.set_case_status(session, CERT, case["id"], CaseStatus.TRIAGE, clock=clock)
    assert moved["acknowledged_at"] == clock.now()
    with pytest.raises(Conflict, match="cannot go to closed"):
        workflow.set_case_status(session, CERT, case["id"], CaseStatus.CLOSED, clock=clock)
    with pytest.raises(PermissionDenied):
        workflow.set_case_status(session, READONLY, case["id"], CaseStatus.REJECTED, clock=clock)
    workflow.set_case_status(session, CERT, case["id"], CaseStatus.RESOLVED, clock=clock)
    closed = workflow.set_case_status(session, CERT, case["id"], CaseStatus.CLOSED, clock=clock)
    assert closed["closed_at"] == clock.now()
    assert closed["contained_at"] == clock.now()
    with pytest.raises(PermissionDenied, match="admin"):
        workflow.set_case_status(session, CERT, case["id"], CaseStatus.TRIAGE, clock=clock)
    reopened = workflow.set_case_status(
        session, CERT_ADMIN, case["id"], CaseStatus.TRIAGE, clock=clock
    )
    assert reopened["closed_at"] is None
    with pytest.raises(ValidationFailed, match="Reference Security Incident Taxonomy"):
        service.create_case(session, CERT, clock=clock, title="x", classification_type="aliens")


def test_members_see_only_their_cases_and_shared_entries(
    session: Session, clock: FixedClock, two: tuple[int, int]
) -> None:
    a, b = two
    case = service.create_case(
        session, CERT, clock=clock, title="Løsepengevirus", description="Kun CERT leser",
        involve=[(a, InvolvedRole.AFFECTED)],
    )  # fmt: skip
    journal.add_journal_entry(session, CERT, case["id"], clock=clock, text=INTERNAL)
    journal.add_journal_entry(
        session, CERT, case["id"], clock=clock, text="Delt med medlemmet",
        visibility=Visibility.SHARED, tlp=Tlp.AMBER,
    )  # fmt: skip
    journal.add_journal_entry(
        session, CERT, case["id"], clock=clock, text="RED stays", visibility=Visibility.SHARED,
        tlp=Tlp.RED,
    )  # fmt: skip
    a_user = member(a, Role.MEMBER_USER)
    seen = journal.list_journal(session, a_user, case["id"])
    assert [e["text"] for e in seen] == ["Delt med medlemmet"]
    assert len(journal.list_journal(session, CERT, case["id"])) == 3
    view = service.get_case_or_raise(session, a_user, case["id"])
    assert "description" not in view
    assert "assignee_user_id" not in view
    for outsider in (member(b), member(b, Role.MEMBER_USER)):
        with pytest.raises(NotFound):
            service.get_case_or_raise(session, outsider, case["id"])
        with pytest.raises(NotFound):
            journal.list_journal(session, outsider, case["id"])
        with pytest.raises(NotFound):
            journal.add_journal_entry(session, outsider, case["id"], clock=clock, text="x",
                                      visibility=Visibility.SHARED)  # fmt: skip
        assert service.list_cases(session, outsider) == ([], 0)
    assert [c["id"] for c in service.list_cases(session, a_user)[0]] == [case["id"]]
    reply = journal.add_journal_entry(
        session, a_user, case["id"], clock=clock, text="Vi har isolert maskinen",
        visibility=Visibility.SHARED, source=EntrySource.API,
    )  # fmt: skip
    assert reply["visibility"] == "shared"
    with pytest.raises(PermissionDenied):
        journal.add_journal_entry(session, a_user, case["id"], clock=clock, text="x")
    with pytest.raises(PermissionDenied):
        service.update_case(session, a_user, case["id"], {"title": "x"}, clock=clock)
    with pytest.raises(PermissionDenied):
        tasks.list_tasks(session, a_user, case["id"], now=clock.now())


def test_a_member_opens_a_case_about_itself_only(
    session: Session, clock: FixedClock, two: tuple[int, int]
) -> None:
    a, b = two
    made = service.create_case(session, member(a), clock=clock, title="Mistenkelig innlogging")
    assert service.list_cases(session, member(a))[0][0]["id"] == made["id"]
    with pytest.raises(PermissionDenied):
        service.create_case(
            session, member(a), clock=clock, title="x", involve=[(b, InvolvedRole.AFFECTED)]
        )
    with pytest.raises(PermissionDenied):
        service.create_case(session, READONLY, clock=clock, title="x")


def test_reference_lookup_follows_merges(
    session: Session, clock: FixedClock, two: tuple[int, int]
) -> None:
    a, b = two
    first = service.create_case(session, CERT, clock=clock, title="Første",
                                involve=[(a, InvolvedRole.AFFECTED)])  # fmt: skip
    both = [(a, InvolvedRole.AFFECTED), (b, InvolvedRole.VENDOR)]
    second = service.create_case(session, CERT, clock=clock, title="Andre", involve=both)
    journal.add_journal_entry(session, CERT, first["id"], clock=clock, text="fra første")
    tasks.add_task(session, CERT, first["id"], clock=clock, title="Ring leverandøren",
                   due_at=clock.now() + timedelta(hours=2))  # fmt: skip
    links.add_observables(session, CERT, first["id"], clock=clock,
                          observables=[(ObservableKind.IP, "192.0.2.9")])  # fmt: skip
    merged = workflow.merge_cases(session, CERT, first["id"], second["id"], clock=clock)
    assert merged["id"] == second["id"]
    assert service.find_case_by_reference(session, f"Re: [VARDEILD#{first['id']}]") == second["id"]
    assert service.find_case_by_reference(session, "[VARDEILD#2147483000]") is None
    texts = [e["text"] for e in journal.list_journal(session, CERT, second["id"])]
    assert "fra første" in texts
    assert len(tasks.list_tasks(session, CERT, second["id"], now=clock.now())) == 1
    assert [o["value"] for o in links.list_observables(session, CERT, second["id"])] == [
        "192.0.2.9"
    ]
    assert {
        o["organisation_id"] for o in coordination.list_involved(session, CERT, second["id"])
    } == {a, b}
    assert service.get_case_or_raise(session, CERT, first["id"])["status"] == "merged"
    with pytest.raises(Conflict, match="merged into"):
        service.update_case(session, CERT, first["id"], {"title": "x"}, clock=clock)

    entry = journal.add_journal_entry(session, CERT, second["id"], clock=clock, text="til ny sak")
    split = workflow.split_case(
        session, CERT, second["id"], clock=clock, title="Utskilt", journal_ids=[entry["id"]],
        organisation_ids=[b],
    )  # fmt: skip
    assert "til ny sak" in [e["text"] for e in journal.list_journal(session, CERT, split["id"])]
    assert "til ny sak" not in [
        e["text"] for e in journal.list_journal(session, CERT, second["id"])
    ]
    with pytest.raises(NotFound):
        service.get_case_or_raise(session, member(a), split["id"])
    assert service.get_case_or_raise(session, member(b), split["id"])["title"] == "Utskilt"


def test_a_coordinated_update_reaches_every_involved_member_and_no_internal_note(
    session: Session, clock: FixedClock, platform: Platform, two: tuple[int, int]
) -> None:
    a, b = two
    config = notify_config(platform.settings)
    case = service.create_case(
        session, CERT, clock=clock, title="Sårbarhet hos leverandør", severity=Severity.CRITICAL,
        involve=[(a, InvolvedRole.AFFECTED), (b, InvolvedRole.VENDOR)],
    )  # fmt: skip
    journal.add_journal_entry(session, CERT, case["id"], clock=clock, text=INTERNAL)
    with pytest.raises(ValidationFailed, match="RED never leaves"):
        coordination.send_update(session, CERT, case["id"], clock=clock, config=config,
                                 text="x", tlp=Tlp.RED)  # fmt: skip
    sent = coordination.send_update(
        session, CERT, case["id"], clock=clock, config=config,
        text="Patch er tilgjengelig; installer den i dag.", tlp=Tlp.AMBER,
    )  # fmt: skip
    assert {n["organisation_id"] for n in sent["notices"]} == {a, b}
    recipients = set()
    for item in sent["notices"]:
        notice = notice_records.get_notice_or_raise(session, CERT, item["notice_id"])
        assert notice["kind"] == "case_update"
        assert notice["tlp"] == "AMBER"
        recipients |= {d["recipient"] for d in notice["deliveries"]}
        assert INTERNAL not in str(notice)
        for language in Language:
            rendered = notice_records.preview_notice(
                session, CERT, item["notice_id"], config=config, language=language
            )
            assert f"[VARDEILD#{case['id']}]" in rendered.subject
            assert "Patch er tilgjengelig" in rendered.body
            assert INTERNAL not in rendered.subject + rendered.body
    assert "bob@b.test.no" in recipients
    assert len(recipients) == 2
    involved = {
        i["organisation_id"]: i for i in coordination.list_involved(session, CERT, case["id"])
    }
    assert involved[a]["status"] == "informed"
    assert involved[a]["updates"][0]["acknowledged_at"] is None

    clock.advance(timedelta(minutes=5))
    acked = coordination.acknowledge_update(session, member(a), case["id"], sent["id"], clock=clock)
    assert acked["acknowledged_at"] == clock.now()
    with pytest.raises(NotFound):
        coordination.acknowledge_update(session, member(_org(session, platform)), case["id"],
                                        sent["id"], clock=clock)  # fmt: skip
    knows = coordination.who_knows(session, case["id"])
    assert knows[a][0]["acknowledged_at"] == clock.now()
    assert knows[b][0]["acknowledged_at"] is None
    mine = coordination.list_involved(session, member(b), case["id"])
    assert [i["organisation_id"] for i in mine] == [b]
    shared = [e["text"] for e in journal.list_journal(session, member(b), case["id"])]
    assert shared == ["Patch er tilgjengelig; installer den i dag."]


def test_links_are_checked_and_alert_escalation(
    session: Session, clock: FixedClock, two: tuple[int, int]
) -> None:
    case = service.create_case(session, CERT, clock=clock, title="Lenker")
    with pytest.raises(ValidationFailed, match="alert 999999 not found"):
        links.add_link(session, CERT, case["id"], clock=clock, kind=LinkKind.ALERT,
                       target_id=999999)  # fmt: skip
    with pytest.raises(ValidationFailed, match="advisories"):
        links.add_link(session, CERT, case["id"], clock=clock, kind=LinkKind.ADVISORY,
                       target_id=1)  # fmt: skip
    with pytest.raises(NotFound):
        service.escalate_alert(session, CERT, 999999, clock=clock)
    results = links.add_observables(
        session, CERT, case["id"], clock=clock,
        observables=[("domain", "Evil.Example.com"), ("domain", "evil.example.com"),
                     ("ip", "not-an-ip"), ("cve", "CVE-2024-3400")],
    )  # fmt: skip
    assert [r.get("problem") is None for r in results] == [True, True, False, True]
    assert len(links.list_observables(session, CERT, case["id"])) == 2
