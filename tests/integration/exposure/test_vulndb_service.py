"""Storing vulnerability knowledge and building the matcher from it, on SQLite and PostgreSQL."""

from __future__ import annotations

import gzip
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from support.vulndb import cpe_match, cve5_record, epss_csv, kev_catalogue, nvd_cve, nvd_response
from vardeild.access.model import Principal, Role
from vardeild.audit.tables import AuditRow
from vardeild.core.clock import FixedClock
from vardeild.core.errors import PermissionDenied
from vardeild.exposure.vuln_model import ProductVersion
from vardeild.exposure.vulndb_records import DocumentError
from vardeild.exposure.vulndb_service import (
    load_vuln_matcher,
    load_vulndb_document,
    vulndb_revision,
    vulndb_stats,
)
from vardeild.exposure.vulndb_tables import VulnCriterionRow

CERT = Principal(actor="test:analyst", role=Role.CERT_ANALYST)
SSH = "cpe:2.3:a:openbsd:openssh:*:*:*:*:*:*:*:*"


def ssh_response(end: str = "9.3p2") -> bytes:
    return nvd_response(
        nvd_cve("CVE-2099-2001", [cpe_match(SSH, start_in="9.0", end_ex=end)], score=9.8),
        nvd_cve(
            "CVE-2099-2002",
            [cpe_match("cpe:2.3:a:openbsd:openssh:8.2:p1:*:*:*:*:*:*")],
            [cpe_match("cpe:2.3:o:canonical:ubuntu_linux:20.04:*:*:*:*:*:*:*", vulnerable=False)],
            operator="AND",
        ),
    )


def load(session: Session, clock: FixedClock, data: bytes, name: str = "doc.json"):  # type: ignore[no-untyped-def]
    return load_vulndb_document(session, CERT, data, name=name, clock=clock)


def test_a_load_stores_records_and_criteria_and_a_reload_writes_nothing(
    session: Session, clock: FixedClock
) -> None:
    first = load(session, clock, ssh_response())
    assert (first.read, first.created, first.updated, first.unchanged) == (2, 2, 0, 0)
    assert session.scalar(select(func.count()).select_from(VulnCriterionRow)) == 3
    again = load(session, clock, ssh_response())
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    changed = load(session, clock, ssh_response(end="9.4"))
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 1)
    assert session.scalar(select(func.count()).select_from(VulnCriterionRow)) == 3
    ends = session.scalars(
        select(VulnCriterionRow.version_end).where(VulnCriterionRow.cve_id == "CVE-2099-2001")
    ).all()
    assert ends == ["9.4"]


def test_the_matcher_built_from_the_database_matches_and_says_why(
    session: Session, clock: FixedClock
) -> None:
    load(session, clock, ssh_response())
    load(session, clock, kev_catalogue(("CVE-2099-2001", True)), "kev.json")
    load(session, clock, gzip.compress(epss_csv(("CVE-2099-2001", 0.91, 0.998))), "epss.csv.gz")
    matcher = load_vuln_matcher(session)
    (match,) = matcher.match(ProductVersion(None, None, "OpenSSH", "9.3p1 Ubuntu 3ubuntu0.1"))
    assert match.cve_id == "CVE-2099-2001"
    assert (match.kev, match.kev_ransomware, str(match.kev_due_date)) == (True, True, "2026-12-11")
    assert (match.epss, match.epss_percentile) == (0.91, 0.998)
    assert (match.cvss_score, match.cvss_version) == (9.8, "3.1")
    assert "versionEndExcluding 9.3p2" in match.reason
    (on_ubuntu,) = matcher.match(ProductVersion("cpe:/a:openbsd:openssh:8.2p1", None, None, None))
    assert on_ubuntu.cve_id == "CVE-2099-2002"
    assert "platform not checked" in on_ubuntu.reason
    assert "ubuntu_linux:20.04" in on_ubuntu.reason
    assert not on_ubuntu.kev


def test_a_malformed_record_is_named_and_the_rest_load(session: Session, clock: FixedClock) -> None:
    document = json.loads(ssh_response())
    document["vulnerabilities"].insert(
        1,
        {
            "cve": {
                "id": "CVE-2099-2003",
                "configurations": [
                    {
                        "nodes": [
                            {
                                "operator": "OR",
                                "cpeMatch": [{"vulnerable": True, "criteria": "cpe:2.3:a:broken"}],
                            }
                        ]
                    }
                ],
            }
        },
    )
    document["vulnerabilities"].append({"cve": {"id": "not-a-cve"}})
    counts = load(session, clock, json.dumps(document).encode(), "page.json")
    assert counts.created == 2
    assert [str(p) for p in counts.problems] == [
        "page.json: vulnerabilities[1] (CVE-2099-2003): configurations[0].nodes[0].cpeMatch[0]: "
        "a CPE 2.3 name has 11 attributes, this has 2: 'cpe:2.3:a:broken'",
        "page.json: vulnerabilities[3] (not-a-cve): not a CVE id: 'not-a-cve'",
    ]
    entry = session.scalars(select(AuditRow).where(AuditRow.action == "vulndb.load")).one()
    assert entry.note == "2 records refused"


def test_kev_loads_replace_the_catalogue_and_epss_loads_add_to_the_scores(
    session: Session, clock: FixedClock
) -> None:
    load(session, clock, kev_catalogue(("CVE-2099-2001", False), ("CVE-2099-2002", True)), "k1")
    smaller = load(session, clock, kev_catalogue(("CVE-2099-2002", True)), "k2")
    assert (smaller.unchanged, smaller.removed) == (1, 1)
    load(session, clock, epss_csv(("CVE-2099-2001", 0.1, 0.5)), "e1")
    more = load(
        session, clock, epss_csv(("CVE-2099-2002", 0.2, 0.6), ("CVE-2099-2001", 0.3, 0.7)), "e2"
    )
    assert (more.created, more.updated) == (1, 1)
    stats = vulndb_stats(session, CERT)
    assert (stats.kev, stats.kev_ransomware, stats.epss, stats.epss_score_date) == (
        1,
        1,
        2,
        "2026-11-28",
    )


def test_cve5_and_nvd_views_are_kept_apart_and_rejections_counted(
    session: Session, clock: FixedClock
) -> None:
    load(session, clock, ssh_response())
    record = cve5_record(
        "CVE-2099-2001",
        [
            {
                "vendor": "OpenBSD",
                "product": "OpenSSH",
                "versions": [{"status": "affected", "version": "9.0", "lessThan": "9.9"}],
            }
        ],
    )
    load(session, clock, json.dumps(record).encode(), "CVE-2099-2001.json")
    load(session, clock, json.dumps(cve5_record("CVE-2099-2004", [], state="REJECTED")).encode())
    stats = vulndb_stats(session, CERT)
    assert stats.records == {"nvd": 2, "cve5": 2}
    assert (stats.cves, stats.rejected) == (3, 1)
    matcher = load_vuln_matcher(session)
    # NVD's analysis (< 9.3p2) wins over the CNA's (< 9.9); the CNA's CVSS 4.0 is the best score
    assert matcher.match(ProductVersion(None, None, "OpenSSH", "9.5p1")) == []
    (match,) = matcher.match(ProductVersion(None, None, "OpenSSH", "9.1p1"))
    assert (match.cvss_score, match.cvss_version) == (8.7, "4.0")


def test_a_document_of_no_known_kind_is_refused(session: Session, clock: FixedClock) -> None:
    with pytest.raises(DocumentError, match=r"x\.json: JSON, but not an NVD response"):
        load(session, clock, b'{"hello": "world"}', "x.json")
    with pytest.raises(DocumentError, match=r"not NVD API 2\.0 JSON"):
        load(session, clock, b"a,b,c\n1,2,3\n", "x.csv")


def test_a_member_may_not_load_knowledge(session: Session, clock: FixedClock) -> None:
    member = Principal(actor="member", role=Role.MEMBER_ADMIN, organisation_id=1)
    with pytest.raises(PermissionDenied):
        load_vulndb_document(session, member, ssh_response(), name="x", clock=clock)


def test_the_revision_moves_with_every_change_and_only_then(
    session: Session, clock: FixedClock
) -> None:
    empty = vulndb_revision(session)
    load(session, clock, ssh_response())
    loaded = vulndb_revision(session)
    assert loaded != empty
    clock.advance(timedelta(minutes=5))
    load(session, clock, ssh_response())
    assert vulndb_revision(session) == loaded
    load(session, clock, epss_csv(("CVE-2099-2001", 0.1, 0.5)), "e")
    with_epss = vulndb_revision(session)
    assert with_epss != loaded
    load(session, clock, kev_catalogue(("CVE-2099-2001", False)), "k1")
    clock.advance(timedelta(minutes=5))
    load(session, clock, kev_catalogue(("CVE-2099-2001", True)), "k2")
    assert vulndb_revision(session)[2:4] != with_epss[2:4]


def test_a_load_plans_its_lookups_for_their_own_keys_on_postgresql(
    session: Session, clock: FixedClock, backend: str
) -> None:
    """A load may grow a table from empty; a generic plan PostgreSQL keeps for its chunked
    lookups would scan the whole table per chunk (benches/exposure.py: 602 s instead of 39 s
    for 250,000 records). So a load plans every statement for its own values, for its
    transaction only. SQLite has no plan cache to tell; there the load is checked alone."""
    counts = load(session, clock, ssh_response())
    assert (counts.created, counts.unchanged) == (2, 0)
    if backend == "postgresql":
        mode = session.scalar(text("SELECT current_setting('plan_cache_mode')"))
        assert mode == "force_custom_plan"
        session.rollback()  # the load's transaction rolled back: SET LOCAL goes with it
        assert session.scalar(text("SELECT current_setting('plan_cache_mode')")) == "auto"
