"""Reading incident cases, and the access rules every incidents module shares: who may see or
change a case, the audit entry of a change, cleaned text, a case as data, the CERT's list and
a member's, finding a case by its reference, and the deadlines of a case as data. The use cases
that change cases are in `service`, which re-exports these names (the intake hooks import
`find_case_by_reference` from there)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from vardeild.access.model import Action, Principal, authorize, list_scope
from vardeild.audit.service import record_change
from vardeild.core.clock import Clock
from vardeild.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from vardeild.core.text import clean_text
from vardeild.incidents.deadlines import CaseTimes, DeadlinePolicy, compute_deadlines
from vardeild.incidents.model import (
    CaseStatus,
    parse_reference,
    reference,
)
from vardeild.incidents.tables import CaseRow, InvolvedRow
from vardeild.monitoring.model import Severity

# --- access --------------------------------------------------------------------------------


def involved_ids(session: Session, case_id: int) -> set[int]:
    """Return the ids of the organisations involved in the case."""
    return set(
        session.scalars(select(InvolvedRow.organisation_id).where(InvolvedRow.case_id == case_id))
    )


def case_row_or_raise(
    session: Session, principal: Principal, case_id: int, *, lock: bool = False
) -> CaseRow:
    """Return the case principal may read; NotFound if absent or (for a member) not one it is
    involved in."""
    row = session.get(CaseRow, case_id, with_for_update=lock or None)
    if row is None:
        raise NotFound(f"case {case_id} not found")
    if principal.is_cert:
        authorize(principal, Action.READ)
    elif principal.organisation_id not in involved_ids(session, case_id):
        raise NotFound(f"case {case_id} not found")
    else:
        authorize(principal, Action.READ, principal.organisation_id)
    return row


def require_editor(principal: Principal) -> None:
    """Return if principal may change cases (CERT admins and analysts); PermissionDenied else."""
    if not principal.is_cert:
        raise PermissionDenied("only the CERT may change a case; write in its journal instead")
    authorize(principal, Action.EDIT)


def editable_case(
    session: Session, principal: Principal, case_id: int, *, open_only: bool = True
) -> CaseRow:
    """Return the case for a change by principal; NotFound, PermissionDenied, or Conflict
    when the case was merged away (changes go to the case it was merged into)."""
    row = case_row_or_raise(session, principal, case_id, lock=True)
    require_editor(principal)
    if open_only and row.status == CaseStatus.MERGED.value:
        raise Conflict(
            f"case {case_id} was merged into {reference(row.merged_into_id or 0)}; change that "
            "case instead"
        )
    return row


def audit(
    session: Session,
    principal: Principal,
    *,
    clock: Clock,
    action: str,
    case_id: int,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    organisation_id: int | None = None,
    note: str = "",
) -> None:
    """Record a change of a case in the audit trail (action is prefixed `case.`)."""
    record_change(
        session,
        clock=clock,
        actor=principal.actor,
        action=f"case.{action}",
        entity_type="case",
        entity_id=case_id,
        organisation_id=organisation_id,
        before=before,
        after=after,
        note=note,
    )


def clean(record: str, field: str, value: str, *, max_length: int, multiline: bool = False) -> str:
    """Return value cleaned for storing; ValidationFailed naming the field."""
    try:
        return clean_text(value, max_length=max_length, multiline=multiline)
    except ValueError as exc:
        raise ValidationFailed.one(record, field, str(exc)) from exc


# --- reading -------------------------------------------------------------------------------


def case_dict(row: CaseRow, *, for_member: bool = False) -> dict[str, Any]:
    """Return a case as JSON-ready data; for_member leaves out what only the CERT reads (the
    description, assignee, reporter, significance and merge history)."""
    data: dict[str, Any] = {
        "id": row.id,
        "reference": reference(row.id),
        "title": row.title,
        "classification": {
            "taxonomy": row.classification_taxonomy,
            "type": row.classification_type,
        },
        "severity": Severity(row.severity).name.lower(),
        "impact": row.impact,
        "tlp": row.tlp,
        "pap": row.pap,
        "status": row.status,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }
    if for_member:
        return data
    return {
        **data,
        "description": row.description,
        "assignee_user_id": row.assignee_user_id,
        "reporter": row.reporter,
        "reporter_organisation_id": row.reporter_organisation_id,
        "source": row.source,
        "significant": row.significant,
        "aware_at": row.aware_at,
        "early_warning_at": row.early_warning_at,
        "notification_at": row.notification_at,
        "final_report_at": row.final_report_at,
        "created_by": row.created_by,
        "acknowledged_at": row.acknowledged_at,
        "contained_at": row.contained_at,
        "resolved_at": row.resolved_at,
        "closed_at": row.closed_at,
        "merged_into_id": row.merged_into_id,
    }


def get_case_or_raise(session: Session, principal: Principal, case_id: int) -> dict[str, Any]:
    """Return the case as principal may see it; NotFound if absent or not the member's."""
    row = case_row_or_raise(session, principal, case_id)
    return case_dict(row, for_member=not principal.is_cert)


@dataclass(frozen=True)
class CaseQuery:
    """Which cases to list."""

    status: CaseStatus | None = None
    open_only: bool = False
    assignee_user_id: int | None = None
    organisation_id: int | None = None  # involved
    classification_taxonomy: str | None = None
    severity: Severity | None = None  # at least
    significant: bool | None = None
    text: str | None = None  # in the title


def list_cases(
    session: Session,
    principal: Principal,
    *,
    query: CaseQuery = CaseQuery(),
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Return a page of cases, newest first, and how many match. A member sees only the
    cases it is involved in (a filter for another organisation answers nothing)."""
    stmt = select(CaseRow)
    organisation_id, visible = list_scope(
        principal, query.organisation_id, cert_action=Action.READ, member_action=Action.READ
    )
    if not visible:
        return [], 0
    if organisation_id is not None:
        stmt = stmt.where(
            CaseRow.id.in_(
                select(InvolvedRow.case_id).where(InvolvedRow.organisation_id == organisation_id)
            )
        )
    if query.status is not None:
        stmt = stmt.where(CaseRow.status == query.status.value)
    if query.open_only:
        stmt = stmt.where(CaseRow.status.in_([s.value for s in CaseStatus if s.is_open]))
    if query.assignee_user_id is not None:
        stmt = stmt.where(CaseRow.assignee_user_id == query.assignee_user_id)
    if query.classification_taxonomy is not None:
        stmt = stmt.where(CaseRow.classification_taxonomy == query.classification_taxonomy)
    if query.severity is not None:
        stmt = stmt.where(CaseRow.severity >= int(query.severity))
    if query.significant is not None and principal.is_cert:
        stmt = stmt.where(CaseRow.significant.is_(query.significant))
    if query.text:
        stmt = stmt.where(func.lower(CaseRow.title).contains(query.text.lower(), autoescape=True))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(CaseRow.id.desc()).limit(limit).offset(offset))
    return [case_dict(row, for_member=not principal.is_cert) for row in rows], total


def find_case_by_reference(session: Session, reference_text: str) -> int | None:
    """Return the id of the live case `VARDEILD#<id>` in reference_text names (following
    merges to the case it was merged into), or None if it names none that exists."""
    case_id = parse_reference(reference_text)
    seen: set[int] = set()
    while case_id is not None and case_id not in seen:
        seen.add(case_id)
        row = session.get(CaseRow, case_id)
        if row is None:
            return None
        if row.status != CaseStatus.MERGED.value or row.merged_into_id is None:
            return row.id
        case_id = row.merged_into_id
    return None


# --- deadlines -----------------------------------------------------------------------------


def case_times(row: CaseRow) -> CaseTimes:
    """Return what the deadlines of the case are computed from."""
    return CaseTimes(
        status=CaseStatus(row.status),
        severity=Severity(row.severity),
        opened_at=row.created_at,
        significant=row.significant,
        aware_at=row.aware_at,
        acknowledged_at=row.acknowledged_at,
        resolved_at=row.resolved_at,
        early_warning_at=row.early_warning_at,
        notification_at=row.notification_at,
        final_report_at=row.final_report_at,
    )


def deadline_dicts(row: CaseRow, policy: DeadlinePolicy, now: datetime) -> list[dict[str, Any]]:
    """Return the case's deadlines as JSON-ready data."""
    return [
        {
            "kind": d.kind.value,
            "regulatory": d.regulatory,
            "due_at": d.due_at,
            "met_at": d.met_at,
            "overdue": d.overdue,
        }
        for d in compute_deadlines(case_times(row), policy, now=now)
    ]


def case_deadlines(
    session: Session, principal: Principal, case_id: int, *, policy: DeadlinePolicy, now: datetime
) -> list[dict[str, Any]]:
    """Return the case's regulatory clocks and service targets with what is overdue;
    PermissionDenied for members (the deadlines are the CERT's)."""
    row = case_row_or_raise(session, principal, case_id)
    if not principal.is_cert:
        raise PermissionDenied("a case's deadlines are the CERT's")
    return deadline_dicts(row, policy, now)


def overdue_case_ids(
    session: Session, principal: Principal, *, policy: DeadlinePolicy, now: datetime
) -> dict[int, list[str]]:
    """Return, for every case with an overdue deadline, the kinds overdue (for the console's
    list and digests); PermissionDenied for members."""
    authorize(principal, Action.LIST_ALL)
    rows = session.scalars(
        select(CaseRow).where(
            or_(
                CaseRow.status.in_([s.value for s in CaseStatus if s.is_open]),
                CaseRow.significant.is_(True),
            )
        )
    )
    found: dict[int, list[str]] = {}
    for row in rows:
        late = [
            d.kind.value for d in compute_deadlines(case_times(row), policy, now=now) if d.overdue
        ]
        if late:
            found[row.id] = late
    return found
