"""Change requests: a member proposes changes to its own entry, the CERT approves or rejects,
and only approved changes apply.

A request holds, for each of networks, asns, domains and contacts, what to add and what to
remove (contacts also what to update), e.g.
``{"networks": {"add": ["192.0.2.0/24"], "remove": ["198.51.100.0/24"]},
"contacts": {"update": [{"email": "soc@example.no", "phone": "+47 22 00 00 00"}]}}``.
It is validated when proposed and again, against the entry as it then is, when approved.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vardeild.access.model import Action, Principal, authorize, list_scope
from vardeild.audit.service import record_change
from vardeild.core.clock import Clock
from vardeild.core.errors import Conflict, FieldProblem, NotFound, ValidationFailed
from vardeild.core.identifiers import normalise_domain, normalise_email, parse_asn, parse_network
from vardeild.core.text import clean_text
from vardeild.members.model import OrganisationSpec, parse_organisation, spec_to_dict
from vardeild.members.service import (
    KeyInspector,
    get_organisation_row,
    inspect_keys,
    save_organisation,
)
from vardeild.members.snapshots import row_to_spec
from vardeild.members.tables import ChangeRequestRow


class ChangeStatus(StrEnum):
    """Where a change request stands."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class ChangeRequest:
    """A change request as shown to people."""

    id: int
    organisation_id: int
    status: ChangeStatus
    changes: dict[str, Any]
    comment: str
    proposed_by: str
    proposed_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str


_KINDS = {"networks": "cidr", "asns": "asn", "domains": "name", "contacts": "email"}
_OPERATIONS = {"add", "remove", "update"}


def _key_of(kind: str, value: Any) -> str:
    """Return the canonical natural key of a list entry (bare or a mapping); ValueError."""
    raw = value.get(_KINDS[kind]) if isinstance(value, Mapping) else value
    if raw is None:
        raise ValueError(f"needs {_KINDS[kind]!r}")
    if kind == "networks":
        return parse_network(str(raw)).with_prefixlen
    if kind == "asns":
        return str(parse_asn(raw))
    if kind == "domains":
        return normalise_domain(str(raw))
    return normalise_email(str(raw))


def _apply_changes(
    current: dict[str, Any], changes: Mapping[str, Any], record: str
) -> dict[str, Any]:
    """Return the interchange form of the entry with changes applied; ValidationFailed names
    every operation that does not fit."""
    problems: list[FieldProblem] = []
    result = dict(current)
    if not isinstance(changes, Mapping) or not changes:
        raise ValidationFailed.one(record, "changes", "must be an object naming what to change")
    for kind, ops in changes.items():
        if kind not in _KINDS:
            problems.append(
                FieldProblem(
                    record,
                    str(kind),
                    f"cannot be changed by request; use one of {', '.join(_KINDS)}",
                )
            )
            continue
        if not isinstance(ops, Mapping) or not set(ops) <= _OPERATIONS or not ops:
            problems.append(
                FieldProblem(record, kind, "must be an object with add, remove or update lists")
            )
            continue
        if "update" in ops and kind != "contacts":
            problems.append(FieldProblem(record, f"{kind}.update", "only contacts can be updated"))
            continue
        items = list(result.get(kind) or [])
        keyed = {_key_of(kind, item): item for item in items}
        for op in ("remove", "update", "add"):
            entries = ops.get(op) or []
            if not isinstance(entries, list):
                problems.append(FieldProblem(record, f"{kind}.{op}", "must be a list"))
                continue
            for i, entry in enumerate(entries):
                where = f"{kind}.{op}[{i}]"
                try:
                    key = _key_of(kind, entry)
                except ValueError as exc:
                    problems.append(FieldProblem(record, where, str(exc)))
                    continue
                if op == "remove":
                    if key not in keyed:
                        problems.append(FieldProblem(record, where, f"{key} is not registered"))
                    keyed.pop(key, None)
                elif op == "update":
                    if key not in keyed or not isinstance(entry, Mapping):
                        problems.append(
                            FieldProblem(record, where, f"{key} is not a registered contact")
                        )
                        continue
                    keyed[key] = {**keyed[key], **entry}
                else:
                    if key in keyed:
                        problems.append(FieldProblem(record, where, f"{key} is registered already"))
                        continue
                    keyed[key] = entry
        result[kind] = list(keyed.values())
    if problems:
        raise ValidationFailed(problems)
    return result


def _validate(
    session: Session,
    org_id: int,
    changes: Mapping[str, Any],
    record: str,
    inspector: KeyInspector | None,
) -> OrganisationSpec:
    row = get_organisation_row(session, org_id)
    if row is None:
        raise NotFound(f"organisation {org_id} not found")
    merged = _apply_changes(spec_to_dict(row_to_spec(row)), changes, record)
    spec = parse_organisation(merged, record)
    assert spec is not None
    _, key_problems = inspect_keys(spec, record, inspector)
    if key_problems:
        raise ValidationFailed(key_problems)
    return spec


def _view(row: ChangeRequestRow) -> ChangeRequest:
    return ChangeRequest(
        id=row.id,
        organisation_id=row.organisation_id,
        status=ChangeStatus(row.status),
        changes=dict(row.changes),
        comment=row.comment,
        proposed_by=row.proposed_by,
        proposed_at=row.proposed_at,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        decision_reason=row.decision_reason,
    )


def _audit(
    session: Session,
    clock: Clock,
    principal: Principal,
    row: ChangeRequestRow,
    action: str,
    before: dict[str, Any] | None,
) -> None:
    record_change(
        session,
        clock=clock,
        actor=principal.actor,
        action=action,
        entity_type="change_request",
        entity_id=row.id,
        organisation_id=row.organisation_id,
        before=before,
        after={"status": row.status, "changes": row.changes, "comment": row.comment},
        note=row.decision_reason,
    )


def propose_change(
    session: Session,
    principal: Principal,
    org_id: int,
    changes: Mapping[str, Any],
    *,
    comment: str = "",
    clock: Clock,
    key_inspector: KeyInspector | None,
) -> ChangeRequest:
    """Store a pending change request after checking it would apply; return it."""
    authorize(principal, Action.PROPOSE, org_id)
    record = f"change request for organisation {org_id}"
    try:
        comment = clean_text(comment, max_length=4000, multiline=True)
    except ValueError as exc:
        raise ValidationFailed.one(record, "comment", str(exc)) from exc
    _validate(session, org_id, changes, record, key_inspector)
    row = ChangeRequestRow(
        organisation_id=org_id,
        status=ChangeStatus.PENDING.value,
        changes=dict(changes),
        comment=comment,
        proposed_by=principal.actor,
        proposed_at=clock.now(),
        decision_reason="",
        applied=False,
    )
    session.add(row)
    session.flush()
    _audit(session, clock, principal, row, "change_request.propose", None)
    return _view(row)


def get_change_request_or_raise(
    session: Session, principal: Principal, request_id: int
) -> ChangeRequest:
    """Return the change request; NotFound if absent or another member's."""
    return _view(_row_or_raise(session, principal, request_id))


def _row_or_raise(session: Session, principal: Principal, request_id: int) -> ChangeRequestRow:
    row = session.get(ChangeRequestRow, request_id)
    if row is None:
        raise NotFound(f"change request {request_id} not found")
    try:
        authorize(principal, Action.READ, row.organisation_id)
    except NotFound:
        raise NotFound(f"change request {request_id} not found") from None
    return row


def list_change_requests(
    session: Session,
    principal: Principal,
    *,
    status: ChangeStatus | None = None,
    organisation_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[ChangeRequest], int]:
    """Return a page of change requests, newest first, and the total; members see their own."""
    query = select(ChangeRequestRow)
    organisation_id, visible = list_scope(
        principal, organisation_id, cert_action=Action.LIST_ALL, member_action=Action.READ
    )
    if not visible:
        return [], 0
    if organisation_id is not None:
        query = query.where(ChangeRequestRow.organisation_id == organisation_id)
    if status is not None:
        query = query.where(ChangeRequestRow.status == status.value)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(ChangeRequestRow.id.desc()).limit(limit).offset(offset))
    return [_view(row) for row in rows], total


def approve_change_request(
    session: Session,
    principal: Principal,
    request_id: int,
    *,
    reason: str = "",
    clock: Clock,
    key_inspector: KeyInspector | None,
) -> ChangeRequest:
    """Apply a pending request to the registry and mark it approved; Conflict if not pending,
    ValidationFailed if it no longer fits the entry (it then stays pending)."""
    row = _row_or_raise(session, principal, request_id)
    authorize(principal, Action.DECIDE, row.organisation_id)
    if row.status != ChangeStatus.PENDING.value:
        raise Conflict(f"change request {request_id} is {row.status}, not pending")
    record = f"change request {request_id}"
    spec = _validate(session, row.organisation_id, row.changes, record, key_inspector)
    save_organisation(
        session,
        principal,
        spec,
        clock=clock,
        key_inspector=key_inspector,
        org_id=row.organisation_id,
        record=record,
        action="organisation.update",
        note=f"approved change request {request_id}",
    )
    before = {"status": row.status}
    row.status = ChangeStatus.APPROVED.value
    row.decided_by = principal.actor
    row.decided_at = clock.now()
    row.decision_reason = reason
    row.applied = True
    _audit(session, clock, principal, row, "change_request.approve", before)
    return _view(row)


def reject_change_request(
    session: Session, principal: Principal, request_id: int, *, reason: str, clock: Clock
) -> ChangeRequest:
    """Mark a pending request rejected, with the reason the member will read."""
    row = _row_or_raise(session, principal, request_id)
    authorize(principal, Action.DECIDE, row.organisation_id)
    if row.status != ChangeStatus.PENDING.value:
        raise Conflict(f"change request {request_id} is {row.status}, not pending")
    reason = _reason(request_id, reason)
    if not reason:
        raise ValidationFailed.one(
            f"change request {request_id}", "reason", "say why it is rejected"
        )
    return _settle(session, clock, principal, row, ChangeStatus.REJECTED, reason)


def withdraw_change_request(
    session: Session, principal: Principal, request_id: int, *, reason: str = "", clock: Clock
) -> ChangeRequest:
    """Mark a pending request withdrawn by one who may propose changes for its organisation
    (the member's admins, or the CERT on their behalf); nothing of it applies. Conflict if it
    is no longer pending (the CERT decided first)."""
    row = _row_or_raise(session, principal, request_id)
    authorize(principal, Action.PROPOSE, row.organisation_id)
    if row.status != ChangeStatus.PENDING.value:
        raise Conflict(f"change request {request_id} is {row.status}, not pending")
    return _settle(
        session, clock, principal, row, ChangeStatus.WITHDRAWN, _reason(request_id, reason)
    )


def _reason(request_id: int, reason: str) -> str:
    """Return the reason cleaned; ValidationFailed naming the request if it cannot be."""
    try:
        return clean_text(reason, max_length=4000, multiline=True)
    except ValueError as exc:
        raise ValidationFailed.one(f"change request {request_id}", "reason", str(exc)) from exc


def _settle(
    session: Session,
    clock: Clock,
    principal: Principal,
    row: ChangeRequestRow,
    status: ChangeStatus,
    reason: str,
) -> ChangeRequest:
    """Mark a pending request rejected or withdrawn (nothing of it applies), audited."""
    before = {"status": row.status}
    row.status = status.value
    row.decided_by = principal.actor
    row.decided_at = clock.now()
    row.decision_reason = reason
    action = "reject" if status is ChangeStatus.REJECTED else "withdraw"
    _audit(session, clock, principal, row, f"change_request.{action}", before)
    return _view(row)
