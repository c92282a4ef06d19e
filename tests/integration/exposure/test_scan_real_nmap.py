"""Real services on loopback, scanned with the real nmap through the whole use case: scope from
the registry, the command line, nmap -sV, parsing, matching against real (small) knowledge,
findings and notices. Only 127.0.0.0/8 is ever scanned."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from support.exposure import make_member
from support.factories import CERT
from support.vulndb import cpe_match, epss_csv, kev_catalogue, nvd_cve, nvd_response
from vardeild.app import notify_config
from vardeild.core.clock import FixedClock
from vardeild.exposure import nmap, scanning
from vardeild.exposure.scope import OutOfScope
from vardeild.exposure.service import ExposureConfig, list_exposures, list_findings
from vardeild.exposure.tables import ScanRunRow
from vardeild.exposure.vuln_matcher import VulnMatcher
from vardeild.exposure.vulndb_parsers import parse_document
from vardeild.notify.tables import NoticeRow
from vardeild.settings import Settings

pytestmark = pytest.mark.skipif(shutil.which("nmap") is None, reason="nmap is not installed")
ZONE = ZoneInfo("Europe/Oslo")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


@contextmanager
def http_server(root: Path) -> Iterator[int]:
    handler = partial(SimpleHTTPRequestHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


NGINX = """daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{}}
http {{
  access_log off;
  client_body_temp_path {d}; proxy_temp_path {d}; fastcgi_temp_path {d};
  uwsgi_temp_path {d}; scgi_temp_path {d};
  server {{ listen 127.0.0.1:{http};
    location / {{ default_type text/html;
      return 200 "<html><head><title>Pasientportal</title></head></html>"; }} }}
  server {{ listen 127.0.0.1:{tls} ssl;
    ssl_certificate {d}/cert.pem; ssl_certificate_key {d}/key.pem;
    ssl_protocols TLSv1 TLSv1.2; ssl_ciphers HIGH:AES128-SHA:@SECLEVEL=0;
    location / {{ return 200 "ok"; }} }}
}}
"""


@contextmanager
def nginx(directory: Path) -> Iterator[tuple[int, int]]:
    http, tls = free_port(), free_port()
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
         "-keyout", str(directory / "key.pem"), "-out", str(directory / "cert.pem"),
         "-subj", "/CN=portal.sykehus.test.no/O=Testsykehuset"],
        check=True, capture_output=True,
    )  # fmt: skip
    (directory / "nginx.conf").write_text(NGINX.format(d=directory, http=http, tls=tls))
    process = subprocess.Popen(
        ["nginx", "-c", str(directory / "nginx.conf"), "-p", str(directory), "-e",
         str(directory / "error.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for(http)
        wait_for(tls)
        yield http, tls
    finally:
        process.terminate()
        process.wait(10)


@contextmanager
def sshd(directory: Path) -> Iterator[int]:
    port = free_port()
    key = directory / "host_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    Path("/run/sshd").mkdir(exist_ok=True)  # privilege separation directory sshd insists on
    process = subprocess.Popen(
        ["/usr/sbin/sshd", "-D", "-f", "/dev/null", "-h", str(key), "-p", str(port),
         "-o", "ListenAddress=127.0.0.1", "-o", "PidFile=none"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for(port)
        yield port
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, int]]:
    """Python's http.server, nginx (HTTP and TLS) and OpenSSH on loopback high ports."""
    if shutil.which("nginx") is None or not Path("/usr/sbin/sshd").exists():
        pytest.skip("nginx-light and openssh-server are needed (scripts/bootstrap.sh)")
    root = tmp_path_factory.mktemp("www")
    (root / "index.html").write_text("<title>Intranett</title>")
    with (
        http_server(root) as python_port,
        nginx(tmp_path_factory.mktemp("nginx")) as (
            nginx_http,
            nginx_tls,
        ),
        sshd(tmp_path_factory.mktemp("sshd")) as ssh_port,
    ):
        yield {"python": python_port, "nginx": nginx_http, "tls": nginx_tls, "ssh": ssh_port}


def knowledge() -> VulnMatcher:
    """Real matcher from a small NVD response, KEV catalogue and EPSS file."""
    nvd = nvd_response(
        nvd_cve(
            "CVE-2099-1001",
            [cpe_match("cpe:2.3:a:openbsd:openssh:*:*:*:*:*:*:*:*", end_ex="9.8")],
            score=8.1,
            description="OpenSSH before 9.8 lets an attacker in.",
        ),
        nvd_cve(
            "CVE-2099-1002",
            [
                cpe_match(
                    "cpe:2.3:a:igor_sysoev:nginx:*:*:*:*:*:*:*:*",
                    start_in="1.20.0",
                    end_ex="1.22.2",
                )
            ],
            score=5.3,
        ),
        nvd_cve(
            "CVE-2099-1003",
            [cpe_match("cpe:2.3:a:igor_sysoev:nginx:*:*:*:*:*:*:*:*", end_ex="1.22.1")],
            score=9.8,
            description="nginx before 1.22.1: must NOT match 1.22.1 itself.",
        ),
    )
    cves = parse_document(nvd, "nvd.json").cves
    kev = parse_document(kev_catalogue(("CVE-2099-1001", True)), "kev.json").kev
    epss = parse_document(epss_csv(("CVE-2099-1002", 0.02, 0.8)), "epss.csv").epss
    return VulnMatcher(cves, kev, epss)


def test_scan_finds_the_real_services_and_their_cves(
    session: Session, clock: FixedClock, services: dict[str, int]
) -> None:
    member = make_member(session, clock, networks=["127.0.0.0/29"], criticality="high")
    ports = ",".join(str(p) for p in sorted(services.values()))
    config = ExposureConfig(scan=nmap.ScanOptions(ports=ports, max_rate=500))
    plan = scanning.plan_scan(
        session, CERT, member["id"], targets=["127.0.0.1"], config=config, now=clock.now(),
        zone=ZONE,
    )  # fmt: skip
    (command,) = plan.commands
    assert command[-1] == "127.0.0.1/32"
    assert command[command.index("--max-rate") + 1] == "500"
    seen: list[tuple[str, float]] = []

    @contextmanager
    def sessions() -> Iterator[Session]:
        yield session

    result = scanning.run_scan(
        sessions, CERT, plan, matcher=knowledge(), config=config, clock_now=clock.now,
        progress=lambda task, percent: seen.append((task, percent)),
        notify=notify_config(Settings()),
    )  # fmt: skip
    assert result.services == 4
    assert seen, "nmap reported no progress (--stats-every)"
    assert all(0.0 <= percent <= 100.0 for _, percent in seen)
    found = {e["port"]: e for e in list_exposures(session, CERT, member["id"])}
    assert set(found) == set(services.values())
    python, web, tls, ssh = (found[services[k]] for k in ("python", "nginx", "tls", "ssh"))
    assert (python["product"], python["http_title"]) == ("SimpleHTTPServer", "Intranett")
    assert (web["product"], web["version"]) == ("nginx", "1.22.1")
    assert web["cpe"] == "cpe:/a:igor_sysoev:nginx:1.22.1"
    assert web["http_title"] == "Pasientportal"
    assert ssh["product"] == "OpenSSH"
    assert ssh["version"].startswith("9.2p1")
    assert tls["service"] == "ssl/http"
    assert tls["tls"]["subject"] == (
        "commonName=portal.sykehus.test.no, organizationName=Testsykehuset"
    )
    assert "TLSv1.0" in tls["tls"]["weak_protocols"]
    assert tls["tls"]["not_after"] is not None
    assert all(e["sources"] == ["scan"] for e in found.values())
    # The real matcher: OpenSSH 9.2p1 < 9.8 (KEV, ransomware: P1); nginx 1.22.1 inside
    # [1.20.0, 1.22.2) on both nginx ports; never CVE-2099-1003 (before 1.22.1).
    findings = list_findings(session, CERT, member["id"])
    assert [(f["cve_id"], f["port"]) for f in findings][:1] == [("CVE-2099-1001", services["ssh"])]
    assert findings[0]["priority"] == "P1"
    assert findings[0]["kev_ransomware"] is True
    assert sorted((f["cve_id"], f["port"]) for f in findings[1:]) == sorted(
        [("CVE-2099-1002", services["nginx"]), ("CVE-2099-1002", services["tls"])]
    )
    assert "CVE-2099-1003" not in {f["cve_id"] for f in findings}
    notices = session.scalars(select(NoticeRow.source_key)).all()
    assert notices == [f"exposure-finding:{findings[0]['id']}"]
    run = session.scalar(select(ScanRunRow).where(ScanRunRow.id == result.scan_id))
    assert run is not None
    assert run.command == [" ".join(command)]
    assert run.complete is True


def test_a_target_outside_the_registered_ranges_is_never_handed_to_nmap(
    session: Session, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    member = make_member(session, clock, networks=["127.0.0.0/29"])
    handed: list[list[str]] = []
    monkeypatch.setattr(nmap, "run_nmap", lambda command, **_: handed.append(command) or b"")
    for targets in (["127.0.0.8/29"], ["127.0.0.0/29", "127.0.1.1"], ["10.0.0.1"]):
        with pytest.raises(OutOfScope, match="outside the registered Internet-facing networks"):
            scanning.plan_scan(
                session, CERT, member["id"], targets=targets, config=ExposureConfig(),
                now=clock.now(), zone=ZONE,
            )  # fmt: skip
    assert handed == []


def test_a_member_without_the_service_is_not_scanned(session: Session, clock: FixedClock) -> None:
    member = make_member(session, clock, services=["monitoring"])
    with pytest.raises(OutOfScope, match="does not take the vulnerability-overview service"):
        scanning.plan_scan(
            session, CERT, member["id"], targets=[], config=ExposureConfig(), now=clock.now(),
            zone=ZONE,
        )  # fmt: skip


def test_outside_the_scan_window_the_scan_waits(session: Session, clock: FixedClock) -> None:
    member = make_member(session, clock, networks=["127.0.0.0/29"])
    config = ExposureConfig(window="01:00-05:00")  # the clock says 13:00 in Oslo
    with pytest.raises(Exception, match="scans run only 01:00-05:00"):
        scanning.plan_scan(
            session, CERT, member["id"], targets=[], config=config, now=clock.now(), zone=ZONE
        )
    plan = scanning.plan_scan(
        session, CERT, member["id"], targets=[], config=config, now=clock.now(), zone=ZONE,
        ignore_window=True,
    )  # fmt: skip
    assert plan.targets == ["127.0.0.0/29"]


def test_both_address_families_make_one_nmap_run_each(session: Session, clock: FixedClock) -> None:
    member = make_member(session, clock, networks=["127.0.0.0/29", "::1/128"])
    plan = scanning.plan_scan(
        session, CERT, member["id"], targets=[], config=ExposureConfig(), now=clock.now(),
        zone=ZONE,
    )  # fmt: skip
    assert plan.groups == [["127.0.0.0/29"], ["::1/128"]]
    assert [c[-1] for c in plan.commands] == ["127.0.0.0/29", "::1/128"]
    assert "-6" not in plan.commands[0]
    assert plan.commands[1][-2:] == ["-6", "::1/128"]
