"""Answers about the registry as a whole: who owns a value (whois) and where organisations'
claims overlap (conflicts). Both read through the in-memory attribution index."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vardeild.access.model import Action, Principal, authorize
from vardeild.core.errors import ValidationFailed
from vardeild.members.attribution import (
    AttributionIndex,
    Overlap,
    find_asn_overlaps,
    find_domain_overlaps,
    find_overlaps,
)
from vardeild.members.tables import AsnRow, DomainRow, NetworkRow, OrganisationRow


@dataclass(frozen=True)
class WhoisAnswer:
    """Who owns a value: the registered entry it fell under and its owners (none: no member)."""

    value: str
    kind: str | None = None
    matched: str | None = None
    organisations: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return the answer as JSON-ready data."""
        return {
            "value": self.value,
            "kind": self.kind,
            "matched": self.matched,
            "organisations": self.organisations,
            "member": bool(self.organisations),
        }


def _pairs(
    session: Session,
) -> tuple[list[tuple[str, int]], list[tuple[str, int]], list[tuple[int, int]]]:
    networks = [
        (cidr, org_id)
        for cidr, org_id in session.execute(select(NetworkRow.cidr, NetworkRow.organisation_id))
    ]
    domains = [
        (name, org_id)
        for name, org_id in session.execute(select(DomainRow.name, DomainRow.organisation_id))
    ]
    asns = [
        (int(asn), org_id)
        for asn, org_id in session.execute(select(AsnRow.asn, AsnRow.organisation_id))
    ]
    return networks, domains, asns


def build_attribution_index(session: Session) -> AttributionIndex:
    """Return an index of every network, domain and ASN in the registry."""
    networks, domains, asns = _pairs(session)
    return AttributionIndex.build(networks, domains, asns)


def _organisation_refs(session: Session, ids: set[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    rows = session.execute(
        select(
            OrganisationRow.id,
            OrganisationRow.name,
            OrganisationRow.short_name,
            OrganisationRow.org_number,
        ).where(OrganisationRow.id.in_(ids))
    )
    return {
        row.id: {
            "id": row.id,
            "name": row.name,
            "short_name": row.short_name,
            "org_number": row.org_number,
        }
        for row in rows
    }


def whois(
    session: Session, principal: Principal, value: str, *, index: AttributionIndex
) -> WhoisAnswer:
    """Return who owns value (an IP, CIDR, domain, ASN, URL or e-mail address).

    A member principal learns only about its own organisation: space owned by another member
    answers as if no member owned it. Raises ValidationFailed if value is none of the kinds.
    """
    authorize(principal, Action.READ, principal.organisation_id)
    try:
        match = index.whois(value)
    except ValueError as exc:
        raise ValidationFailed.one("whois", "value", str(exc)) from exc
    if match is None:
        return WhoisAnswer(value=value)
    owners = list(match.owners)
    if not principal.is_cert:
        owners = [o for o in owners if o == principal.organisation_id]
        if not owners:
            return WhoisAnswer(value=value)
    refs = _organisation_refs(session, set(owners))
    return WhoisAnswer(
        value=value,
        kind=match.kind,
        matched=match.matched,
        organisations=[refs[o] for o in owners if o in refs],
    )


def list_conflicts(session: Session, principal: Principal) -> list[dict[str, Any]]:
    """Return every overlap between different organisations' networks, domains and ASNs,
    with both organisations named. CERT staff only."""
    authorize(principal, Action.LIST_ALL)
    networks, domains, asns = _pairs(session)
    overlaps: list[Overlap] = [
        *find_overlaps(networks),
        *find_domain_overlaps(domains),
        *find_asn_overlaps(asns),
    ]
    refs = _organisation_refs(
        session, {o.outer_owner for o in overlaps} | {o.inner_owner for o in overlaps}
    )
    return [
        {
            "kind": o.kind,
            "identical": o.identical,
            "outer": o.outer,
            "outer_organisation": refs.get(o.outer_owner),
            "inner": o.inner,
            "inner_organisation": refs.get(o.inner_owner),
            "resolution": (
                "identical claims: attributed to the lowest organisation id until resolved"
                if o.identical
                else f"the more specific {o.inner} wins inside {o.outer}"
            ),
        }
        for o in overlaps
    ]
