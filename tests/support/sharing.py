"""The sharing world the outbound intel tests share: members A and B, and one canary indicator
at every TLP and audience, each a domain name found nowhere else, so that a test can say
exactly which canaries reached a recipient by a way out."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from support.factories import CERT_ADMIN, org_data
from vardeild.core.clock import Clock
from vardeild.intel.audience import share_indicators
from vardeild.intel.model import IndicatorFilter
from vardeild.intel.service import list_indicators, load_indicators
from vardeild.members import service as members

# name -> (TLP, who the AMBER ones are named to, expired?)
LEVELS: dict[str, tuple[str, str, bool]] = {
    "red": ("RED", "", False),
    "amber_strict_unnamed": ("AMBER+STRICT", "", False),
    "amber_strict_a": ("AMBER+STRICT", "a", False),
    "amber_a": ("AMBER", "a", False),
    "amber_b": ("AMBER", "b", False),
    "green": ("GREEN", "", False),
    "clear": ("CLEAR", "", False),
    "expired_green": ("GREEN", "", True),
}

# Exactly which canaries each recipient may receive (the CERT's default view: all members').
EXPECTED: dict[str, frozenset[str]] = {
    "a": frozenset({"amber_strict_a", "amber_a", "green", "clear"}),
    "b": frozenset({"amber_b", "green", "clear"}),
    "public": frozenset({"clear"}),
    "cert": frozenset({"green", "clear"}),
}


@dataclass(frozen=True)
class SharingWorld:
    """Members A and B and the canary indicators."""

    a: int
    b: int
    canaries: dict[str, str]  # level -> the domain name it carries
    ids: dict[str, int]  # level -> indicator id

    def found_in(self, text: str) -> frozenset[str]:
        """Return the levels whose canary the text shows."""
        return frozenset(level for level, value in self.canaries.items() if value in text)


def make_sharing_world(session: Session, clock: Clock) -> SharingWorld:
    """Register A and B, load the canaries (source `canary`) and name the AMBER ones."""
    tag = uuid.uuid4().hex[:8]
    a = members.create_organisation(
        session, CERT_ADMIN, org_data(name=f"Mottaker A {tag}"), clock=clock, key_inspector=None
    )["id"]
    b = members.create_organisation(
        session, CERT_ADMIN, org_data(name=f"Mottaker B {tag}"), clock=clock, key_inspector=None
    )["id"]
    canaries = {level: f"{level.replace('_', '-')}-{tag}.kanari.example" for level in LEVELS}
    lines = ["value,type,tlp,confidence,valid_until,tags,description"]
    for level, (tlp, _, expired) in LEVELS.items():
        until = "2026-01-01" if expired else ""
        lines.append(f"{canaries[level]},domain,{tlp},80,{until},kanari;{level},Kanari {level}")
    load_indicators(
        session,
        CERT_ADMIN,
        ("\n".join(lines) + "\n").encode(),
        clock=clock,
        fmt="csv",
        source="canary",
    )
    found, _ = list_indicators(session, CERT_ADMIN, IndicatorFilter(source="canary"), limit=100)
    by_value = {indicator.value: indicator.id for indicator in found}
    ids = {level: by_value[value] for level, value in canaries.items()}
    for level, (_, named, _) in LEVELS.items():
        if named:
            share_indicators(
                session,
                CERT_ADMIN,
                clock=clock,
                indicator_ids=[ids[level]],
                organisation_ids=[a if named == "a" else b],
            )
    return SharingWorld(a=a, b=b, canaries=canaries, ids=ids)
