"""Reports: HTML page and PDF from the same template (real WeasyPrint, checked with poppler),
the trend chart as inline SVG, nb and en, CSV with formulas escaped; members only their own."""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from support.exposure import TableMatcher, vuln
from support.factories import CERT
from support.factories import member as member_principal
from vardeild.core.clock import FixedClock
from vardeild.core.errors import NotFound
from vardeild.exposure import reports, service
from vardeild.exposure.model import ObservedService, ParsedScan, Source

MATCHER = TableMatcher(
    {
        ("OpenSSH", "7.4"): [vuln("CVE-2018-15473", cvss_score=5.3)],
        ("nginx", "1.18.0"): [vuln("CVE-2021-23017", cvss_score=7.7, kev=True)],
        ("=cmd|' /C calc'!A0", "1"): [vuln("CVE-2020-0001", cvss_score=2.0)],
    }
)


def scan(*services: ObservedService) -> ParsedScan:
    parsed = ParsedScan(source=Source.NMAP, name="scan.xml", services=list(services))
    parsed.hosts = {s.address for s in services}
    return parsed


@pytest.fixture
def history(session: Session, member: dict[str, Any], clock: FixedClock) -> dict[str, Any]:
    """Three weeks of scans: SSH from the start, nginx from week two, then nginx fixed."""
    ssh = ObservedService("127.0.0.10", 22, service="ssh", product="OpenSSH", version="7.4")
    web = ObservedService("127.0.0.11", 443, service="https", product="nginx", version="1.18.0")
    evil = ObservedService("127.0.0.12", 80, service="http", product="=cmd|' /C calc'!A0",
                           version="1")  # fmt: skip
    config = service.ExposureConfig()

    def record(parsed: ParsedScan, **kw: Any) -> None:
        service.record_scan(
            session, CERT, member["id"], parsed, matcher=MATCHER, config=config,
            now=clock.now(), **kw,
        )  # fmt: skip

    clock.advance(timedelta(weeks=-3))
    record(scan(ssh))
    clock.advance(timedelta(weeks=1))
    record(scan(ssh, web, evil))
    clock.advance(timedelta(weeks=1))
    finished = scan(ssh, evil)
    finished.hosts.add("127.0.0.11")
    record(finished, complete=True)
    clock.advance(timedelta(weeks=1))
    return member


def test_html_report_has_summary_trend_top_risks_and_all_findings(
    session: Session, history: dict[str, Any], clock: FixedClock
) -> None:
    data = reports.build_report(session, CERT, history["id"], now=clock.now())
    html = reports.render_html(data)
    assert "TLP:AMBER+STRICT" in html
    assert f"Vulnerability overview: {history['name']}" in html
    assert "2 open findings; 1 fixed; 0 accepted as risks." in html
    assert html.count("<svg") == 1
    assert 'class="trend-P1"' in html
    assert "CVE-2018-15473" in html
    assert "CVE-2021-23017" in html  # fixed, but in the full list
    points = reports.trend_points(data.findings, now=clock.now(), weeks=4)
    assert [p["P1"] for _, p in points] == [0, 1, 0, 0]  # nginx's KEV finding: one week open
    assert [p["P3"] for _, p in points] == [1, 1, 1, 1]


def test_norwegian_report(session: Session, history: dict[str, Any], clock: FixedClock) -> None:
    html = reports.render_html(
        reports.build_report(session, CERT, history["id"], now=clock.now(), language="nb")
    )
    assert '<html lang="nb">' in html
    assert f"Sårbarhetsoversikt: {history['name']}" in html
    assert "2 åpne funn; 1 utbedret; 0 akseptert som risiko." in html


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils is not installed")
def test_pdf_is_the_same_report(
    session: Session, history: dict[str, Any], clock: FixedClock, tmp_path: Path
) -> None:
    pdf = reports.render_pdf(reports.build_report(session, CERT, history["id"], now=clock.now()))
    assert pdf.startswith(b"%PDF-")
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert f"Vulnerability overview: {history['name']}" in text
    assert "CVE-2018-15473" in text
    assert "Open findings over time" in text
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(path),
                    str(tmp_path / "page")], check=True)  # fmt: skip
    (png,) = tmp_path.glob("page*.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_csv_escapes_formulas(session: Session, history: dict[str, Any], clock: FixedClock) -> None:
    data = reports.build_report(session, CERT, history["id"], now=clock.now())
    text = reports.render_csv(data.findings)
    lines = text.splitlines()
    assert lines[0].startswith("priority,cve_id,address,port")
    assert len(lines) == 4
    evil = next(line for line in lines if "CVE-2020-0001" in line)
    assert "\"'=cmd|' /C calc'!A0\"" in evil or "'=cmd|' /C calc'!A0" in evil
    assert ",=cmd" not in text
    assert reports.safe_cell("-1+2") == "'-1+2"
    assert reports.safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert reports.safe_cell("nginx") == "nginx"


def test_a_member_gets_only_its_own_report(
    session: Session, history: dict[str, Any], other_member: dict[str, Any], clock: FixedClock
) -> None:
    own = reports.build_report(
        session, member_principal(history["id"]), history["id"], now=clock.now()
    )
    assert len(own.findings) == 3
    with pytest.raises(NotFound):
        reports.build_report(
            session, member_principal(other_member["id"]), history["id"], now=clock.now()
        )
