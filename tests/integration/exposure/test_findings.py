"""Tracking: re-imports dedupe, complete rescans close what they no longer see, accepted risk
expires, false positives, history, notices for new high-priority findings, tenancy."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from support.exposure import TableMatcher, vuln
from support.factories import CERT
from support.factories import member as member_principal
from vardeild.app import notify_config
from vardeild.audit.tables import AuditRow
from vardeild.core.clock import FixedClock
from vardeild.core.errors import NotFound, ValidationFailed
from vardeild.exposure import service
from vardeild.exposure.model import FindingStatus, ObservedService, ParsedScan, Source
from vardeild.exposure.notices import queue_weekly_summary
from vardeild.exposure.tables import ExposureRow, FindingRow
from vardeild.notify.tables import NoticeRow
from vardeild.settings import Settings

CONFIG = service.ExposureConfig()
NOTIFY = notify_config(Settings())

SSH = ObservedService("127.0.0.10", 22, service="ssh", product="OpenSSH", version="7.4")
WEB = ObservedService("127.0.0.10", 443, service="https", product="nginx", version="1.18.0")
WEB_NEW = ObservedService("127.0.0.10", 443, service="https", product="nginx", version="1.25.0")
MATCHER = TableMatcher(
    {
        ("OpenSSH", "7.4"): [vuln("CVE-2018-15473", cvss_score=5.3)],
        ("nginx", "1.18.0"): [
            vuln("CVE-2021-23017", cvss_score=7.7, epss=0.3, kev=True),
            vuln("CVE-2019-0001", cvss_score=3.0),
        ],
    }
)


def parsed(*services: ObservedService, hosts: set[str] | None = None) -> ParsedScan:
    scan = ParsedScan(source=Source.NMAP, name="scan.xml", services=list(services))
    scan.hosts = hosts if hosts is not None else {s.address for s in services}
    scan.scanned_ports = "1-65535"
    return scan


def record(
    session: Session, member_id: int, scan: ParsedScan, clock: FixedClock, **kw: Any
) -> service.RecordResult:
    return service.record_scan(
        session, CERT, member_id, scan, matcher=MATCHER, config=CONFIG, now=clock.now(), **kw
    )


def findings(session: Session, member_id: int) -> dict[str, dict[str, Any]]:
    return {f["cve_id"]: f for f in service.list_findings(session, CERT, member_id)}


def test_import_makes_exposures_and_prioritised_findings(
    session: Session, member: dict[str, Any], clock: FixedClock
) -> None:
    result = record(session, member["id"], parsed(SSH, WEB), clock, notify=NOTIFY)
    assert result.services == 2
    assert len(result.new_findings) == 3
    found = findings(session, member["id"])
    assert list(found) == ["CVE-2021-23017", "CVE-2018-15473", "CVE-2019-0001"]  # most urgent first
    kev = found["CVE-2021-23017"]
    assert (kev["priority"], kev["status"], kev["due_on"]) == ("P1", "open", "2026-12-05")
    assert kev["priority_basis"].startswith("known exploited (CISA KEV)")
    assert found["CVE-2018-15473"]["priority"] == "P3"
    assert "remote-access" in found["CVE-2018-15473"]["priority_basis"]
    assert found["CVE-2019-0001"]["priority"] == "P4"
    # Only the P1 queued a notice (threshold P2), with a stable key naming the finding.
    notices = list(session.scalars(select(NoticeRow).where(NoticeRow.member_id == member["id"])))
    assert [n.source_key for n in notices] == [f"exposure-finding:{kev['id']}"]
    assert notices[0].title == "P1 CVE-2021-23017 on 127.0.0.10:443"
    assert notices[0].content["systems"] == ["127.0.0.10:443/tcp nginx 1.18.0"]


def test_reimport_dedupes_and_queues_nothing_twice(
    session: Session, member: dict[str, Any], clock: FixedClock
) -> None:
    record(session, member["id"], parsed(SSH, WEB), clock, notify=NOTIFY)
    first = service.list_exposures(session, CERT, member["id"])
    clock.advance(timedelta(hours=1))
    again = record(session, member["id"], parsed(SSH, WEB), clock, notify=NOTIFY)
    assert again.new_findings == []
    assert again.notices == []
    second = service.list_exposures(session, CERT, member["id"])
    assert len(second) == 2
    assert [e["first_seen"] for e in second] == [e["first_seen"] for e in first]
    assert all(e["last_seen"] == clock.now().isoformat() for e in second)
    assert session.scalar(select(func.count()).select_from(FindingRow)) == 3
    assert session.scalar(select(func.count()).select_from(NoticeRow)) == 1


def test_services_outside_the_member_are_refused_and_the_rest_land(
    session: Session, member: dict[str, Any], other_member: dict[str, Any], clock: FixedClock
) -> None:
    foreign = ObservedService("127.0.1.7", 80, service="http")
    internal_name = ObservedService("intranet.sykehus.test.no", 443, service="https")
    stranger = ObservedService("www.example.com", 443, service="https")
    result = record(session, member["id"], parsed(SSH, foreign, internal_name, stranger), clock)
    assert result.services == 2
    assert [r["record"] for r in result.refused] == [
        "scan.xml 127.0.1.7 port 80/tcp",
        "scan.xml www.example.com port 443/tcp",
    ]
    assert result.refused[0]["reason"] == (
        f"127.0.1.7 is not in the registered networks or domains of member {member['id']}"
    )
    assert service.list_exposures(session, CERT, other_member["id"]) == []


def test_complete_rescan_closes_what_it_no_longer_sees_and_reopens_what_returns(
    session: Session, member: dict[str, Any], clock: FixedClock
) -> None:
    record(session, member["id"], parsed(SSH, WEB), clock)
    clock.advance(timedelta(days=1))
    # A partial import (not complete) closes nothing.
    record(session, member["id"], parsed(SSH), clock)
    assert all(f["status"] == "open" for f in findings(session, member["id"]).values())
    # A complete rescan that sees SSH only: the web server is gone, its findings fixed.
    result = record(session, member["id"], parsed(SSH), clock, complete=True)
    assert result.gone == 1
    assert len(result.fixed) == 2
    state = {k: f["status"] for k, f in findings(session, member["id"]).items()}
    assert state == {"CVE-2021-23017": "fixed", "CVE-2019-0001": "fixed", "CVE-2018-15473": "open"}
    assert [e["port"] for e in service.list_exposures(session, CERT, member["id"])] == [22]
    # It comes back: reopened, with the history telling the whole story.
    clock.advance(timedelta(days=1))
    back = record(session, member["id"], parsed(SSH, WEB), clock, notify=NOTIFY)
    assert len(back.reopened) == 2
    kev = findings(session, member["id"])["CVE-2021-23017"]
    assert kev["status"] == "open"
    assert kev["closed_at"] is None
    events = [h["event"] for h in service.finding_history(session, CERT, kev["id"])]
    assert events == ["found", "fixed", "reopened"]
    keys = set(session.scalars(select(NoticeRow.source_key)))
    assert f"exposure-finding:{kev['id']}:reopened:2026-11-30" in keys


def test_complete_rescan_after_an_upgrade_fixes_the_old_version_findings(
    session: Session, member: dict[str, Any], clock: FixedClock
) -> None:
    record(session, member["id"], parsed(WEB), clock)
    result = record(session, member["id"], parsed(WEB_NEW), clock, complete=True)
    assert len(result.fixed) == 2
    assert result.gone == 0
    (web,) = service.list_exposures(session, CERT, member["id"])
    assert web["version"] == "1.25.0"


def test_complete_rescan_leaves_hosts_and_ports_it_did_not_cover(
    session: Session, member: dict[str, Any], clock: FixedClock
) -> None:
    other_host = ObservedService("127.0.0.11", 22, product="OpenSSH", version="7.4")
    record(session, member["id"], parsed(SSH, WEB, other_host), clock)
    scan = parsed(hosts={"127.0.0.10"})
    scan.scanned_ports = "22"
    result = record(session, member["id"], scan, clock, complete=True)
    assert result.gone == 1  # only 127.0.0.10:22; port 443 and host .11 were not covered
    present = {
        (e["address"], e["port"]) for e in service.list_exposures(session, CERT, member["id"])
    }
    assert present == {("127.0.0.10", 443), ("127.0.0.11", 22)}


def test_accepted_risk_expires_and_reopens(
    session: Session, member: dict[str, Any], clock: FixedClock
) -> None:
    record(session, member["id"], parsed(SSH), clock)
    (finding,) = findings(session, member["id"]).values()
    until = clock.now().date() + timedelta(days=10)
    accepted = service.change_status(
        session, CERT, finding["id"], FindingStatus.ACCEPTED_RISK,
        reason="compensating control: SSH only from the VPN", until=until, now=clock.now(),
    )  # fmt: skip
    assert accepted["status"] == "accepted_risk"
    assert accepted["accepted_until"] == until.isoformat()
    clock.advance(timedelta(days=5))
    record(session, member["id"], parsed(SSH), clock, complete=True)
    assert findings(session, member["id"])["CVE-2018-15473"]["status"] == "accepted_risk"
    clock.advance(timedelta(days=6))
    record(session, member["id"], parsed(SSH), clock)
    reopened = findings(session, member["id"])["CVE-2018-15473"]
    assert reopened["status"] == "open"
    assert reopened["status_reason"] == f"risk acceptance expired on {until.isoformat()}"
    events = [h["event"] for h in service.finding_history(session, CERT, finding["id"])]
    assert events == ["found", "accepted", "expired"]
    audit = session.scalars(
        select(AuditRow.action).where(AuditRow.entity_type == "exposure_finding")
    ).all()
    assert audit == ["update"]


@pytest.mark.parametrize(
    ("status", "reason", "until", "message"),
    [
        (FindingStatus.ACCEPTED_RISK, "", date(2027, 1, 1), "reason: is required"),
        (FindingStatus.ACCEPTED_RISK, "ok", None, "needs a future expiry"),
        (FindingStatus.ACCEPTED_RISK, "ok", date(2026, 11, 1), "needs a future expiry"),
        (FindingStatus.FALSE_POSITIVE, " ", None, "reason: is required"),
        (FindingStatus.FIXED, "done", None, "set by a complete rescan only"),
    ],
)
def test_status_changes_are_validated(
    session: Session,
    member: dict[str, Any],
    clock: FixedClock,
    status: FindingStatus,
    reason: str,
    until: date | None,
    message: str,
) -> None:
    record(session, member["id"], parsed(SSH), clock)
    (finding,) = findings(session, member["id"]).values()
    with pytest.raises(ValidationFailed, match=message):
        service.change_status(
            session, CERT, finding["id"], status, reason=reason, until=until, now=clock.now()
        )


def test_false_positive_is_kept_through_rescans(
    session: Session, member: dict[str, Any], clock: FixedClock
) -> None:
    record(session, member["id"], parsed(SSH), clock)
    (finding,) = findings(session, member["id"]).values()
    service.change_status(
        session, CERT, finding["id"], FindingStatus.FALSE_POSITIVE,
        reason="backported fix (Debian 7.4p1-10+deb9u7)", now=clock.now(),
    )  # fmt: skip
    record(session, member["id"], parsed(SSH), clock, complete=True)
    assert findings(session, member["id"])["CVE-2018-15473"]["status"] == "false_positive"


def test_a_member_sees_only_its_own(
    session: Session, member: dict[str, Any], other_member: dict[str, Any], clock: FixedClock
) -> None:
    record(session, member["id"], parsed(SSH), clock)
    (finding,) = findings(session, member["id"]).values()
    mine = member_principal(member["id"])
    theirs = member_principal(other_member["id"])
    assert [f["cve_id"] for f in service.list_findings(session, mine, member["id"])] == [
        "CVE-2018-15473"
    ]
    with pytest.raises(NotFound):
        service.list_findings(session, theirs, member["id"])
    with pytest.raises(NotFound):
        service.list_exposures(session, theirs, member["id"])
    with pytest.raises(NotFound):
        service.finding_history(session, theirs, finding["id"])
    with pytest.raises(NotFound):
        service.change_status(
            session, theirs, finding["id"], FindingStatus.FALSE_POSITIVE, reason="x",
            now=clock.now(),
        )  # fmt: skip


def test_weekly_summary_once_per_week(
    session: Session, member: dict[str, Any], clock: FixedClock
) -> None:
    record(session, member["id"], parsed(SSH, WEB), clock)
    rows = service.finding_rows(session, CERT, member["id"], statuses=[FindingStatus.OPEN])
    first = queue_weekly_summary(session, CERT, member["id"], rows, config=NOTIFY, now=clock.now())
    again = queue_weekly_summary(session, CERT, member["id"], rows, config=NOTIFY, now=clock.now())
    assert first is not None
    assert first[1] is True
    assert again == (first[0], False)
    notice = session.get(NoticeRow, first[0])
    assert notice is not None
    assert notice.source_key == f"exposure-weekly:{member['id']}:2026-W48"
    assert (
        "Open findings: 3 (P1: 1, P2: 0, P3: 1, P4: 1); overdue: 0."
        in (notice.content["details"]["text"])
    )


def test_the_exposure_row_keeps_what_an_earlier_source_saw(
    session: Session, member: dict[str, Any], clock: FixedClock
) -> None:
    record(session, member["id"], parsed(SSH), clock)
    bare = ObservedService("127.0.0.10", 22, service="ssh")
    scan = parsed(bare)
    scan.source = Source.NUCLEI
    record(session, member["id"], scan, clock)
    row = session.scalar(select(ExposureRow))
    assert row is not None
    assert (row.product, row.version, row.sources) == ("OpenSSH", "7.4", ["nmap", "nuclei"])


def test_complete_scan_closes_a_host_that_no_longer_answers_in_its_networks(
    session: Session, member: dict[str, Any], clock: FixedClock
) -> None:
    other_host = ObservedService("127.0.0.11", 22, product="OpenSSH", version="7.4")
    outside = ObservedService("127.0.0.77", 22, product="OpenSSH", version="7.4")
    record(session, member["id"], parsed(SSH, other_host, outside), clock)
    scan = parsed(SSH)  # .10 answers; .11 answers no more; .77 lies outside the scan
    scan.covered = ["127.0.0.8/29"]
    scan.scanned_ports = "22"
    result = record(session, member["id"], scan, clock, complete=True)
    assert result.gone == 1
    present = {e["address"] for e in service.list_exposures(session, CERT, member["id"])}
    assert present == {"127.0.0.10", "127.0.0.77"}
