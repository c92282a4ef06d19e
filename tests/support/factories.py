"""Factories for registry records: valid by default, each override a test's point."""

from __future__ import annotations

import itertools
from typing import Any

from vardeild.access.model import Principal, Role
from vardeild.core.identifiers import org_number_with_check_digit

_counter = itertools.count(1)

CERT = Principal(actor="analyst@cert.test", role=Role.CERT_ANALYST)
CERT_ADMIN = Principal(actor="admin@cert.test", role=Role.CERT_ADMIN)


def org_number(seed: int) -> str:
    """Return a valid 9-digit organisation number derived from seed."""
    base = 910_000_000 // 10 + seed * 7
    while True:
        number = org_number_with_check_digit(f"{base:08d}"[:8])
        if number is not None:
            return number
        base += 1


def org_data(**overrides: Any) -> dict[str, Any]:
    """Return the interchange form of a valid, unique organisation."""
    n = next(_counter)
    data: dict[str, Any] = {
        "name": f"Testorganisasjon {n}",
        "short_name": f"T{n}",
        "org_number": org_number(n),
        "sector": "hospital_trust",
        "criticality": "high",
        "membership": {"state": "active", "joined_on": "2025-01-01"},
        "services": ["monitoring"],
        "networks": [f"10.{n % 250}.{n // 250 % 250}.0/24", f"2001:db8:{n:x}::/48"],
        "asns": [64_000 + n],
        "domains": [f"org{n}.test.no"],
        "contacts": [
            {"name": f"Kari {n}", "email": f"soc@org{n}.test.no", "roles": ["security", "abuse"]}
        ],
    }
    data.update(overrides)
    return data


def member(org_id: int, role: Role = Role.MEMBER_ADMIN) -> Principal:
    """Return a principal of a member organisation."""
    return Principal(actor=f"user@org{org_id}", role=role, organisation_id=org_id)
