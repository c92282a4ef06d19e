"""The vulnerability knowledge and scan imports over the API: load a document, read the stats,
ask what applies to a product, sync from a loopback source, and import a scan file for a member
(the API counterparts of `vardeild vulndb load|stats|sync` and `vardeild exposure import`)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient

from support.exposure import make_member
from support.vulndb import cpe_match, kev_catalogue, nvd_cve, nvd_response
from support.web import token_maker
from vardeild.access.model import Role
from vardeild.app import create_web_app
from vardeild.platform import Platform

API = "/api/v1"
SSH = "cpe:2.3:a:openbsd:openssh:*:*:*:*:*:*:*:*"
NVD = nvd_response(
    nvd_cve("CVE-2099-6001", [cpe_match(SSH, start_in="7.0", end_ex="7.7")], score=9.8),
    nvd_cve("CVE-2099-6002", [cpe_match(SSH, end_ex="6.0")], score=5.0),
)
NMAP = b"""<?xml version="1.0"?>
<nmaprun scanner="nmap"><host><status state="up"/><address addr="127.0.0.3" addrtype="ipv4"/>
<ports><port protocol="tcp" portid="22"><state state="open"/>
<service name="ssh" product="OpenSSH" version="7.4"><cpe>cpe:/a:openbsd:openssh:7.4</cpe>
</service></port></ports></host>
<host><status state="up"/><address addr="203.0.113.9" addrtype="ipv4"/>
<ports><port protocol="tcp" portid="443"><state state="open"/><service name="https"/></port>
</ports></host></nmaprun>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE nmaprun [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<nmaprun scanner="nmap">&x;</nmaprun>"""


@pytest.fixture
def world(platform: Platform) -> dict[str, Any]:
    token = token_maker(platform)
    with platform.session() as session:
        a = make_member(session, platform.clock, networks=["127.0.0.0/29"])["id"]
        b = make_member(session, platform.clock, networks=["127.0.1.0/29"])["id"]
    return {
        "a": a,
        "b": b,
        "cert": token(Role.CERT_ANALYST),
        "readonly": token(Role.CERT_READONLY),
        "a_admin": token(Role.MEMBER_ADMIN, a),
        "b_user": token(Role.MEMBER_USER, b),
    }


@pytest.fixture
def client(platform: Platform) -> TestClient:
    return TestClient(create_web_app(platform))


def test_load_then_stats_and_match_say_what_applies_and_why(
    client: TestClient, world: dict[str, Any]
) -> None:
    loaded = client.post(
        f"{API}/vulndb/load", params={"name": "nvd.json"}, content=NVD, headers=world["cert"]
    )
    assert loaded.status_code == 200, loaded.text
    assert (loaded.json()["kind"], loaded.json()["created"]) == ("nvd", 2)
    stats = client.get(f"{API}/vulndb/stats", headers=world["cert"]).json()
    assert (stats["cves"], stats["criteria"]) == (2, 2)

    # Any token may ask; the reason names the range that made the CVE apply.
    for who in ("cert", "b_user"):
        answer = client.get(
            f"{API}/vulndb/match", params={"cpe": "cpe:/a:openbsd:openssh:7.4"}, headers=world[who]
        )
        assert answer.status_code == 200, answer.text
        [match] = answer.json()["matches"]
        assert match["cve_id"] == "CVE-2099-6001"
        assert "7.0" in match["reason"]
        assert "7.7" in match["reason"]
        assert match["cvss_score"] == 9.8
    by_name = client.get(
        f"{API}/vulndb/match",
        params={"vendor": "openbsd", "product": "openssh", "version": "5.9"},
        headers=world["cert"],
    ).json()["matches"]
    assert [m["cve_id"] for m in by_name] == ["CVE-2099-6002"]  # 5.9 < 6.0, before 7.0
    unnamed = client.get(f"{API}/vulndb/match", params={"product": "x"}, headers=world["cert"])
    assert unnamed.status_code == 422
    assert "give a cpe, or a product and its version" in unnamed.text


def test_a_document_of_no_known_kind_is_refused_and_members_may_not_load(
    client: TestClient, world: dict[str, Any]
) -> None:
    refused = client.post(
        f"{API}/vulndb/load", params={"name": "odd.json"}, content=b'{"hello": 1}',
        headers=world["cert"],
    )  # fmt: skip
    assert refused.status_code == 422
    assert "odd.json" in refused.text
    for who in ("a_admin", "readonly"):
        answer = client.post(f"{API}/vulndb/load", content=NVD, headers=world[who])
        assert answer.status_code == 403, who
        assert client.get(f"{API}/vulndb/stats", headers=world["a_admin"]).status_code == 403
    assert client.get(f"{API}/vulndb/stats", headers=world["cert"]).json()["cves"] == 0


def test_a_scan_file_imports_for_its_member_only_and_unsafe_xml_is_refused(
    client: TestClient, world: dict[str, Any]
) -> None:
    client.post(
        f"{API}/vulndb/load", params={"name": "nvd.json"}, content=NVD, headers=world["cert"]
    )
    path = f"{API}/organisations/{world['a']}/exposure-imports"
    answer = client.post(path, params={"name": "a.xml"}, content=NMAP, headers=world["cert"])
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert (result["services"], result["new_findings"]) == (1, 1)
    assert [r["record"] for r in result["refused"]] == ["a.xml 203.0.113.9 port 443/tcp"]
    findings = client.get(f"{API}/organisations/{world['a']}/findings", headers=world["a_admin"])
    assert [f["cve_id"] for f in findings.json()] == ["CVE-2099-6001"]

    unsafe = client.post(path, params={"name": "x.xml"}, content=XXE, headers=world["cert"])
    assert unsafe.status_code == 422
    assert "unsafe XML" in unsafe.text
    # A member may not import, for itself or another; another's organisation is not found.
    assert client.post(path, content=NMAP, headers=world["a_admin"]).status_code == 403
    assert client.post(path, content=NMAP, headers=world["b_user"]).status_code == 404


class _Kev(BaseHTTPRequestHandler):
    body = kev_catalogue(("CVE-2099-6001", True))

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def kev_source() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Kev)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/kev.json"
    finally:
        server.shutdown()
        server.server_close()


def test_a_sync_started_over_the_api_stores_what_the_source_serves(
    client: TestClient, platform: Platform, world: dict[str, Any], kev_source: str
) -> None:
    platform.settings.vulndb_kev_url = kev_source
    started = client.post(f"{API}/vulndb/sync", params={"source": "kev"}, headers=world["cert"])
    assert started.status_code == 202
    assert started.json() == {"sources": ["kev"], "status": "started"}
    # The test client runs the background task before it returns.
    stats = client.get(f"{API}/vulndb/stats", headers=world["cert"]).json()
    assert (stats["kev"], stats["kev_ransomware"]) == (1, 1)
    assert "kev" in stats["synced"]
    bad = client.post(f"{API}/vulndb/sync", params={"source": "nope"}, headers=world["cert"])
    assert bad.status_code == 422
    assert client.post(f"{API}/vulndb/sync", headers=world["a_admin"]).status_code == 403
