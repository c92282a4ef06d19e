"""Every scan file of the shared corpus imports, with exact counts, or is refused with a
precise reason; the XXE sample is refused as unsafe; an imported file lands for a member."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from support.exposure import make_member
from support.factories import CERT
from vardeild.core.clock import FixedClock
from vardeild.exposure import service
from vardeild.exposure.imports import read_import
from vardeild.exposure.model import ImportRefused

# file -> (format, services, hosts covered, records refused, distinct CVEs reported), or the
# start of the reason the whole file is refused.
EXPECTED: dict[str, tuple[str, int, int, int, int] | str] = {
    "scans_nmap/defectdojo/issue12411.xml": ("nmap", 4, 2, 0, 0),
    "scans_nmap/defectdojo/issue4406.xml": ("nmap", 25, 1, 0, 8),
    "scans_nmap/defectdojo/nmap_0port.xml": ("nmap", 0, 1, 0, 0),
    "scans_nmap/defectdojo/nmap_1port.xml": ("nmap", 1, 1, 0, 0),
    "scans_nmap/defectdojo/nmap_multiple_port.xml": ("nmap", 13, 1, 0, 0),
    "scans_nmap/defectdojo/nmap_script_vulners.xml": ("nmap", 1, 1, 0, 2),
    "scans_nmap/python-libnmap/1_host_ping.xml": ("nmap", 0, 1, 0, 0),
    "scans_nmap/python-libnmap/1_hosts.xml": ("nmap", 5, 1, 0, 0),
    "scans_nmap/python-libnmap/1_hosts_banner.xml": ("nmap", 5, 1, 0, 0),
    "scans_nmap/python-libnmap/1_hosts_banner_ports.xml": ("nmap", 2, 1, 0, 0),
    "scans_nmap/python-libnmap/1_hosts_banner_ports_notsyn.xml": ("nmap", 2, 1, 0, 0),
    "scans_nmap/python-libnmap/1_hosts_banner_ports_xmas.xml": ("nmap", 0, 1, 0, 0),
    "scans_nmap/python-libnmap/1_hosts_diff.xml": ("nmap", 4, 1, 0, 0),
    "scans_nmap/python-libnmap/1_hosts_down.xml": ("nmap", 0, 1, 0, 0),
    "scans_nmap/python-libnmap/1_hosts_nohostname.xml": ("nmap", 0, 1, 0, 0),
    "scans_nmap/python-libnmap/1_os_banner_scripts.xml": ("nmap", 8, 1, 0, 0),
    "scans_nmap/python-libnmap/2_hosts.xml": ("nmap", 8, 2, 0, 0),
    "scans_nmap/python-libnmap/2_hosts_achange.xml": ("nmap", 7, 2, 0, 0),
    "scans_nmap/python-libnmap/2_hosts_version.xml": ("nmap", 8, 2, 0, 0),
    "scans_nmap/python-libnmap/2_null_hosts.xml": ("nmap", 0, 2, 0, 0),
    "scans_nmap/python-libnmap/2_tcp_hosts.xml": ("nmap", 8, 2, 0, 0),
    "scans_nmap/python-libnmap/defused_et_included.xml": (
        "defused_et_included.xml: XML, but neither nmap (<nmaprun>) nor Nessus v2 "
        "(<NessusClientData_v2>); the root element is <root>"
    ),
    "scans_nmap/python-libnmap/defused_et_local_includer.xml": (
        "defused_et_local_includer.xml: refused as unsafe XML (EntitiesForbidden"
    ),
    "scans_nmap/python-libnmap/diff_1_host_ping_mac_changed.xml": ("nmap", 0, 1, 0, 0),
    "scans_nmap/python-libnmap/dionaea_scan.xml": ("nmap", 16, 1, 0, 5),
    "scans_nmap/python-libnmap/extra_ports.xml": ("nmap", 16, 1, 0, 5),
    "scans_nmap/python-libnmap/full_sudo5.xml": ("nmap", 11, 4, 0, 0),
    "scans_nmap/python-libnmap/full_sudo6.xml": ("nmap", 12, 4, 0, 0),
    "scans_nmap/python-libnmap/fullscan.xml": ("nmap", 9, 2, 0, 0),
    "scans_nmap/python-libnmap/os_scan5.xml": ("nmap", 11, 4, 0, 0),
    "scans_nmap/python-libnmap/os_scan6.xml": ("nmap", 11, 3, 0, 0),
    "scans_nmap/python-libnmap/test_osclass.xml": ("nmap", 0, 0, 1, 0),
    "scans_nessus/defectdojo/nessus_many_vuln.csv": (
        "nessus_many_vuln.csv: a Nessus CSV export (its header names plugin columns)"
    ),
    "scans_nessus/defectdojo/nessus_many_vuln.xml": ("nessus", 2, 1, 0, 0),
    "scans_nessus/defectdojo/nessus_new.csv": (
        "nessus_new.csv: a Nessus CSV export (its header names plugin columns)"
    ),
    "scans_nessus/defectdojo/nessus_v_unknown.xml": ("nessus", 87, 7, 0, 1),
    "scans_nessus/defectdojo/nessus_was_no_vuln.xml": ("nessus", 0, 1, 0, 0),
    "scans_nessus/defectdojo/nessus_with_cvssv3.nessus": ("nessus", 2, 1, 0, 136),
    "scans_nuclei/defectdojo/empty.jsonl": ("nuclei", 0, 0, 0, 0),
    "scans_nuclei/defectdojo/invalid_cwe.json": ("nuclei", 1, 1, 0, 0),
    "scans_nuclei/defectdojo/issue_14071.json": ("nuclei", 24, 1, 3, 0),
    "scans_nuclei/defectdojo/issue_9201.json": ("nuclei", 1, 1, 0, 0),
    "scans_nuclei/defectdojo/many_findings.json": ("nuclei", 18, 2, 0, 0),
    "scans_nuclei/defectdojo/many_findings_new.json": ("nuclei", 2, 1, 0, 1),
    "scans_nuclei/defectdojo/many_findings_third.json": ("nuclei", 2, 2, 0, 0),
    "scans_nuclei/defectdojo/multiple_matches.json": ("nuclei", 2, 1, 0, 0),
    "scans_nuclei/defectdojo/multiple_v3.json": ("nuclei", 6, 2, 0, 0),
    "scans_nuclei/defectdojo/no_findings.json": ("nuclei", 0, 0, 0, 0),
}


def test_the_table_covers_every_scan_file(corpus: Path) -> None:
    found = {
        str(path.relative_to(corpus))
        for folder in ("scans_nmap", "scans_nessus", "scans_nuclei")
        for path in (corpus / folder).rglob("*")
        if path.is_file()
    }
    assert found == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_file_imports_or_is_refused_precisely(corpus: Path, name: str) -> None:
    expected = EXPECTED[name]
    if isinstance(expected, str):
        with pytest.raises(ImportRefused) as refused:
            read_import(corpus / name)
        assert str(refused.value).startswith(expected)
        return
    scan = read_import(corpus / name)
    cves = {c for s in scan.services for w in s.weaknesses for c in w.cve_ids}
    got = (scan.source.value, len(scan.services), len(scan.hosts), len(scan.refused), len(cves))
    assert got == expected
    assert all(r.reason for r in scan.refused)


def test_refused_records_say_which_and_why(corpus: Path) -> None:
    nuclei = read_import(corpus / "scans_nuclei/defectdojo/issue_14071.json")
    assert [r.record for r in nuclei.refused] == [
        "issue_14071.json line 3",
        "issue_14071.json line 4",
        "issue_14071.json line 27",
    ]
    assert all(r.reason.startswith("no usable address") for r in nuclei.refused)
    osclass = read_import(corpus / "scans_nmap/python-libnmap/test_osclass.xml")
    assert osclass.refused[0].reason == "no IPv4 or IPv6 address (addresses given: ['IP'])"


def test_an_imported_file_lands_for_its_member(corpus: Path, session: Session) -> None:
    clock = FixedClock(datetime(2026, 11, 28, 12, 0, tzinfo=UTC))
    member: dict[str, Any] = make_member(session, clock, networks=["192.168.0.0/24"])
    scan = read_import(corpus / "scans_nmap/defectdojo/nmap_script_vulners.xml")
    result = service.record_scan(
        session, CERT, member["id"], scan, matcher=None, config=service.ExposureConfig(),
        now=clock.now(),
    )  # fmt: skip
    assert result.services == 1
    (exposure,) = service.list_exposures(session, CERT, member["id"])
    assert (exposure["address"], exposure["port"], exposure["product"], exposure["version"]) == (
        "192.168.0.1",
        5022,
        "OpenSSH",
        "7.4",
    )
    findings = service.list_findings(session, CERT, member["id"])
    assert {f["cve_id"] for f in findings} == {"CVE-2018-15919", "CVE-2017-15906"}
    again = service.record_scan(
        session, CERT, member["id"], scan, matcher=None, config=service.ExposureConfig(),
        now=clock.now(),
    )  # fmt: skip
    assert again.new_findings == []
