"""Which finding to fix first: a priority label (P1–P4), a due date per SLA, and a sort key.

The order of the rules is the issue's: known exploitation (KEV, ransomware use above all) first,
then the likelihood of exploitation (EPSS), then severity (CVSS), then how exposed the service
is (an administration, database or remote-access port on the Internet is worse than a web
page), then how much the sector depends on the member. The label answers "how soon", the sort
key "which first" within a label. No I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import IntEnum

from vardeild.exposure.model import Priority, SlaDays
from vardeild.members.model import Criticality

EPSS_LIKELY = 0.10  # FIRST: above ~10% a CVE is in the top few percent of exploitation odds
CVSS_CRITICAL = 9.0
CVSS_HIGH = 7.0
CVSS_MEDIUM = 4.0


class ServiceExposure(IntEnum):
    """How much an Internet-facing service gives an attacker if it is weak."""

    ORDINARY = 0  # web pages, mail, DNS
    SENSITIVE = 1  # remote access, administration, databases, industrial protocols


# Ports whose services should not face the Internet at all: remote access (SSH, Telnet, RDP,
# VNC, SMB), administration (SNMP, IPMI, Docker, Kubernetes, WinRM), databases and ICS.
SENSITIVE_PORTS = frozenset(
    {
        21, 22, 23, 135, 139, 161, 445, 623, 1433, 1521, 2375, 2376, 3306, 3389, 5432, 5900,
        5985, 5986, 6379, 6443, 8291, 9200, 10250, 11211, 27017, 502, 102, 20000, 47808,
    }
)  # fmt: skip
SENSITIVE_SERVICES = frozenset(
    {
        "ssh", "telnet", "ms-wbt-server", "msrdp", "rdp", "vnc", "microsoft-ds", "netbios-ssn",
        "snmp", "ipmi", "mysql", "postgresql", "ms-sql-s", "oracle", "mongodb", "redis",
        "elasticsearch", "memcached", "docker", "kubernetes", "modbus", "s7comm", "bacnet",
    }
)  # fmt: skip


def service_exposure(port: int, service: str) -> ServiceExposure:
    """Return how exposed a service on this port, of this nmap service name, is."""
    name = service.lower().removeprefix("ssl/")
    if port in SENSITIVE_PORTS or name in SENSITIVE_SERVICES:
        return ServiceExposure.SENSITIVE
    return ServiceExposure.ORDINARY


@dataclass(frozen=True)
class RiskFacts:
    """What the priority of one finding is decided from."""

    kev: bool
    kev_ransomware: bool
    kev_due_date: date | None
    epss: float | None
    cvss: float | None
    exposure: ServiceExposure
    criticality: Criticality


@dataclass(frozen=True)
class Prioritised:
    """A finding's label, its due date, the sort key and the reason in words."""

    priority: Priority
    due_on: date
    sort_key: tuple[float, ...]
    basis: str


_CRITICALITY_RANK = {
    Criticality.LOW: 0,
    Criticality.MEDIUM: 1,
    Criticality.HIGH: 2,
    Criticality.CRITICAL: 3,
}


def _label(facts: RiskFacts) -> tuple[Priority, list[str]]:
    epss = facts.epss or 0.0
    cvss = facts.cvss or 0.0
    sensitive = facts.exposure is ServiceExposure.SENSITIVE
    why: list[str] = []
    if facts.kev:
        why.append(
            "known exploited (CISA KEV)" + (", used by ransomware" if facts.kev_ransomware else "")
        )
        return Priority.P1, why
    if epss >= EPSS_LIKELY:
        why.append(f"EPSS {epss:.2f} ≥ {EPSS_LIKELY}")
        level = Priority.P1 if cvss >= CVSS_CRITICAL or sensitive else Priority.P2
    elif cvss >= CVSS_CRITICAL:
        why.append(f"CVSS {cvss:.1f} critical")
        level = Priority.P2
    elif cvss >= CVSS_HIGH:
        why.append(f"CVSS {cvss:.1f} high")
        level = Priority.P2 if sensitive else Priority.P3
    elif cvss >= CVSS_MEDIUM:
        why.append(f"CVSS {cvss:.1f} medium")
        level = Priority.P3
    else:
        why.append(f"CVSS {cvss:.1f}" if facts.cvss is not None else "no CVSS score")
        level = Priority.P4
    if sensitive:
        why.append("remote-access, administration or database service")
    # A member the sector depends on most gets its P2-P4 findings one step sooner; P1 is
    # kept for what is exploited or about to be, whoever the member.
    if facts.criticality is Criticality.CRITICAL and level.rank >= 3:
        level = Priority(f"P{level.rank - 1}")
        why.append("critical member")
    return level, why


def prioritise(facts: RiskFacts, *, today: date, sla: SlaDays) -> Prioritised:
    """Return the finding's priority label, due date (the SLA's days, or KEV's due date when
    sooner) and sort key (lower sorts first)."""
    level, why = _label(facts)
    due = today + timedelta(days=sla.for_priority(level))
    if facts.kev_due_date is not None and facts.kev_due_date < due:
        due = max(facts.kev_due_date, today)
    sort_key = (
        float(level.rank),
        -float(facts.kev_ransomware),
        -float(facts.kev),
        -(facts.epss or 0.0),
        -(facts.cvss or 0.0),
        -float(facts.exposure),
        -float(_CRITICALITY_RANK[facts.criticality]),
    )
    return Prioritised(level, due, sort_key, "; ".join(why))
