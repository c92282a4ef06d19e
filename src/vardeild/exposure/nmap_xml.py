"""Reading nmap's XML output (`-oX`) into `ParsedScan`, without external entities.

nmap writes `<!DOCTYPE nmaprun>` at the top of every file, so a DTD as such is allowed; entity
declarations and external references are not (defusedxml refuses them), which is what keeps
an XXE sample out. Only `open` ports become exposures; hosts that are up are the scan's cover,
so a complete rescan can close what it no longer sees there.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from vardeild.exposure.model import (
    BANNER_MAX,
    MAX_RECORDS,
    ImportRefused,
    ObservedService,
    ParsedScan,
    ReportedWeakness,
    Source,
    TlsFacts,
    Transport,
    canonical_address,
    clip,
)

WEAK_PROTOCOLS = ("SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1")
_CVE = re.compile(r"^CVE-\d{4}-\d{4,}$")


def parse_xml_safely(data: bytes, name: str) -> Element:
    """Return the document's root; ImportRefused names the file and why it is not well-formed
    or unsafe (entities, external references)."""
    try:
        root: Element = fromstring(data, forbid_dtd=False, forbid_entities=True)
    except DefusedXmlException as exc:
        raise ImportRefused(
            f"{name}: refused as unsafe XML ({type(exc).__name__}: {exc}); "
            "entity declarations and external references are not read"
        ) from None
    except ParseError as exc:
        raise ImportRefused(f"{name}: not well-formed XML ({exc})") from None
    return root


def parse_nmap_xml(data: bytes, name: str, *, source: Source = Source.NMAP) -> ParsedScan:
    """Return the services and covered hosts of one nmap XML document.

    Raises ImportRefused for a file that is not nmap XML at all; a host or port that cannot be
    read is refused on its own, naming the host and port, and the rest still lands."""
    root = parse_xml_safely(data, name)
    if root.tag != "nmaprun":
        raise ImportRefused(
            f"{name}: not nmap XML: the root element is <{root.tag}>, not <nmaprun>"
        )
    scan = ParsedScan(source=source, name=name)
    info = root.find("scaninfo")
    if info is not None:
        scan.scanned_ports = info.get("services", "")
    for index, host in enumerate(root.iter("host"), start=1):
        _read_host(scan, host, f"{name} host #{index}")
        if len(scan.services) > MAX_RECORDS:
            raise ImportRefused(f"{name}: more than {MAX_RECORDS} services; split the file")
    return scan


def _host_address(host: Element) -> str | None:
    for address in host.findall("address"):
        if address.get("addrtype") in {"ipv4", "ipv6"}:
            return canonical_address(address.get("addr", ""))
    return None


def _read_host(scan: ParsedScan, host: Element, record: str) -> None:
    status = host.find("status")
    if status is not None and status.get("state") != "up":
        return  # a host that is down is neither covered nor exposed
    address = _host_address(host)
    if address is None:
        raw = [a.get("addr", "") for a in host.findall("address")]
        scan.refuse(record, f"no IPv4 or IPv6 address (addresses given: {raw or 'none'})")
        return
    scan.hosts.add(address)
    hostname_el = host.find("hostnames/hostname")
    hostname = clip(hostname_el.get("name", "") if hostname_el is not None else "", 253).lower()
    for port in host.findall("ports/port"):
        where = f"{record} ({address}) port {port.get('portid')}/{port.get('protocol')}"
        state = port.find("state")
        if state is None or state.get("state") != "open":
            continue
        try:
            observed = _read_port(port, address, hostname)
        except ValueError as exc:
            scan.refuse(where, str(exc))
            continue
        scan.services.append(observed)


def _read_port(port: Element, address: str, hostname: str) -> ObservedService:
    try:
        number = int(port.get("portid", ""))
    except ValueError:
        raise ValueError(f"portid {port.get('portid')!r} is not a number") from None
    if not 0 < number < 65536:
        raise ValueError(f"port {number} is outside 1-65535")
    try:
        transport = Transport(port.get("protocol", ""))
    except ValueError:
        raise ValueError(f"protocol {port.get('protocol')!r} is not tcp or udp") from None
    service = port.find("service")
    name = product = version = extrainfo = cpe = ""
    if service is not None:
        name = service.get("name", "")
        if service.get("tunnel") == "ssl" and name and not name.startswith("ssl"):
            name = f"ssl/{name}"
        product = service.get("product", "")
        version = service.get("version", "")
        extrainfo = service.get("extrainfo", "")
        cpes = [c.text or "" for c in service.findall("cpe")]
        # The application's CPE is the useful one for matching; an OS CPE rides along.
        cpe = next((c for c in cpes if c.startswith("cpe:/a:")), cpes[0] if cpes else "")
    scripts = {s.get("id", ""): s for s in port.findall("script")}
    banner = scripts["banner"].get("output", "") if "banner" in scripts else extrainfo
    title_script = scripts.get("http-title") or scripts.get("html-title")
    title = title_script.get("output", "") if title_script is not None else ""
    if title_script is not None:
        title_elem = title_script.find("elem[@key='title']")
        if title_elem is not None and title_elem.text:
            title = title_elem.text
    return ObservedService(
        address=address,
        port=number,
        transport=transport,
        service=clip(name, 100),
        product=clip(product, 200),
        version=clip(version, 100),
        cpe=clip(cpe, 300),
        banner=clip(banner, BANNER_MAX),
        hostname=hostname,
        tls=_tls(scripts),
        http_title=clip(title),
        weaknesses=_vulners(scripts.get("vulners")),
    )


def _elem(table: Element | None, key: str) -> str:
    if table is None:
        return ""
    found = table.find(f"elem[@key='{key}']")
    return (found.text or "") if found is not None else ""


def _name(table: Element | None) -> str:
    """Return an X.509 name table as 'commonName=..., organizationName=...'."""
    if table is None:
        return ""
    return ", ".join(f"{e.get('key')}={e.text or ''}" for e in table.findall("elem"))


def _when(text: str) -> datetime | None:
    text = text.strip()
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _tls(scripts: dict[str, Element]) -> TlsFacts | None:
    cert = scripts.get("ssl-cert")
    ciphers = scripts.get("ssl-enum-ciphers")
    sslv2 = scripts.get("sslv2")
    if cert is None and ciphers is None and sslv2 is None:
        return None
    weak_protocols: list[str] = []
    weak_ciphers: list[str] = []
    if ciphers is not None:
        for protocol in ciphers.findall("table"):
            key = protocol.get("key", "")
            if key in WEAK_PROTOCOLS:
                weak_protocols.append(key)
            for cipher in protocol.findall("table[@key='ciphers']/table"):
                strength = _elem(cipher, "strength")
                cipher_name = _elem(cipher, "name")
                if strength and strength not in {"A"} and cipher_name not in weak_ciphers:
                    weak_ciphers.append(cipher_name)
    if (
        sslv2 is not None
        and "SSLv2" not in weak_protocols
        and "supported" in sslv2.get("output", "")
    ):
        weak_protocols.insert(0, "SSLv2")
    return TlsFacts(
        issuer=clip(_name(cert.find("table[@key='issuer']")) if cert is not None else ""),
        subject=clip(_name(cert.find("table[@key='subject']")) if cert is not None else ""),
        not_after=_when(_elem(cert.find("table[@key='validity']"), "notAfter"))
        if cert is not None
        else None,
        weak_protocols=tuple(weak_protocols),
        weak_ciphers=tuple(weak_ciphers[:50]),
    )


def _vulners(script: Element | None) -> tuple[ReportedWeakness, ...]:
    """Return the CVEs nmap's vulners script listed (it names them per CPE)."""
    if script is None:
        return ()
    found: list[ReportedWeakness] = []
    for entry in script.iter("table"):
        cve = _elem(entry, "id").upper()
        if not _CVE.match(cve) or any(cve in w.cve_ids for w in found):
            continue
        try:
            score: float | None = float(_elem(entry, "cvss"))
        except ValueError:
            score = None
        found.append(ReportedWeakness(f"nmap-vulners:{cve}", cve, (cve,), score))
    return tuple(found)
