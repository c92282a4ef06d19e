"""Findings against the real knowledge, loaded through the vulndb service: a scanner-reported
CVE gets KEV, EPSS and NVD's score; the sector query finds the product a KEV entry names."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from support.exposure import make_member
from support.factories import CERT
from support.vulndb import cpe_match, epss_csv, nvd_cve, nvd_response
from vardeild.core.clock import Clock, FixedClock
from vardeild.exposure import sector, service
from vardeild.exposure.knowledge import load_matcher
from vardeild.exposure.model import ObservedService, ParsedScan, ReportedWeakness, Source
from vardeild.exposure.vulndb_service import load_vulndb_document
from vardeild.platform import Platform


def kev(cve_id: str, vendor: str, product: str, *, ransomware: bool) -> bytes:
    entry = {
        "cveID": cve_id,
        "vendorProject": vendor,
        "product": product,
        "vulnerabilityName": f"{vendor} {product} weakness",
        "dateAdded": "2026-11-20",
        "shortDescription": "A synthetic entry.",
        "requiredAction": "Apply updates per vendor instructions.",
        "dueDate": "2026-12-01",
        "knownRansomwareCampaignUse": "Known" if ransomware else "Unknown",
        "notes": "",
    }
    return json.dumps(
        {"title": "CISA KEV", "catalogVersion": "1", "count": 1, "vulnerabilities": [entry]}
    ).encode()


def load(session: Session, clock: Clock) -> None:
    documents = {
        "nvd.json": nvd_response(
            nvd_cve(
                "CVE-2099-6001",
                [cpe_match("cpe:2.3:o:fortinet:fortios:*:*:*:*:*:*:*:*", end_ex="7.2.5")],
                score=9.8,
                description="FortiOS before 7.2.5: an out-of-bounds write.",
            )
        ),
        "kev.json": kev("CVE-2099-6001", "Fortinet", "FortiOS", ransomware=True),
        "epss.csv": epss_csv(("CVE-2099-6001", 0.93, 0.999)),
    }
    for name, data in documents.items():
        load_vulndb_document(session, CERT, data, name=name, clock=clock)


def test_a_reported_cve_gets_what_the_knowledge_knows(session: Session, clock: FixedClock) -> None:
    load(session, clock)
    member: dict[str, Any] = make_member(session, clock)
    reported = ObservedService(
        "127.0.0.40", 10443, service="https",
        weaknesses=(ReportedWeakness("nuclei:CVE-2099-6001", "FortiOS OOB", ("CVE-2099-6001",),
                                     5.0),),
    )  # fmt: skip
    scan = ParsedScan(source=Source.NUCLEI, name="n.jsonl", services=[reported])
    service.record_scan(
        session, CERT, member["id"], scan, matcher=load_matcher(session),
        config=service.ExposureConfig(), now=clock.now(),
    )  # fmt: skip
    (finding,) = service.list_findings(session, CERT, member["id"])
    assert finding["cvss_score"] == 9.8  # NVD's, not the scanner's 5.0
    assert (finding["kev"], finding["kev_ransomware"], finding["epss"]) == (True, True, 0.93)
    assert finding["priority"] == "P1"
    assert finding["due_on"] == "2026-12-01"  # KEV's due date, sooner than the 7-day SLA
    assert finding["summary"].startswith("FortiOS before 7.2.5")
    assert finding["reason"].startswith("reported by nuclei:CVE-2099-6001")


def test_the_real_matcher_makes_the_finding_from_the_version(
    session: Session, clock: FixedClock
) -> None:
    load(session, clock)
    member: dict[str, Any] = make_member(session, clock)
    old = ObservedService("127.0.0.41", 443, service="https", cpe="cpe:/o:fortinet:fortios:7.2.4",
                          product="FortiOS", version="7.2.4")  # fmt: skip
    new = ObservedService("127.0.0.42", 443, service="https", cpe="cpe:/o:fortinet:fortios:7.2.5",
                          product="FortiOS", version="7.2.5")  # fmt: skip
    scan = ParsedScan(source=Source.NMAP, name="s.xml", services=[old, new])
    service.record_scan(
        session, CERT, member["id"], scan, matcher=load_matcher(session),
        config=service.ExposureConfig(), now=clock.now(),
    )  # fmt: skip
    found = service.list_findings(session, CERT, member["id"])
    assert [(f["address"], f["cve_id"]) for f in found] == [("127.0.0.41", "CVE-2099-6001")]


def test_sector_query_by_kev_entry_and_by_product(session: Session, clock: FixedClock) -> None:
    load(session, clock)
    a: dict[str, Any] = make_member(session, clock, networks=["127.0.2.0/24"])
    b: dict[str, Any] = make_member(session, clock, networks=["127.0.3.0/24"])
    c: dict[str, Any] = make_member(session, clock, networks=["127.0.4.0/24"])
    for member, seen in (
        (a, ObservedService("127.0.2.1", 443, product="FortiOS", version="7.0.1")),
        (b, ObservedService("127.0.3.1", 443, product="nginx", version="1.25.3",
                            cpe="cpe:/a:f5:nginx:1.25.3")),
        (c, ObservedService("127.0.4.1", 8443, cpe="cpe:/o:fortinet:fortios:6.4.0")),
    ):  # fmt: skip
        service.record_scan(
            session, CERT, member["id"], ParsedScan(Source.NMAP, "s", services=[seen]),
            matcher=None, config=service.ExposureConfig(), now=clock.now(),
        )  # fmt: skip
    # Not in the findings yet (no matcher ran), but KEV names FortiOS: a and c expose it.
    by_cve = sector.who_exposes(session, CERT, cve_id="cve-2099-6001")
    assert sorted(m["member_id"] for m in by_cve) == sorted([a["id"], c["id"]])
    by_product = sector.who_exposes(session, CERT, product="nginx", vendor="F5")
    assert [(m["member_id"], m["exposures"][0]["address"]) for m in by_product] == [
        (b["id"], "127.0.3.1")
    ]
    assert sector.who_exposes(session, CERT, product="Exchange Server") == []


def test_the_matcher_is_built_once_per_revision_of_the_knowledge(
    platform: Platform, clock: FixedClock
) -> None:
    with platform.session() as session:
        load(session, platform.clock)
        first = load_matcher(session, cache=platform.cached)
        assert first is not None
        assert load_matcher(session, cache=platform.cached) is first
        clock.advance(timedelta(minutes=1))  # the revision moves with the latest change's time
        more = epss_csv(("CVE-2099-6001", 0.5, 0.9))
        load_vulndb_document(session, CERT, more, name="epss2.csv", clock=platform.clock)
    with platform.session() as session:
        again = load_matcher(session, cache=platform.cached)
        assert again is not None
        assert again is not first
