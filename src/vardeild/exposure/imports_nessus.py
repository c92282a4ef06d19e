"""Nessus v2 (`.nessus`, `<NessusClientData_v2>`) into `ParsedScan`, read with defusedxml.

Each `ReportHost` is a host; its `ReportItem`s are grouped by port and protocol into one
exposure per service, carrying the plugins that found something (severity above 0, or a CVE)
as reported weaknesses. Port 0 items are about the host itself and land on port 0 only when
they name a weakness. Nessus' CSV export is a different format and is refused as such.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element

from vardeild.exposure.model import (
    BANNER_MAX,
    ImportRefused,
    ObservedService,
    ParsedScan,
    ReportedWeakness,
    Source,
    Transport,
    canonical_address,
    clip,
)
from vardeild.exposure.nmap_xml import parse_xml_safely

_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?)*$"
)
_CVE = re.compile(r"^CVE-\d{4}-\d{4,}$")


def parse_nessus(data: bytes, name: str) -> ParsedScan:
    """Return the services of one Nessus v2 document; ImportRefused for another format."""
    if data.lstrip()[:1] != b"<":
        raise ImportRefused(
            f"{name}: not Nessus v2 XML (this looks like a Nessus CSV export); "
            "export the scan as .nessus"
        )
    root = parse_xml_safely(data, name)
    if root.tag != "NessusClientData_v2":
        raise ImportRefused(
            f"{name}: not Nessus v2: the root element is <{root.tag}>, not <NessusClientData_v2>"
        )
    scan = ParsedScan(source=Source.NESSUS, name=name)
    for index, host in enumerate(root.iter("ReportHost"), start=1):
        _read_host(scan, host, f"{name} ReportHost #{index} {host.get('name', '')!r}")
    return scan


def host_address(raw: str) -> str | None:
    """Return an IP address or a lower-case host name from what a scanner calls a host (an IP,
    a name, or a URL); None if it is none of them."""
    text = raw.strip()
    if "://" in text:
        text = urlsplit(text).hostname or ""
    address = canonical_address(text)
    if address is not None:
        return address
    text = text.rstrip(".").lower()
    return text if _HOSTNAME.match(text) else None


def _tags(host: Element) -> dict[str, str]:
    return {t.get("name", ""): (t.text or "").strip() for t in host.findall("HostProperties/tag")}


def _read_host(scan: ParsedScan, host: Element, record: str) -> None:
    tags = _tags(host)
    address = None
    for candidate in (tags.get("host-ip", ""), host.get("name", ""), tags.get("host-fqdn", "")):
        address = host_address(candidate) if candidate else None
        if address is not None:
            break
    if address is None:
        scan.refuse(record, "no usable address: host-ip, name and host-fqdn are all unusable")
        return
    scan.hosts.add(address)
    hostname = clip(tags.get("host-fqdn", ""), 253).lower()
    grouped: dict[tuple[int, str], dict[str, object]] = {}
    for item in host.findall("ReportItem"):
        where = (
            f"{record} port {item.get('port')}/{item.get('protocol')} plugin {item.get('pluginID')}"
        )
        protocol = item.get("protocol", "tcp")
        if protocol == "icmp":
            protocol = "tcp"  # ICMP findings are about the host (port 0), as Nessus reports them
        try:
            port = int(item.get("port", ""))
            transport = Transport(protocol)
        except ValueError:
            scan.refuse(where, "port is not a number, or protocol is not tcp or udp")
            continue
        if not 0 <= port < 65536:
            scan.refuse(where, f"port {port} is outside 0-65535")
            continue
        slot = grouped.setdefault(
            (port, transport.value), {"service": item.get("svc_name", ""), "weak": [], "cpe": ""}
        )
        weakness = _weakness(item)
        if weakness is not None:
            weak = slot["weak"]
            assert isinstance(weak, list)
            weak.append(weakness)
        cpe = item.findtext("cpe") or ""
        if cpe.startswith("cpe:/a:") and not slot["cpe"]:
            slot["cpe"] = cpe.strip()
    for (port, transport_name), slot in sorted(grouped.items()):
        weak = slot["weak"]
        assert isinstance(weak, list)
        if port == 0 and not weak:
            continue  # host-level information only: no exposure
        scan.services.append(
            ObservedService(
                address=address,
                port=port,
                transport=Transport(transport_name),
                service=clip(str(slot["service"]), 100),
                cpe=clip(str(slot["cpe"]), 300),
                hostname=hostname,
                banner="",
                weaknesses=tuple(weak[:500]),
            )
        )


def _weakness(item: Element) -> ReportedWeakness | None:
    cves = tuple(sorted({(c.text or "").strip().upper() for c in item.findall("cve")} - {""}))
    cves = tuple(c for c in cves if _CVE.match(c))
    try:
        severity = int(item.get("severity", "0"))
    except ValueError:
        severity = 0
    if severity <= 0 and not cves:
        return None
    score: float | None = None
    for key in ("cvss3_base_score", "cvss_base_score"):
        text = item.findtext(key)
        if text:
            try:
                score = float(text)
                break
            except ValueError:
                continue
    return ReportedWeakness(
        reference=f"nessus:{item.get('pluginID', '?')}",
        title=clip(item.get("pluginName", ""), BANNER_MAX),
        cve_ids=cves,
        cvss_score=score,
    )
