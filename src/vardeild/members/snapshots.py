"""Turning registry rows into the values the rest of the system sees: the spec (for diffs and
export) and the snapshot (the JSON form the API, the CLI and the audit log show)."""

from __future__ import annotations

from typing import Any

from vardeild.members.model import (
    AsnSpec,
    ContactRole,
    ContactSpec,
    Criticality,
    DomainSpec,
    Exposure,
    Language,
    Membership,
    MembershipState,
    NetworkSpec,
    OrganisationSpec,
    ProgrammeService,
    Sector,
    spec_to_dict,
)
from vardeild.members.tables import OrganisationRow


def parent_reference(row: OrganisationRow) -> str | None:
    """Return how an export names the row's parent: its org number, else its name."""
    if row.parent is None:
        return None
    return row.parent.org_number or row.parent.name


def row_to_spec(row: OrganisationRow) -> OrganisationSpec:
    """Return the organisation as a spec, in the same canonical form import produces."""
    return OrganisationSpec(
        name=row.name,
        sector=Sector(row.sector),
        org_number=row.org_number,
        short_name=row.short_name,
        criticality=Criticality(row.criticality),
        membership=Membership(
            state=MembershipState(row.state),
            applied_on=row.applied_on,
            joined_on=row.joined_on,
            suspended_on=row.suspended_on,
            left_on=row.left_on,
        ),
        services=tuple(ProgrammeService(s) for s in row.services),
        parent=parent_reference(row),
        notes=row.notes,
        networks=tuple(
            NetworkSpec(n.cidr, Exposure(n.exposure), n.description) for n in row.networks
        ),
        asns=tuple(AsnSpec(a.asn, Exposure(a.exposure), a.description) for a in row.asns),
        domains=tuple(DomainSpec(d.name, Exposure(d.exposure), d.description) for d in row.domains),
        contacts=tuple(
            ContactSpec(
                name=c.name,
                email=c.email,
                phone=c.phone,
                roles=tuple(ContactRole(r) for r in c.roles),
                language=Language(c.language),
                pgp_key=c.pgp_key,
            )
            for c in row.contacts
        ),
    )


def snapshot(row: OrganisationRow) -> dict[str, Any]:
    """Return the full JSON form of an organisation: the interchange fields plus ids, the
    parent and children, timestamps and what was derived from contacts' keys."""
    data = spec_to_dict(row_to_spec(row))
    data["id"] = row.id
    data["parent_id"] = row.parent_id
    data["children"] = sorted(child.id for child in row.children)
    data["created_at"] = row.created_at.isoformat()
    data["updated_at"] = row.updated_at.isoformat()
    for item, network in zip(data["networks"], row.networks, strict=True):
        item["id"] = network.id
        item["family"] = network.family
    for item, asn in zip(data["asns"], row.asns, strict=True):
        item["id"] = asn.id
    for item, domain in zip(data["domains"], row.domains, strict=True):
        item["id"] = domain.id
    for item, contact in zip(data["contacts"], row.contacts, strict=True):
        item["id"] = contact.id
        item["pgp_fingerprint"] = contact.pgp_fingerprint
        item["pgp_expires_at"] = (
            contact.pgp_expires_at.isoformat() if contact.pgp_expires_at else None
        )
    return data
