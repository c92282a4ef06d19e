"""Evidence attachments (hashed, bounded, outside the web root, served only to the
entitled), deadlines from the settings, and statistics with their CSV."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from support.factories import CERT, CERT_ADMIN, member, org_data
from vardeild.access.model import Role
from vardeild.core.clock import FixedClock
from vardeild.core.errors import NotFound, PermissionDenied, ValidationFailed
from vardeild.core.tlp import Tlp
from vardeild.incidents import attachments, service, stats, workflow
from vardeild.incidents.attachments import EvidenceStore, display_name
from vardeild.incidents.config import deadline_policy, evidence_store
from vardeild.incidents.model import CaseStatus, InvolvedRole, Visibility
from vardeild.members import service as members
from vardeild.platform import Platform
from vardeild.settings import Settings


def _org(session: Session, platform: Platform, **more: object) -> int:
    made = members.create_organisation(
        session, CERT_ADMIN, org_data(**more), clock=platform.clock,
        key_inspector=platform.key_inspector,
    )  # fmt: skip
    return int(made["id"])


def test_evidence_is_stored_by_hash_and_served_only_to_the_entitled(
    session: Session, clock: FixedClock, platform: Platform, tmp_path: Path
) -> None:
    a, b = _org(session, platform), _org(session, platform)
    store = EvidenceStore(root=tmp_path / "evidence", max_bytes=1024)
    case = service.create_case(
        session, CERT, clock=clock, title="Bevis", involve=[(a, InvolvedRole.AFFECTED)]
    )
    data = b"phishing mail headers\n"
    internal = attachments.add_attachment(
        session, CERT, case["id"], clock=clock, store=store, data=data,
        filename="../../etc/passwd", content_type="text/plain; charset=utf-8",
    )  # fmt: skip
    assert internal["sha256"] == hashlib.sha256(data).hexdigest()
    assert internal["filename"] == "passwd"
    assert internal["content_type"] == "text/plain"
    assert store.path(internal["sha256"]).read_bytes() == data
    assert not (tmp_path / "etc").exists()
    shared = attachments.add_attachment(
        session, CERT, case["id"], clock=clock, store=store, data=b"IOC list",
        filename="iocs.txt", visibility=Visibility.SHARED, tlp=Tlp.AMBER,
    )  # fmt: skip
    red = attachments.add_attachment(
        session, CERT, case["id"], clock=clock, store=store, data=b"red",
        filename="red.txt", visibility=Visibility.SHARED, tlp=Tlp.RED,
    )  # fmt: skip
    a_user = member(a, Role.MEMBER_USER)
    assert [x["id"] for x in attachments.list_attachments(session, a_user, case["id"])] == [
        shared["id"]
    ]
    _, got = attachments.read_attachment(session, a_user, case["id"], shared["id"], store=store)
    assert got == b"IOC list"
    for hidden in (internal, red):
        with pytest.raises(NotFound):
            attachments.read_attachment(session, a_user, case["id"], hidden["id"], store=store)
    with pytest.raises(NotFound):
        attachments.read_attachment(session, member(b), case["id"], shared["id"], store=store)
    _, got = attachments.read_attachment(session, CERT, case["id"], internal["id"], store=store)
    assert got == data
    with pytest.raises(ValidationFailed, match="at most 1024"):
        attachments.add_attachment(session, CERT, case["id"], clock=clock, store=store,
                                   data=b"x" * 1025, filename="big")  # fmt: skip
    with pytest.raises(PermissionDenied):
        attachments.add_attachment(session, a_user, case["id"], clock=clock, store=store,
                                   data=b"x", filename="x")  # fmt: skip
    store.path(shared["sha256"]).write_bytes(b"tampered")
    with pytest.raises(attachments.EvidenceDamaged):
        attachments.read_attachment(session, CERT, case["id"], shared["id"], store=store)


@pytest.mark.parametrize(
    ("given", "shown"),
    [("C:\\Users\\x\\mal.exe", "mal.exe"), ("..", "evidence"), ("a\x00b.txt", "ab.txt"),
     (".htaccess", "htaccess")],
)  # fmt: skip
def test_display_names_are_never_paths(given: str, shown: str) -> None:
    assert display_name(given) == shown


def test_settings_set_the_clocks_and_the_store(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, case_early_warning_hours=12, case_sla_acknowledge_hours="high=2",
        case_attachment_max_bytes=4096,
    )  # fmt: skip
    policy = deadline_policy(settings)
    assert policy.early_warning_hours == 12
    assert dict(policy.acknowledge_hours) == {"high": 2.0}
    assert evidence_store(settings) == EvidenceStore(tmp_path / "case-evidence", 4096)


def test_overdue_cases_are_flagged_with_the_clock(
    session: Session, clock: FixedClock, platform: Platform
) -> None:
    policy = deadline_policy(platform.settings)
    case = service.create_case(session, CERT, clock=clock, title="Kritisk",
                               severity=service.Severity.CRITICAL)  # fmt: skip
    significant = service.create_case(session, CERT, clock=clock, title="Vesentlig",
                                      significant=True)  # fmt: skip
    assert service.overdue_case_ids(session, CERT, policy=policy, now=clock.now()) == {}
    clock.advance(timedelta(hours=1, minutes=1))
    late = service.overdue_case_ids(session, CERT, policy=policy, now=clock.now())
    assert late == {case["id"]: ["acknowledge"]}
    clock.advance(timedelta(hours=23))
    late = service.overdue_case_ids(session, CERT, policy=policy, now=clock.now())
    # The medium case's 24-hour acknowledgement target has run out too.
    assert late[significant["id"]] == ["early_warning", "acknowledge"]
    service.update_case(session, CERT, significant["id"], {"early_warning": True}, clock=clock)
    kinds = {
        d["kind"]: d
        for d in service.case_deadlines(
            session, CERT, significant["id"], policy=policy, now=clock.now()
        )
    }
    assert kinds["early_warning"]["met_at"] == clock.now()
    assert not kinds["early_warning"]["overdue"]
    with pytest.raises(PermissionDenied):
        service.overdue_case_ids(session, member(1), policy=policy, now=clock.now())


def test_statistics_by_classification_sector_member_and_durations(
    session: Session, clock: FixedClock, platform: Platform
) -> None:
    start = clock.now()
    a = _org(session, platform, name="=Formel HF", sector="hospital_trust")
    b = _org(session, platform, sector="municipality")
    one = service.create_case(session, CERT, clock=clock, title="1", classification_type="phishing",
                              involve=[(a, InvolvedRole.AFFECTED)])  # fmt: skip
    both = [(a, InvolvedRole.AFFECTED), (b, InvolvedRole.AFFECTED)]
    service.create_case(session, CERT, clock=clock, title="2", classification_type="ddos",
                        involve=both)  # fmt: skip
    clock.advance(timedelta(hours=2))
    workflow.set_case_status(session, CERT, one["id"], CaseStatus.REJECTED, clock=clock)
    figures = stats.case_stats(
        session, CERT, since=start - timedelta(days=1), until=clock.now() + timedelta(days=1)
    )
    assert figures["total"] == 2
    assert {(x["taxonomy"], x["cases"]) for x in figures["by_classification"]} == {
        ("fraud", 1),
        ("availability", 1),
    }
    assert {(x["sector"], x["cases"]) for x in figures["by_sector"]} == {
        ("hospital_trust", 2),
        ("municipality", 1),
    }
    assert {(x["organisation_id"], x["cases"]) for x in figures["by_member"]} == {(a, 2), (b, 1)}
    assert figures["durations"]["close"] == {"cases": 1, "median_hours": 2.0, "mean_hours": 2.0}
    text = stats.stats_csv(figures)
    assert "2026-11,classification,fraud,1,," in text
    assert "'=Formel HF" in text
    assert ",=Formel" not in text
    assert "all,time_to_close,,1,2.00,2.00" in text
    with pytest.raises(PermissionDenied):
        stats.case_stats(session, member(a), since=start, until=clock.now())
