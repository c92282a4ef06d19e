"""nmap XML into services: ports, products, CPEs, TLS facts, titles, vulners CVEs, refusals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from vardeild.exposure.model import ImportRefused, Source, Transport
from vardeild.exposure.nmap_xml import parse_nmap_xml

HEAD = b'<?xml version="1.0"?>\n<!DOCTYPE nmaprun>\n'

SCAN = (
    HEAD
    + b"""<nmaprun scanner="nmap" args="nmap -sV">
<scaninfo type="connect" protocol="tcp" numservices="3" services="22,80,443"/>
<host><status state="up"/><address addr="127.0.0.1" addrtype="ipv4"/>
<address addr="00:11:22:33:44:55" addrtype="mac"/>
<hostnames><hostname name="Web.Example.NO" type="PTR"/></hostnames>
<ports>
<port protocol="tcp" portid="22"><state state="open"/>
  <service name="ssh" product="OpenSSH" version="9.2p1 Debian 2+deb12u3" extrainfo="protocol 2.0">
  <cpe>cpe:/o:linux:linux_kernel</cpe><cpe>cpe:/a:openbsd:openssh:9.2p1</cpe></service>
  <script id="vulners" output="..."><table key="cpe:/a:openbsd:openssh:9.2p1">
   <table><elem key="id">CVE-2023-38408</elem><elem key="cvss">9.8</elem></table>
   <table><elem key="id">PACKETSTORM:1</elem><elem key="cvss">5.0</elem></table>
  </table></script></port>
<port protocol="tcp" portid="80"><state state="closed"/><service name="http"/></port>
<port protocol="tcp" portid="443"><state state="open"/>
  <service name="http" product="nginx" version="1.22.1" tunnel="ssl"/>
  <script id="http-title" output="Welcome"><elem key="title">Welcome to nginx!</elem></script>
  <script id="ssl-cert" output="...">
   <table key="subject"><elem key="commonName">web.example.no</elem></table>
   <table key="issuer"><elem key="commonName">Example CA</elem></table>
   <table key="validity"><elem key="notAfter">2027-01-31T12:00:00</elem></table></script>
  <script id="ssl-enum-ciphers" output="...">
   <table key="TLSv1.0"><table key="ciphers">
     <table><elem key="name">TLS_RSA_WITH_RC4_128_SHA</elem><elem key="strength">C</elem></table>
   </table></table>
   <table key="TLSv1.2"><table key="ciphers">
     <table><elem key="name">TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256</elem>
       <elem key="strength">A</elem></table>
   </table></table></script></port>
<port protocol="udp" portid="99999"><state state="open"/></port>
</ports></host>
<host><status state="down"/><address addr="127.0.0.2" addrtype="ipv4"/></host>
<host><status state="up"/><address addr="00:11:22:33:44:66" addrtype="mac"/></host>
</nmaprun>"""
)


def test_open_ports_become_services_with_product_version_and_cpe() -> None:
    scan = parse_nmap_xml(SCAN, "scan.xml")
    assert scan.source is Source.NMAP
    assert scan.scanned_ports == "22,80,443"
    assert scan.hosts == {"127.0.0.1"}  # the down host is not covered; the MAC-only is refused
    by_port = {s.port: s for s in scan.services}
    assert sorted(by_port) == [22, 443]  # closed 80 is no exposure
    ssh = by_port[22]
    assert (ssh.service, ssh.product, ssh.version) == ("ssh", "OpenSSH", "9.2p1 Debian 2+deb12u3")
    assert ssh.cpe == "cpe:/a:openbsd:openssh:9.2p1"  # the application's, not the OS's
    assert ssh.hostname == "web.example.no"
    assert ssh.banner == "protocol 2.0"
    assert [w.cve_ids for w in ssh.weaknesses] == [("CVE-2023-38408",)]
    assert ssh.weaknesses[0].cvss_score == 9.8


def test_tls_facts_and_http_title() -> None:
    web = next(s for s in parse_nmap_xml(SCAN, "scan.xml").services if s.port == 443)
    assert web.service == "ssl/http"
    assert web.http_title == "Welcome to nginx!"
    assert web.tls is not None
    assert web.tls.subject == "commonName=web.example.no"
    assert web.tls.issuer == "commonName=Example CA"
    assert web.tls.not_after == datetime(2027, 1, 31, 12, 0, tzinfo=UTC)
    assert web.tls.weak_protocols == ("TLSv1.0",)
    assert web.tls.weak_ciphers == ("TLS_RSA_WITH_RC4_128_SHA",)


def test_bad_port_and_addressless_host_are_refused_by_name() -> None:
    scan = parse_nmap_xml(SCAN, "scan.xml")
    reasons = {r.record: r.reason for r in scan.refused}
    assert reasons == {
        "scan.xml host #1 (127.0.0.1) port 99999/udp": "port 99999 is outside 1-65535",
        "scan.xml host #3": "no IPv4 or IPv6 address (addresses given: ['00:11:22:33:44:66'])",
    }
    assert all(s.transport is Transport.TCP for s in scan.services)


def test_external_entities_are_refused() -> None:
    xxe = b"""<?xml version="1.0"?><!DOCTYPE nmaprun [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<nmaprun><host><status state="up"/><address addr="127.0.0.1" addrtype="ipv4"/>
<hostnames><hostname name="&x;"/></hostnames></host></nmaprun>"""
    with pytest.raises(ImportRefused, match=r"x\.xml: refused as unsafe XML \(EntitiesForbidden"):
        parse_nmap_xml(xxe, "x.xml")


def test_other_xml_and_broken_xml_are_refused() -> None:
    with pytest.raises(ImportRefused, match=r"root element is <root>, not <nmaprun>"):
        parse_nmap_xml(b"<root/>", "r.xml")
    with pytest.raises(ImportRefused, match=r"b\.xml: not well-formed XML"):
        parse_nmap_xml(b"<nmaprun><host>", "b.xml")
