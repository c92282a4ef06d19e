"""The exposure API: a member sees only its own exposures, findings and report; status changes,
the scan trigger and the sector query are the CERT's; a scan through the API runs the real nmap
on loopback only."""

from __future__ import annotations

import shutil
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from support.exposure import make_member
from support.factories import CERT_ADMIN
from support.web import Headers, bearer
from vardeild.access.model import Role
from vardeild.access.service import issue_token
from vardeild.app import create_web_app
from vardeild.exposure import service
from vardeild.exposure.model import ObservedService, ParsedScan, ReportedWeakness, Source
from vardeild.platform import Platform

API = "/api/v1"


def headers(platform: Platform, role: Role, organisation_id: int | None = None) -> Headers:
    with platform.session() as session:
        issued = issue_token(
            session, CERT_ADMIN, clock=platform.clock, name=f"t {role}", role=role,
            organisation_id=organisation_id,
        )  # fmt: skip
    return bearer(issued.secret)


@pytest.fixture
def world(platform: Platform) -> dict[str, Any]:
    """Two members with one finding each; tokens for both and for the CERT."""
    with platform.session() as session:
        a = make_member(session, platform.clock, networks=["127.0.0.0/29"])
        b = make_member(session, platform.clock, networks=["127.0.1.0/29"])
        for member, address in ((a, "127.0.0.2"), (b, "127.0.1.2")):
            seen = ObservedService(
                address, 3389, service="ms-wbt-server", product="RDP",
                weaknesses=(ReportedWeakness("nessus:1", "RDP", ("CVE-2019-0708",), 9.8),),
            )  # fmt: skip
            service.record_scan(
                session, CERT_ADMIN, member["id"],
                ParsedScan(source=Source.NESSUS, name="n.nessus", services=[seen]),
                matcher=None, config=service.ExposureConfig(), now=platform.clock.now(),
            )  # fmt: skip
    return {
        "a": a["id"],
        "b": b["id"],
        "a_user": headers(platform, Role.MEMBER_USER, a["id"]),
        "cert": headers(platform, Role.CERT_ANALYST),
    }


@pytest.fixture
def client(platform: Platform) -> TestClient:
    return TestClient(create_web_app(platform))


def test_member_sees_its_own_only(client: TestClient, world: dict[str, Any]) -> None:
    mine = client.get(f"{API}/organisations/{world['a']}/findings", headers=world["a_user"])
    assert mine.status_code == 200
    ((finding),) = mine.json()
    assert (finding["cve_id"], finding["address"], finding["priority"]) == (
        "CVE-2019-0708", "127.0.0.2", "P2",
    )  # fmt: skip
    for path in ("findings", "exposures", "exposure-report"):
        other = client.get(f"{API}/organisations/{world['b']}/{path}", headers=world["a_user"])
        assert other.status_code == 404, path
        assert "127.0.1.2" not in other.text
    report = client.get(
        f"{API}/organisations/{world['a']}/exposure-report",
        params={"format": "csv"},
        headers=world["a_user"],
    )
    assert report.status_code == 200
    assert report.headers["content-type"].startswith("text/csv")
    assert report.headers["x-tlp"] == "TLP:AMBER+STRICT"
    page = client.get(f"{API}/organisations/{world['a']}/exposure-report", headers=world["a_user"])
    assert "TLP:AMBER+STRICT" in page.text
    assert "script-src" not in page.headers["content-security-policy"]
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert "CVE-2019-0708" in report.text
    changed = client.post(
        f"{API}/exposure/findings/{finding['id']}/status",
        json={"status": "false_positive", "reason": "mine"},
        headers=world["a_user"],
    )
    assert changed.status_code == 403  # a member user may read, not change


def test_cert_changes_status_and_asks_the_sector(client: TestClient, world: dict[str, Any]) -> None:
    (finding,) = client.get(
        f"{API}/organisations/{world['a']}/findings", headers=world["cert"]
    ).json()
    bad = client.post(
        f"{API}/exposure/findings/{finding['id']}/status",
        json={"status": "accepted_risk", "reason": "VPN only"},
        headers=world["cert"],
    )
    assert bad.status_code == 422
    assert "an accepted risk needs a future expiry date" in bad.text
    ok = client.post(
        f"{API}/exposure/findings/{finding['id']}/status",
        json={"status": "accepted_risk", "reason": "VPN only", "until": "2027-03-01"},
        headers=world["cert"],
    )
    assert ok.json()["status"] == "accepted_risk"
    who = client.get(
        f"{API}/exposure/who-exposes", params={"cve": "CVE-2019-0708"}, headers=world["cert"]
    ).json()
    assert sorted(m["member_id"] for m in who) == sorted([world["a"], world["b"]])
    denied = client.get(
        f"{API}/exposure/who-exposes", params={"cve": "CVE-2019-0708"}, headers=world["a_user"]
    )
    assert denied.status_code == 403


def test_scan_outside_the_ranges_is_refused(client: TestClient, world: dict[str, Any]) -> None:
    refused = client.post(
        f"{API}/organisations/{world['a']}/exposure-scans",
        json={"targets": ["127.0.1.0/29"]},
        headers=world["cert"],
    )
    assert refused.status_code == 422
    assert "is outside the registered Internet-facing networks" in refused.text


@pytest.mark.skipif(shutil.which("nmap") is None, reason="nmap is not installed")
def test_scan_through_the_api_runs_real_nmap_on_loopback(
    client: TestClient, world: dict[str, Any], tmp_path: Path
) -> None:
    (tmp_path / "index.html").write_text("<title>Portal</title>")
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        answer = client.post(
            f"{API}/organisations/{world['a']}/exposure-scans",
            json={"targets": ["127.0.0.1"], "ports": str(port)},
            headers=world["cert"],
        )
    finally:
        server.shutdown()
        server.server_close()
    assert answer.status_code == 202
    assert [c[-1] for c in answer.json()["commands"]] == ["127.0.0.1/32"]
    exposures = client.get(
        f"{API}/organisations/{world['a']}/exposures", headers=world["a_user"]
    ).json()
    web = next(e for e in exposures if e["port"] == port)
    assert (web["product"], web["http_title"], web["sources"]) == (
        "SimpleHTTPServer", "Portal", ["scan"],
    )  # fmt: skip
