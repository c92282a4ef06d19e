"""Nessus v2 and Nuclei (old and new key names) into services; bad records named, good kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vardeild.exposure.imports import detect_format, read_import
from vardeild.exposure.imports_nessus import parse_nessus
from vardeild.exposure.imports_nuclei import parse_nuclei
from vardeild.exposure.model import ImportRefused, Source, Transport

NESSUS = b"""<?xml version="1.0" ?>
<NessusClientData_v2><Report name="r">
<ReportHost name="web1"><HostProperties>
 <tag name="host-ip">192.0.2.10</tag><tag name="host-fqdn">web1.example.no</tag></HostProperties>
 <ReportItem port="0" svc_name="general" protocol="tcp" severity="0" pluginID="19506"
  pluginName="Nessus Scan Information" pluginFamily="Settings"/>
 <ReportItem port="3389" svc_name="msrdp" protocol="tcp" severity="2" pluginID="58453"
  pluginName="Terminal Services Doesn't Use NLA" pluginFamily="Misc.">
  <cvss3_base_score>6.5</cvss3_base_score></ReportItem>
 <ReportItem port="443" svc_name="www" protocol="tcp" severity="3" pluginID="1"
  pluginName="Apache &lt; 2.4.58"><cve>CVE-2023-45802</cve><cve>CVE-2023-43622</cve>
  <cvss_base_score>7.5</cvss_base_score><cpe>cpe:/a:apache:http_server</cpe></ReportItem>
 <ReportItem port="0" svc_name="general" protocol="icmp" severity="1" pluginID="10114"
  pluginName="ICMP Timestamp Request Remote Date Disclosure"/>
 <ReportItem port="eighty" svc_name="www" protocol="tcp" severity="1" pluginID="2"
  pluginName="bad"/>
</ReportHost>
<ReportHost name="http://google.com/"><HostProperties/></ReportHost>
<ReportHost name="not a host!"><HostProperties/></ReportHost>
</Report></NessusClientData_v2>"""


def test_nessus_items_grouped_per_service_with_cves() -> None:
    scan = parse_nessus(NESSUS, "n.nessus")
    assert scan.source is Source.NESSUS
    assert scan.hosts == {"192.0.2.10", "google.com"}
    by_port = {s.port: s for s in scan.services}
    assert sorted(by_port) == [0, 443, 3389]  # port 0 only because ICMP named a weakness
    web = by_port[443]
    assert web.hostname == "web1.example.no"
    assert web.cpe == "cpe:/a:apache:http_server"
    assert web.weaknesses[0].cve_ids == ("CVE-2023-43622", "CVE-2023-45802")
    assert web.weaknesses[0].cvss_score == 7.5
    assert by_port[3389].weaknesses[0].reference == "nessus:58453"
    assert by_port[3389].weaknesses[0].cvss_score == 6.5
    assert [r.reason for r in scan.refused] == [
        "port is not a number, or protocol is not tcp or udp",
        "no usable address: host-ip, name and host-fqdn are all unusable",
    ]
    assert "plugin 2" in scan.refused[0].record
    assert "'not a host!'" in scan.refused[1].record


def test_nessus_csv_is_refused_with_the_reason() -> None:
    with pytest.raises(ImportRefused, match="Nessus CSV export"):
        parse_nessus(b"Plugin,Plugin Name,Family\n1,x,y\n", "n.csv")


OLD = {
    "templateID": "openssh5.3-detect",
    "info": {"name": "OpenSSH 5.3 Detection", "severity": "low"},
    "type": "network",
    "host": "https://nuclei-example.com",
    "matched": "nuclei-example.com:22",
    "ip": "192.0.2.20",
}
NEW = {
    "template-id": "CVE-2018-15473",
    "info": {
        "name": "OpenSSH Username Enumeration",
        "severity": "medium",
        "classification": {"cve-id": ["cve-2018-15473"], "cvss-score": 5.3},
    },
    "type": "network",
    "host": "https://nuclei-example.com",
    "matched-at": "nuclei-example.com:2222",
    "ip": "192.0.2.20",
}
URL_ONLY = {
    "template-id": "tech-detect",
    "info": {"name": "Tech", "severity": "info"},
    "type": "http",
    "host": "https://www.example.no",
    "matched-at": "https://www.example.no/login",
}


def test_nuclei_old_and_new_key_names() -> None:
    lines = [json.dumps(OLD), json.dumps(NEW), json.dumps(URL_ONLY)]
    scan = parse_nuclei("\n".join(lines).encode(), "n.jsonl")
    assert [(s.address, s.port) for s in scan.services] == [
        ("192.0.2.20", 22),
        ("192.0.2.20", 2222),
        ("www.example.no", 443),
    ]
    assert scan.services[0].weaknesses[0].reference == "nuclei:openssh5.3-detect"
    assert scan.services[1].weaknesses[0].cve_ids == ("CVE-2018-15473",)
    assert scan.services[1].weaknesses[0].cvss_score == 5.3
    assert scan.services[2].weaknesses == ()  # info severity, no CVE: inventory only
    assert scan.refused == []


def test_nuclei_bad_lines_are_named_and_good_ones_land() -> None:
    no_template = {k: v for k, v in OLD.items() if k != "templateID"}
    no_where = {"template-id": "x", "info": {}, "type": "http"}
    dns = {"template-id": "dns-saas", "type": "dns", "host": "www.example.no"}
    text = "\n".join(
        [
            json.dumps(OLD),
            "{not json",
            json.dumps(no_template),
            json.dumps(no_where),
            "[1]",
            "",
            json.dumps(dns),
        ]
    )
    scan = parse_nuclei(text.encode(), "n.jsonl")
    assert [(s.port, s.transport) for s in scan.services] == [
        (22, Transport.TCP),
        (53, Transport.UDP),
    ]
    reasons = {r.record: r.reason for r in scan.refused}
    assert reasons["n.jsonl line 2"].startswith("not JSON (")
    assert reasons["n.jsonl line 3"] == "has neither template-id nor templateID"
    assert reasons["n.jsonl line 4"].startswith("no usable address")
    assert reasons["n.jsonl line 5"] == "a result must be a JSON object, not list"


def test_nuclei_json_array_document() -> None:
    scan = parse_nuclei(json.dumps([NEW, URL_ONLY], indent=2).encode(), "n.json")
    assert [r.record for r in scan.refused] == []
    assert len(scan.services) == 2


def test_detect_and_read(tmp_path: Path) -> None:
    assert detect_format(NESSUS, "a") is Source.NESSUS
    assert detect_format(b"<?xml?>\n<!DOCTYPE nmaprun>\n<nmaprun/>", "a") is Source.NMAP
    assert detect_format(b'{"a":1}', "a") is Source.NUCLEI
    path = tmp_path / "x.xml"
    path.write_bytes(
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e SYSTEM "file:///x">]><r>&e;</r>'
    )
    with pytest.raises(ImportRefused, match=r"x\.xml: refused as unsafe XML"):
        read_import(path)
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(ImportRefused, match="not a supported format"):
        read_import(path)
