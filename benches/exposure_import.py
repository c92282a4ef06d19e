"""Bench the exposure side: parsing an nmap XML import and recording it for a member.

    .venv/bin/python benches/exposure_import.py [--hosts 1000] [--ports 10]

Writes an nmap XML of HOSTS hosts with PORTS open ports each (product, version, CPE), parses
it with defusedxml, then records it for one member in a fresh SQLite database (exposures
upserted, the scanner-reported CVE of every tenth service tracked as a finding), twice: the
second time is a re-import, which changes only last-seen times. Prints services per second.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from vardeild.access.model import SYSTEM
from vardeild.app import build_platform
from vardeild.exposure import service
from vardeild.exposure.nmap_xml import parse_nmap_xml
from vardeild.members import service as members
from vardeild.settings import Settings


def nmap_xml(hosts: int, ports: int) -> bytes:
    """Return an nmap XML document of hosts × ports open services in 10.0.0.0/8."""
    parts = ['<?xml version="1.0"?>\n<!DOCTYPE nmaprun>\n<nmaprun scanner="nmap">']
    for h in range(hosts):
        address = f"10.{h // 65536 % 256}.{h // 256 % 256}.{h % 256}"
        parts.append(f'<host><status state="up"/><address addr="{address}" addrtype="ipv4"/>')
        parts.append("<ports>")
        for p in range(ports):
            vulners = (
                '<script id="vulners" output=""><table key="cpe:/a:openbsd:openssh:7.4"><table>'
                f'<elem key="id">CVE-2018-{15000 + p}</elem><elem key="cvss">5.3</elem>'
                "</table></table></script>"
                if (h * ports + p) % 10 == 0
                else ""
            )
            parts.append(
                f'<port protocol="tcp" portid="{1000 + p}"><state state="open"/>'
                '<service name="ssh" product="OpenSSH" version="7.4">'
                f"<cpe>cpe:/a:openbsd:openssh:7.4</cpe></service>{vulners}</port>"
            )
        parts.append("</ports></host>")
    parts.append("</nmaprun>")
    return "".join(parts).encode()


def main() -> None:
    """Run the bench and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--ports", type=int, default=10)
    args = parser.parse_args()
    data = nmap_xml(args.hosts, args.ports)
    started = time.perf_counter()
    scan = parse_nmap_xml(data, "bench.xml")
    parse_seconds = time.perf_counter() - started
    count = len(scan.services)
    print(f"parse: {count} services from {len(data) / 1e6:.1f} MB in {parse_seconds:.2f} s "
          f"({count / parse_seconds:,.0f} services/s)")  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder), database_url=f"sqlite:///{folder}/b.db")
        platform = build_platform(settings, migrate=True)
        with platform.session() as session:
            member = members.create_organisation(
                session, SYSTEM,
                {"name": "Bench HF", "sector": "hospital_trust", "networks": ["10.0.0.0/8"],
                 "membership": {"state": "active"}, "services": ["vulnerability_overview"]},
                clock=platform.clock, key_inspector=None,
            )  # fmt: skip
        for label in ("first import", "re-import"):
            started = time.perf_counter()
            with platform.session() as session:
                result = service.record_scan(
                    session, SYSTEM, member["id"], scan, matcher=None,
                    config=service.ExposureConfig(), now=platform.clock.now(),
                )  # fmt: skip
            seconds = time.perf_counter() - started
            rate = result.services / seconds
            print(f"{label}: {result.services} services, {len(result.new_findings)} new "
                  f"findings in {seconds:.2f} s ({rate:,.0f} services/s)")  # fmt: skip
        platform.engine.dispose()


if __name__ == "__main__":
    main()
