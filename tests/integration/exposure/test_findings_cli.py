"""`vardeild exposure ...` end to end, in-process on a fresh database of the backend under test:
real knowledge loaded through the vulndb service, an nmap XML import matched by the real
matcher, findings, status changes, the report, the sector query, and refusals."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.cli import Cli, migrated_platform
from support.exposure import make_member
from support.factories import CERT
from support.vulndb import cpe_match, epss_csv, kev_catalogue, nvd_cve, nvd_response
from vardeild.exposure.vulndb_service import load_vulndb_document
from vardeild.platform import Platform

NMAP = b"""<?xml version="1.0"?>
<!DOCTYPE nmaprun>
<nmaprun scanner="nmap"><scaninfo type="connect" protocol="tcp" services="22,80"/>
<host><status state="up"/><address addr="127.0.0.30" addrtype="ipv4"/><ports>
<port protocol="tcp" portid="22"><state state="open"/>
 <service name="ssh" product="OpenSSH" version="7.4" extrainfo="protocol 2.0">
 <cpe>cpe:/a:openbsd:openssh:7.4</cpe></service></port>
<port protocol="tcp" portid="80"><state state="open"/>
 <service name="http" product="nginx" version="1.25.3"><cpe>cpe:/a:igor_sysoev:nginx:1.25.3</cpe>
 </service></port>
</ports></host>
<host><status state="up"/><address addr="203.0.113.9" addrtype="ipv4"/><ports>
<port protocol="tcp" portid="443"><state state="open"/><service name="https"/></port>
</ports></host>
</nmaprun>"""


@pytest.fixture
def platform_(fresh_database_url: str, tmp_path: Path) -> Iterator[Platform]:
    with migrated_platform(fresh_database_url, tmp_path / "data") as built:
        yield built


@pytest.fixture
def cli(platform_: Platform, fresh_database_url: str, tmp_path: Path) -> Cli:
    return Cli(fresh_database_url, tmp_path / "data")


@pytest.fixture
def member(platform_: Platform) -> dict[str, Any]:
    """A member with 127.0.0.0/24, and the knowledge: an OpenSSH CVE in KEV, an nginx one."""
    documents = {
        "nvd.json": nvd_response(
            nvd_cve(
                "CVE-2099-5001",
                [cpe_match("cpe:2.3:a:openbsd:openssh:*:*:*:*:*:*:*:*", end_ex="7.7")],
                score=5.3,
            ),
            nvd_cve(
                "CVE-2099-5002",
                [cpe_match("cpe:2.3:a:igor_sysoev:nginx:*:*:*:*:*:*:*:*", end_ex="1.25.0")],
            ),
        ),
        "kev.json": kev_catalogue(("CVE-2099-5001", True)),
        "epss.csv": epss_csv(("CVE-2099-5001", 0.5, 0.99)),
    }
    with platform_.session() as session:
        for name, data in documents.items():
            load_vulndb_document(session, CERT, data, name=name, clock=platform_.clock)
        return make_member(session, platform_.clock)


def test_import_match_track_and_report(cli: Cli, member: dict[str, Any], tmp_path: Path) -> None:
    scan = tmp_path / "scan.xml"
    scan.write_bytes(NMAP)
    out = cli("exposure", "import", str(member["id"]), str(scan)).stdout
    assert "scan.xml: 2 services, 1 new findings" in out
    assert "refused scan.xml 203.0.113.9 port 443/tcp: 203.0.113.9 is not in the registered" in out
    (finding,) = cli.json("exposure", "findings", str(member["id"]))
    assert (finding["cve_id"], finding["priority"], finding["kev_ransomware"]) == (
        "CVE-2099-5001", "P1", True,
    )  # fmt: skip
    assert "openssh" in finding["reason"]
    exposures = cli.json("exposure", "list", str(member["id"]))
    assert [(e["port"], e["product"]) for e in exposures] == [(22, "OpenSSH"), (80, "nginx")]
    # Re-import: nothing new.
    assert "0 new findings" in cli("exposure", "import", str(member["id"]), str(scan)).stdout
    assert "1 weekly summaries queued" in cli("exposure", "weekly").stdout
    assert "0 weekly summaries queued" in cli("exposure", "weekly").stdout  # once a week
    # Accept, then false positive, each audited in the history.
    cli("exposure", "accept", str(finding["id"]), "--reason", "VPN only", "--until", "2027-06-01")
    cli("exposure", "false-positive", str(finding["id"]), "--reason", "backported")
    history = cli.json("exposure", "findings", str(member["id"]), "--history", str(finding["id"]))
    assert [h["event"] for h in history] == ["found", "accepted", "false_positive"]
    who = cli.json("exposure", "who-exposes", "--product", "OpenSSH")
    assert [(m["member_id"], len(m["exposures"])) for m in who] == [(member["id"], 1)]
    pdf = tmp_path / "r.pdf"
    cli("exposure", "report", str(member["id"]), "-o", str(pdf))
    assert pdf.read_bytes().startswith(b"%PDF-")
    csv = tmp_path / "r.csv"
    cli("exposure", "report", str(member["id"]), "-o", str(csv), "--language", "nb")
    assert "CVE-2099-5001" in csv.read_text()


def test_bad_input_is_refused_with_the_reason(
    cli: Cli, member: dict[str, Any], tmp_path: Path
) -> None:
    xxe = tmp_path / "xxe.xml"
    xxe.write_bytes(b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                    b"<nmaprun>&e;</nmaprun>")  # fmt: skip
    good = tmp_path / "good.xml"
    good.write_bytes(NMAP)
    result = cli("exposure", "import", str(member["id"]), str(xxe), str(good), code=2)
    assert "refused xxe.xml: refused as unsafe XML (EntitiesForbidden" in result.stdout
    assert "good.xml: 2 services" in result.stdout  # the good file still landed
    bad = cli("exposure", "scan", str(member["id"]), "--target", "10.0.0.0/24", code=2)
    assert "outside the registered Internet-facing networks" in bad.stderr
    cli("exposure", "accept", "999999", "--reason", "x", "--until", "2027-01-01", code=3)
    cli("exposure", "accept", "1", "--reason", "x", "--until", "soon", code=2)
