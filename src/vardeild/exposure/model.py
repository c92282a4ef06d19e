"""The exposure inventory's vocabulary: what a scan or an import saw on a member's Internet-facing
services, and the findings (exposure × CVE) tracked from it. No I/O.

Every importer and the scanner hand over the same shape, `ParsedScan`: the services seen
(`ObservedService`), the hosts the scan covered (so that a complete rescan can close what it no
longer sees) and the records it refused, each with the record and the reason.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

BANNER_MAX = 1000
TEXT_MAX = 500
MAX_RECORDS = 200_000  # records one import may bring; a larger file is refused, not truncated
MAX_FILE_BYTES = 64 * 1024 * 1024  # an import file larger than this is refused unread


class Transport(StrEnum):
    """The transport protocol a service listens on."""

    TCP = "tcp"
    UDP = "udp"


class Source(StrEnum):
    """Which way an exposure was seen."""

    SCAN = "scan"  # Vardeild's own nmap scan
    NMAP = "nmap"  # an imported nmap XML file
    NESSUS = "nessus"  # an imported Nessus v2 (.nessus) file
    NUCLEI = "nuclei"  # an imported Nuclei JSONL file
    SHADOWSERVER = "shadowserver"  # Shadowserver scan_* reports from the monitoring pipeline


class FindingStatus(StrEnum):
    """Where a finding (an exposure × a CVE) stands."""

    OPEN = "open"
    FIXED = "fixed"  # no longer seen by a complete rescan
    ACCEPTED_RISK = "accepted_risk"  # the member accepts it, with a reason, until an expiry
    FALSE_POSITIVE = "false_positive"


class Priority(StrEnum):
    """The finding's priority label; P1 is the most urgent."""

    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"

    @property
    def rank(self) -> int:
        """Return 1 (P1) to 4 (P4)."""
        return int(self.value[1])


@dataclass(frozen=True)
class TlsFacts:
    """What a scan learnt of a service's TLS certificate and configuration."""

    issuer: str = ""
    subject: str = ""
    not_after: datetime | None = None
    weak_protocols: tuple[str, ...] = ()  # SSLv2, SSLv3, TLSv1.0, TLSv1.1 offered
    weak_ciphers: tuple[str, ...] = ()  # cipher suites graded below A, or NULL/EXPORT/RC4


@dataclass(frozen=True)
class ReportedWeakness:
    """A weakness the source itself named (a Nessus plugin, a Nuclei template, a Shadowserver
    report), with the CVE ids it gave."""

    reference: str  # e.g. "nessus:58453", "nuclei:CVE-2018-15473", "shadowserver:scan_rdp"
    title: str
    cve_ids: tuple[str, ...] = ()
    cvss_score: float | None = None


@dataclass(frozen=True)
class ObservedService:
    """One service (or a host, port 0) as one source saw it at one time."""

    address: str  # canonical IP address, or a lower-case host name where the source gave none
    port: int
    transport: Transport = Transport.TCP
    service: str = ""  # nmap's service name: http, ssh, ms-wbt-server, ...
    product: str = ""
    version: str = ""
    cpe: str = ""
    banner: str = ""
    hostname: str = ""
    tls: TlsFacts | None = None
    http_title: str = ""
    weaknesses: tuple[ReportedWeakness, ...] = ()

    @property
    def key(self) -> tuple[str, int, str]:
        """Return what identifies the exposure within a member: address, port, transport."""
        return (self.address, self.port, self.transport.value)


@dataclass(frozen=True)
class Refusal:
    """A record an import or scan would not take, and why."""

    record: str  # e.g. "nmap_1port.xml host 10.0.0.1 port 80/tcp" or "line 7"
    reason: str


@dataclass
class ParsedScan:
    """What one file or scan run yields, before it is attributed and stored."""

    source: Source
    name: str  # the file name or "scan <targets>"
    services: list[ObservedService] = field(default_factory=list)
    hosts: set[str] = field(default_factory=set)  # addresses the scan covered and found up
    refused: list[Refusal] = field(default_factory=list)
    scanned_ports: str = ""  # nmap's port list, when known: what a complete rescan covered
    # Networks the run covered wholly (a scan's targets): a host there that no longer answers
    # at all is gone too, not only the ports of hosts that are up.
    covered: list[str] = field(default_factory=list)

    def refuse(self, record: str, reason: str) -> None:
        """Note a refused record."""
        self.refused.append(Refusal(record, reason))


class ImportRefused(ValueError):
    """The whole file is refused: not the format, unsafe XML, too large. Says which and why."""


def canonical_address(text: str) -> str | None:
    """Return the canonical IP address in text, or None if it is not one."""
    try:
        return str(ipaddress.ip_address(text.strip().strip("[]")))
    except ValueError:
        return None


def clip(text: str | None, limit: int = TEXT_MAX) -> str:
    """Return text stripped of NUL and surrounding space, cut to limit characters.

    Scanner output is third-party text: NUL would be refused by PostgreSQL, and a banner
    can be arbitrarily long."""
    if not text:
        return ""
    return text.replace("\x00", "").strip()[:limit]


@dataclass(frozen=True)
class SlaDays:
    """Days to fix a finding, per priority."""

    p1: int = 7
    p2: int = 30
    p3: int = 90
    p4: int = 180

    def for_priority(self, priority: Priority) -> int:
        """Return the days allowed for priority."""
        return {Priority.P1: self.p1, Priority.P2: self.p2, Priority.P3: self.p3}.get(
            priority, self.p4
        )


@dataclass(frozen=True)
class Acceptance:
    """A member's acceptance of a finding's risk: why, and until when."""

    reason: str
    until: date
