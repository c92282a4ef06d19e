"""The member registry's use cases: organisations and everything they own.

Every function takes the session (the unit of work, committed by the caller), the principal
acting and a clock; it checks permission with the one access check, validates, applies, and
records an audit entry with the state before and after, in the same transaction.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from vardeild.access.model import Action, Principal, authorize
from vardeild.audit.service import record_change
from vardeild.core.clock import Clock
from vardeild.core.errors import Conflict, FieldProblem, NotFound, ValidationFailed
from vardeild.members.model import (
    KeyInfo,
    OrganisationSpec,
    parse_organisation,
    spec_to_dict,
)
from vardeild.members.snapshots import row_to_spec, snapshot
from vardeild.members.tables import (
    AsnRow,
    ContactRow,
    DomainRow,
    NetworkRow,
    OrganisationRow,
    RegistryRevisionRow,
)
from vardeild.members.visibility import organisation_for

KeyInspector = Callable[[str], KeyInfo]
"""Turns an armoured key into what the registry derives from it; raises ValueError."""


@dataclass(frozen=True)
class OrganisationQuery:
    """Filters for listing organisations; None means any."""

    text: str | None = None  # matches name, short name or org number
    sector: str | None = None
    state: str | None = None
    criticality: str | None = None
    service: str | None = None
    parent_id: int | None = None


def _load_options() -> list[Any]:
    return [
        selectinload(OrganisationRow.networks),
        selectinload(OrganisationRow.asns),
        selectinload(OrganisationRow.domains),
        selectinload(OrganisationRow.contacts),
        selectinload(OrganisationRow.children),
        selectinload(OrganisationRow.parent),
    ]


def get_organisation_row(session: Session, org_id: int) -> OrganisationRow | None:
    """Return the organisation's row with its collections loaded, or None."""
    return session.scalar(
        select(OrganisationRow).where(OrganisationRow.id == org_id).options(*_load_options())
    )


def _row_or_raise(
    session: Session, principal: Principal, org_id: int, action: Action
) -> OrganisationRow:
    authorize(principal, action, org_id)
    row = get_organisation_row(session, org_id)
    if row is None:
        raise NotFound(f"organisation {org_id} not found")
    return row


def get_organisation_or_raise(
    session: Session, principal: Principal, org_id: int
) -> dict[str, Any]:
    """Return the organisation's snapshot; NotFound if absent or not the principal's to see."""
    return organisation_for(
        principal, snapshot(_row_or_raise(session, principal, org_id, Action.READ))
    )


def find_organisation_id(session: Session, reference: str) -> int | None:
    """Return the id of the organisation with this org number or exact name, or None."""
    ref = reference.strip()
    return session.scalar(
        select(OrganisationRow.id).where(
            or_(OrganisationRow.org_number == ref.replace(" ", ""), OrganisationRow.name == ref)
        )
    )


def list_organisations(
    session: Session,
    principal: Principal,
    *,
    query: OrganisationQuery = OrganisationQuery(),
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Return a page of organisation snapshots ordered by name, and the total that match.
    A member principal sees only its own organisation."""
    stmt = select(OrganisationRow)
    if principal.is_cert:
        authorize(principal, Action.LIST_ALL)
    else:
        authorize(principal, Action.READ, principal.organisation_id)
        stmt = stmt.where(OrganisationRow.id == principal.organisation_id)
    if query.text:
        like = f"%{query.text.strip().lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(OrganisationRow.name).like(like),
                func.lower(OrganisationRow.short_name).like(like),
                OrganisationRow.org_number.like(like),
            )
        )
    for column, value in (
        (OrganisationRow.sector, query.sector),
        (OrganisationRow.state, query.state),
        (OrganisationRow.criticality, query.criticality),
        (OrganisationRow.parent_id, query.parent_id),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    ordered = stmt.order_by(OrganisationRow.name, OrganisationRow.id)
    if query.service:
        # Services are a short JSON list; filtering in Python keeps one query for both databases.
        rows = list(session.scalars(ordered.options(*_load_options())))
        rows = [row for row in rows if query.service in row.services]
        page, total = rows[offset : offset + limit], len(rows)
    else:
        # Only the page is loaded with its networks, contacts, keys...: a registry of 2,000
        # organisations and 50,000 networks took ~2 s to load whole for a page of 50.
        total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
        page = list(session.scalars(ordered.options(*_load_options()).limit(limit).offset(offset)))
    return [organisation_for(principal, snapshot(row)) for row in page], total


def organisation_names(
    session: Session, principal: Principal, *, limit: int | None = None
) -> dict[int, str]:
    """Return {id: name} of the organisations principal may see, ordered by name (at most
    limit): for choosers and for naming members in lists, without loading each organisation
    (a member principal gets its own)."""
    stmt = select(OrganisationRow.id, OrganisationRow.name)
    if principal.is_cert:
        authorize(principal, Action.LIST_ALL)
    else:
        authorize(principal, Action.READ, principal.organisation_id)
        stmt = stmt.where(OrganisationRow.id == principal.organisation_id)
    stmt = stmt.order_by(OrganisationRow.name, OrganisationRow.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    return {int(org_id): str(name) for org_id, name in session.execute(stmt)}


def _check_unique(
    session: Session, spec: OrganisationSpec, record: str, *, exclude_id: int | None
) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    clash = session.scalar(select(OrganisationRow).where(OrganisationRow.name == spec.name))
    if clash is not None and clash.id != exclude_id:
        problems.append(
            FieldProblem(
                record, "name", f"an organisation named {spec.name!r} exists (id {clash.id})"
            )
        )
    if spec.org_number:
        clash = session.scalar(
            select(OrganisationRow).where(OrganisationRow.org_number == spec.org_number)
        )
        if clash is not None and clash.id != exclude_id:
            problems.append(
                FieldProblem(
                    record,
                    "org_number",
                    f"{spec.org_number} belongs to {clash.name!r} (id {clash.id}) already",
                )
            )
    return problems


def _resolve_parent(
    session: Session, spec: OrganisationSpec, record: str, *, self_id: int | None
) -> tuple[int | None, list[FieldProblem]]:
    if spec.parent is None:
        return None, []
    parent_id = find_organisation_id(session, spec.parent)
    if parent_id is None:
        return None, [
            FieldProblem(
                record, "parent", f"no organisation has org number or name {spec.parent!r}"
            )
        ]
    # Walk up from the parent: meeting ourselves means the change would make a cycle.
    seen: set[int] = set()
    current: int | None = parent_id
    while current is not None and current not in seen:
        if self_id is not None and current == self_id:
            return None, [
                FieldProblem(record, "parent", "would make the organisation its own ancestor")
            ]
        seen.add(current)
        current = session.scalar(
            select(OrganisationRow.parent_id).where(OrganisationRow.id == current)
        )
    return parent_id, []


def inspect_keys(
    spec: OrganisationSpec, record: str, inspector: KeyInspector | None
) -> tuple[dict[str, KeyInfo], list[FieldProblem]]:
    """Return what each contact's key yields, by e-mail, and the problems of bad keys."""
    infos: dict[str, KeyInfo] = {}
    problems: list[FieldProblem] = []
    for i, contact in enumerate(spec.contacts):
        if not contact.pgp_key:
            continue
        if inspector is None:
            problems.append(
                FieldProblem(record, f"contacts[{i}].pgp_key", "cannot be checked here")
            )
            continue
        try:
            infos[contact.email] = inspector(contact.pgp_key)
        except ValueError as exc:
            problems.append(FieldProblem(record, f"contacts[{i}].pgp_key", str(exc)))
    return infos, problems


def _family(cidr: str) -> int:
    return ipaddress.ip_network(cidr).version


def apply_spec(
    row: OrganisationRow,
    spec: OrganisationSpec,
    *,
    parent_id: int | None,
    keys: Mapping[str, KeyInfo],
    now: datetime,
) -> None:
    """Make row match spec. Children are matched by their natural key (CIDR, AS number, domain,
    e-mail) so that unchanged ones keep their ids."""
    row.name = spec.name
    row.short_name = spec.short_name
    row.org_number = spec.org_number
    row.sector = spec.sector.value
    row.criticality = spec.criticality.value
    row.state = spec.membership.state.value
    row.applied_on = spec.membership.applied_on
    row.joined_on = spec.membership.joined_on
    row.suspended_on = spec.membership.suspended_on
    row.left_on = spec.membership.left_on
    row.services = [s.value for s in spec.services]
    row.parent_id = parent_id
    row.notes = spec.notes
    row.updated_at = now

    networks = {n.cidr: n for n in row.networks}
    row.networks = [networks.get(n.cidr) or NetworkRow(cidr=n.cidr) for n in spec.networks]
    for target, n in zip(row.networks, spec.networks, strict=True):
        target.family = _family(n.cidr)
        target.exposure = n.exposure.value
        target.description = n.description
    asns = {a.asn: a for a in row.asns}
    row.asns = [asns.get(a.asn) or AsnRow(asn=a.asn) for a in spec.asns]
    for target_asn, a in zip(row.asns, spec.asns, strict=True):
        target_asn.exposure = a.exposure.value
        target_asn.description = a.description
    domains = {d.name: d for d in row.domains}
    row.domains = [domains.get(d.name) or DomainRow(name=d.name) for d in spec.domains]
    for target_domain, d in zip(row.domains, spec.domains, strict=True):
        target_domain.exposure = d.exposure.value
        target_domain.description = d.description
    contacts = {c.email: c for c in row.contacts}
    row.contacts = [contacts.get(c.email) or ContactRow(email=c.email) for c in spec.contacts]
    for target_contact, c in zip(row.contacts, spec.contacts, strict=True):
        target_contact.name = c.name
        target_contact.phone = c.phone
        target_contact.roles = [r.value for r in c.roles]
        target_contact.language = c.language.value
        target_contact.pgp_key = c.pgp_key
        info = keys.get(c.email)
        target_contact.pgp_fingerprint = info.fingerprint if info else None
        target_contact.pgp_expires_at = info.expires_at if info else None


def save_organisation(
    session: Session,
    principal: Principal,
    spec: OrganisationSpec,
    *,
    clock: Clock,
    key_inspector: KeyInspector | None,
    org_id: int | None = None,
    record: str | None = None,
    action: str | None = None,
    note: str = "",
) -> dict[str, Any]:
    """Create (org_id None) or replace an organisation with spec and return its snapshot.

    Raises ValidationFailed naming the record and field of every problem (duplicates, unknown
    parent, a bad key) before anything is written; NotFound/PermissionDenied from the check.
    """
    authorize(principal, Action.EDIT, org_id)
    label = record or (f"organisation {org_id}" if org_id else f"organisation {spec.name!r}")
    row = None
    if org_id is not None:
        row = get_organisation_row(session, org_id)
        if row is None:
            raise NotFound(f"organisation {org_id} not found")
    problems = _check_unique(session, spec, label, exclude_id=org_id)
    parent_id, parent_problems = _resolve_parent(session, spec, label, self_id=org_id)
    keys, key_problems = inspect_keys(spec, label, key_inspector)
    problems += parent_problems + key_problems
    if problems:
        raise ValidationFailed(problems)
    now = clock.now()
    if row is None:
        row = OrganisationRow(created_at=now, networks=[], asns=[], domains=[], contacts=[])
        session.add(row)
        before = None
    else:
        before = snapshot(row)
    return _apply_and_record(
        session,
        principal,
        row,
        spec,
        before=before,
        parent_id=parent_id,
        keys=keys,
        clock=clock,
        now=now,
        action=action or ("organisation.update" if before else "organisation.create"),
        note=note,
    )


def _apply_and_record(
    session: Session,
    principal: Principal,
    row: OrganisationRow,
    spec: OrganisationSpec,
    *,
    before: dict[str, Any] | None,
    parent_id: int | None,
    keys: Mapping[str, KeyInfo],
    clock: Clock,
    now: datetime,
    action: str,
    note: str = "",
) -> dict[str, Any]:
    """Make row match spec, count the registry change and audit it; return the new snapshot.
    The one place every registry write ends, so none can skip the revision or the audit."""
    apply_spec(row, spec, parent_id=parent_id, keys=keys, now=now)
    session.flush()
    session.refresh(row)
    after = snapshot(row)
    bump_registry_revision(session)
    record_change(
        session,
        clock=clock,
        actor=principal.actor,
        action=action,
        entity_type="organisation",
        entity_id=row.id,
        organisation_id=row.id,
        before=before,
        after=after,
        note=note,
    )
    return after


def create_organisation(
    session: Session,
    principal: Principal,
    data: Mapping[str, Any],
    *,
    clock: Clock,
    key_inspector: KeyInspector | None,
) -> dict[str, Any]:
    """Validate data as a new organisation, store it and return its snapshot."""
    label = f"organisation {data.get('name')!r}" if isinstance(data, Mapping) else "organisation"
    authorize(principal, Action.EDIT)
    spec = parse_organisation(data, label)
    assert spec is not None  # parse_organisation raises when no problems list is given
    return save_organisation(
        session, principal, spec, clock=clock, key_inspector=key_inspector, record=label
    )


def update_organisation(
    session: Session,
    principal: Principal,
    org_id: int,
    patch: Mapping[str, Any],
    *,
    clock: Clock,
    key_inspector: KeyInspector | None,
) -> dict[str, Any]:
    """Apply a partial change (any top-level interchange fields) and return the snapshot.
    Lists given in the patch replace the lists held."""
    row = _row_or_raise(session, principal, org_id, Action.EDIT)
    merged = spec_to_dict(row_to_spec(row))
    merged.update(dict(patch))
    label = f"organisation {org_id}"
    spec = parse_organisation(merged, label)
    assert spec is not None
    return save_organisation(
        session,
        principal,
        spec,
        clock=clock,
        key_inspector=key_inspector,
        org_id=org_id,
        record=label,
    )


def delete_organisation(
    session: Session, principal: Principal, org_id: int, *, clock: Clock
) -> None:
    """Delete an organisation with everything it owns; its children lose their parent."""
    row = _row_or_raise(session, principal, org_id, Action.EDIT)
    before = snapshot(row)
    for child in row.children:
        child.parent_id = None
    session.delete(row)
    session.flush()
    bump_registry_revision(session)
    record_change(
        session,
        clock=clock,
        actor=principal.actor,
        action="organisation.delete",
        entity_type="organisation",
        entity_id=org_id,
        organisation_id=org_id,
        before=before,
        after=None,
    )


_ITEM_KEYS = {"networks": "cidr", "asns": "asn", "domains": "name", "contacts": "email"}


def add_item(
    session: Session,
    principal: Principal,
    org_id: int,
    kind: str,
    item: Any,
    *,
    clock: Clock,
    key_inspector: KeyInspector | None,
) -> dict[str, Any]:
    """Add one network, ASN, domain or contact to an organisation and return the snapshot.
    Raises Conflict if the organisation has it already."""
    if kind not in _ITEM_KEYS:
        raise ValueError(f"unknown kind {kind!r}")
    row = _row_or_raise(session, principal, org_id, Action.EDIT)
    current = spec_to_dict(row_to_spec(row))
    before = len(current[kind])
    current[kind] = [*current[kind], item]
    label = f"organisation {org_id}"
    problems: list[FieldProblem] = []
    spec = parse_organisation(current, label, problems=problems)
    if problems:
        duplicate = [p for p in problems if p.field == f"{kind}[{before}]" and "twice" in p.message]
        if duplicate:
            message = duplicate[0].message.replace("is listed twice", "is registered already")
            raise Conflict(f"{label}: {message}")
        raise ValidationFailed(
            [
                FieldProblem(p.record, p.field.replace(f"{kind}[{before}]", kind[:-1]), p.message)
                for p in problems
            ]
        )
    assert spec is not None
    return save_organisation(
        session,
        principal,
        spec,
        clock=clock,
        key_inspector=key_inspector,
        org_id=org_id,
        record=label,
        action=f"organisation.{kind[:-1]}.add",
    )


def remove_item(
    session: Session, principal: Principal, org_id: int, kind: str, item_id: int, *, clock: Clock
) -> dict[str, Any]:
    """Remove one network, ASN, domain or contact by its id; NotFound if it is not there."""
    if kind not in _ITEM_KEYS:
        raise ValueError(f"unknown kind {kind!r}")
    row = _row_or_raise(session, principal, org_id, Action.EDIT)
    index = next((i for i, item in enumerate(getattr(row, kind)) if item.id == item_id), None)
    if index is None:
        raise NotFound(f"{kind[:-1]} {item_id} not found in organisation {org_id}")
    # Keys already derived stay as they are: removing an entry must not re-judge the others.
    keys = {
        c.email: KeyInfo(c.pgp_fingerprint, c.pgp_expires_at, ())
        for c in row.contacts
        if c.pgp_fingerprint
    }
    spec = row_to_spec(row)
    items = list(getattr(spec, kind))
    del items[index]
    trimmed = OrganisationSpec(**{**spec.__dict__, kind: tuple(items)})
    return _apply_and_record(
        session,
        principal,
        row,
        trimmed,
        before=snapshot(row),
        parent_id=row.parent_id,
        keys=keys,
        clock=clock,
        now=clock.now(),
        action=f"organisation.{kind[:-1]}.remove",
    )


def update_contact(
    session: Session,
    principal: Principal,
    org_id: int,
    contact_id: int,
    patch: Mapping[str, Any],
    *,
    clock: Clock,
    key_inspector: KeyInspector | None,
) -> dict[str, Any]:
    """Change one contact's fields and return the organisation's snapshot."""
    row = _row_or_raise(session, principal, org_id, Action.EDIT)
    index = next((i for i, c in enumerate(row.contacts) if c.id == contact_id), None)
    if index is None:
        raise NotFound(f"contact {contact_id} not found in organisation {org_id}")
    current = spec_to_dict(row_to_spec(row))
    current["contacts"][index] = {**current["contacts"][index], **dict(patch)}
    label = f"organisation {org_id}"
    spec = parse_organisation(current, label)
    assert spec is not None
    return save_organisation(
        session,
        principal,
        spec,
        clock=clock,
        key_inspector=key_inspector,
        org_id=org_id,
        record=label,
        action="organisation.contact.update",
    )


def registry_revision(session: Session) -> int:
    """Return the registry's revision counter: cached indexes compare it to know they are stale."""
    return int(
        session.scalar(select(RegistryRevisionRow.revision).where(RegistryRevisionRow.id == 1)) or 0
    )


def bump_registry_revision(session: Session) -> None:
    """Count one more change to the registry, in the session's transaction."""
    session.execute(
        update(RegistryRevisionRow)
        .where(RegistryRevisionRow.id == 1)
        .values(revision=RegistryRevisionRow.revision + 1)
    )
