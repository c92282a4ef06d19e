"""Shadowserver scan reports already taken in by the monitoring pipeline become exposures,
read through monitoring's alert service."""

from __future__ import annotations

from typing import Any

import pytest

from support.exposure import make_member
from support.factories import CERT
from support.factories import member as member_token
from support.pipeline import make_pipeline
from vardeild.core.errors import NotFound
from vardeild.exposure import service
from vardeild.exposure.imports_shadowserver import (
    member_scan_events,
    observed_from_event,
    scan_from_events,
)
from vardeild.monitoring.alerts import ALERT_SAMPLES, AlertQuery, list_alerts
from vardeild.monitoring.ingest import Feed, RawBatch, RawRecord
from vardeild.platform import Platform

HEADER = (
    '"timestamp","ip","protocol","port","hostname","tag","asn","geo","region","city","naics",'
    '"sic","http","http_code","http_reason","content_type","connection","www_authenticate",'
    '"set_cookie","server","content_length","transfer_encoding","http_date","version",'
    '"build_date","detail"'
)
ROWS = [
    '"2026-11-27 10:00:00",127.0.0.20,tcp,8080,web.sykehus.test.no,"cve-2021-41773,http",64512,'
    "NO,Oslo,Oslo,0,0,HTTP/1.1,200,OK,text/html,,,,Apache/2.4.49,149,,,,,",
    '"2026-11-27 10:00:01",127.0.0.21,tcp,443,,"http",64512,NO,Oslo,Oslo,0,0,HTTP/1.1,401,'
    "Unauthorized,text/html,,,,TwistedWeb/19.7.0,149,,,,,",
]


def ingest_report(platform: Platform, rows: list[str] = ROWS) -> None:
    # Each record is the header and one row, as the file reader hands them over.
    batch = RawBatch(
        source="file:test",
        feed=Feed.SHADOWSERVER,
        records=[
            RawRecord(position=n, data=f"{HEADER}\n{row}".encode()) for n, row in enumerate(rows)
        ],
        filename="2026-11-27-scan_http_vulnerable-norway.csv",
    )
    assert make_pipeline(platform).ingest(batch).events_stored == len(rows)


def test_scan_events_become_exposures_with_reported_cves(platform: Platform) -> None:
    with platform.session() as session:
        member = make_member(session, platform.clock)
    ingest_report(platform)
    with platform.session() as session:
        events = member_scan_events(session, CERT, member["id"], since=None)
        assert {e["source_ip"] for e in events} == {"127.0.0.20", "127.0.0.21"}
        scan = scan_from_events(events, f"shadowserver for {member['id']}")
        result = service.record_scan(
            session, CERT, member["id"], scan, matcher=None,
            config=service.ExposureConfig(), now=platform.clock.now(),
        )  # fmt: skip
        assert result.services == 2
        exposures = {e["address"]: e for e in service.list_exposures(session, CERT, member["id"])}
        apache = exposures["127.0.0.20"]
        assert (apache["port"], apache["product"], apache["version"]) == (8080, "Apache", "2.4.49")
        assert apache["sources"] == ["shadowserver"]
        assert apache["hostname"] == "web.sykehus.test.no"
        findings = service.list_findings(session, CERT, member["id"])
        assert [(f["cve_id"], f["address"]) for f in findings] == [("CVE-2021-41773", "127.0.0.20")]
        assert findings[0]["reason"].startswith("reported by shadowserver:scan_http_vulnerable")


def test_bad_event_is_refused_by_name() -> None:
    good: dict[str, Any] = {
        "feed_name": "shadowserver",
        "feed_code": "scan_rdp",
        "classification_taxonomy": "vulnerable",
        "source_ip": "127.0.0.9",
        "source_port": 3389,
        "protocol_transport": "tcp",
        "protocol_application": "rdp",
        "extra": {},
    }
    bad = {**good, "source_ip": "not-an-ip"}
    other = {**good, "feed_name": "suricata"}
    scan = scan_from_events([good, bad, other], "ss")
    assert [s.port for s in scan.services] == [3389]
    assert [(r.record, r.reason) for r in scan.refused] == [
        ("ss event #2 (scan_rdp, not-an-ip)", "source_ip 'not-an-ip' is not an IP address")
    ]
    assert observed_from_event(good).weaknesses[0].reference == "shadowserver:scan_rdp"


def test_every_host_of_a_report_becomes_an_exposure_not_only_an_alerts_samples(
    platform: Platform,
) -> None:
    # One report folds all of a member's hosts into one alert (one type, one hour), which keeps
    # ALERT_SAMPLES of them; the import must still see every host.
    hosts = ALERT_SAMPLES + 15
    with platform.session() as session:
        member = make_member(session, platform.clock)
        other = make_member(session, platform.clock, networks=["127.0.9.0/24"], domains=[])
    rows = [
        f'"2026-11-27 10:00:{n:02d}",127.0.0.{30 + n},tcp,8080,,"http",64512,NO,Oslo,Oslo,0,0,'
        "HTTP/1.1,200,OK,text/html,,,,nginx/1.22.1,149,,,,,"
        for n in range(hosts)
    ]
    rows.append(
        '"2026-11-27 10:01:00",127.0.9.5,tcp,8080,,"http",64512,NO,Oslo,Oslo,0,0,'
        "HTTP/1.1,200,OK,text/html,,,,nginx/1.22.1,149,,,,,"
    )
    ingest_report(platform, rows)
    with platform.session() as session:
        (alert,) = list_alerts(session, CERT, query=AlertQuery(member_id=member["id"]))[0]
        assert alert["count"] == hosts  # folded: the alert alone would name only its samples
        events = member_scan_events(session, CERT, member["id"], since=None)
        assert sorted(e["source_ip"] for e in events) == sorted(
            f"127.0.0.{30 + n}" for n in range(hosts)
        )
        scan = scan_from_events(events, "shadowserver")
        result = service.record_scan(
            session, CERT, member["id"], scan, matcher=None,
            config=service.ExposureConfig(), now=platform.clock.now(),
        )  # fmt: skip
        assert result.services == hosts
        # A member reading another member's events is told there is no such organisation.
        with pytest.raises(NotFound):
            member_scan_events(session, member_token(member["id"]), other["id"], since=None)
