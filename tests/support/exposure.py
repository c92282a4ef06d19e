"""Helpers for the exposure tests: a member that takes the vulnerability-overview service with
loopback networks (127.0.0.0/8 only: nothing outside this machine is ever scanned), another
member, and a matcher-shaped test double for the neighbour's knowledge where a test is about
priority and tracking, not matching."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from support.factories import CERT, org_data
from vardeild.core.clock import Clock
from vardeild.exposure.vuln_model import ProductVersion, VulnMatch
from vardeild.members import service as members


def make_member(session: Session, clock: Clock, **overrides: Any) -> dict[str, Any]:
    """Return a stored member taking the vulnerability overview, loopback networks."""
    defaults: dict[str, Any] = {
        "services": ["monitoring", "vulnerability_overview"],
        "networks": ["127.0.0.0/24", {"cidr": "127.0.5.0/24", "exposure": "internal"}],
        "domains": ["sykehus.test.no"],
    }
    data = org_data(**{**defaults, **overrides})
    return members.create_organisation(session, CERT, data, clock=clock, key_inspector=None)


def vuln(cve_id: str, **overrides: Any) -> VulnMatch:
    """Return a VulnMatch with defaults, each override a test's point."""
    base: dict[str, Any] = {
        "cve_id": cve_id,
        "reason": f"test knowledge says {cve_id}",
        "cvss_score": 5.0,
        "cvss_version": "3.1",
        "kev": False,
        "kev_ransomware": False,
        "kev_due_date": None,
        "epss": None,
        "epss_percentile": None,
        "summary": f"{cve_id} summary",
    }
    base.update(overrides)
    return VulnMatch(**base)


@dataclass
class TableMatcher:
    """A VulnMatcher-shaped double: (product, version) -> matches. Matching itself is tested
    against the real VulnMatcher in test_findings_real_knowledge.py."""

    table: dict[tuple[str, str], list[VulnMatch]] = field(default_factory=dict)

    def match(self, item: ProductVersion) -> list[VulnMatch]:
        """Return the matches listed for item's product and version."""
        return list(self.table.get((item.product or "", item.version or ""), []))
