"""The use cases of public incident reports: take one in from the form, list them, open one
(decrypted, audited) and move it through its workflow (audited).

Anyone may submit; only CERT staff list reports, and only CERT analysts and admins open one
or change its status: a report holds a stranger's personal data and what they told the CERT
in confidence, and the read-only role (auditors, dashboards) needs the counts, not the text.
A member is answered as if no report existed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vardeild.access.model import Action, Principal, authorize
from vardeild.audit.service import record_change
from vardeild.core.clock import Clock
from vardeild.core.errors import NotFound
from vardeild.intake.model import (
    Report,
    ReportContent,
    ReportStatus,
    ReportSummary,
    address_digest,
    check_transition,
    new_reference,
    normalise_reference,
    open_report,
    seal_report,
)
from vardeild.intake.tables import IncidentReportRow

ENTITY = "incident_report"
PUBLIC_ACTOR = "public:report-form"


def _summary(row: IncidentReportRow) -> ReportSummary:
    return ReportSummary(
        id=row.id,
        reference=row.reference,
        received_at=row.received_at,
        status=ReportStatus(row.status),
        size=row.size,
        language=row.language,
        status_changed_at=row.status_changed_at,
        status_changed_by=row.status_changed_by,
    )


def _metadata(row: IncidentReportRow) -> dict[str, Any]:
    # What the audit log keeps of a report: never a word of its content.
    return {"reference": row.reference, "status": row.status, "size": row.size}


def submit_report(
    session: Session,
    *,
    clock: Clock,
    key: bytes,
    content: ReportContent,
    client: str,
    language: str,
) -> ReportSummary:
    """Store content sealed under key and return the new report's summary (its reference is
    what the reporter gets). Needs no principal: the public form is open to anyone."""
    reference = new_reference(clock.now())
    while session.scalar(
        select(IncidentReportRow.id).where(IncidentReportRow.reference == reference)
    ):
        reference = new_reference(clock.now())  # 40 random bits: a repeat is rare, not impossible
    plain_size = len(content.to_bytes())
    row = IncidentReportRow(
        reference=reference,
        received_at=clock.now(),
        status=ReportStatus.NEW.value,
        size=plain_size,
        language=language[:8],
        address_hash=address_digest(key, client),
        sealed=seal_report(content, key, reference=reference),
    )
    session.add(row)
    session.flush()
    record_change(
        session, clock=clock, actor=PUBLIC_ACTOR, action="incident_report.submit",
        entity_type=ENTITY, entity_id=row.id, organisation_id=None, before=None,
        after=_metadata(row),
    )  # fmt: skip
    return _summary(row)


def list_reports(
    session: Session,
    principal: Principal,
    *,
    status: ReportStatus | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[ReportSummary], int]:
    """Return a page of reports, newest first, and how many match (CERT staff only; raises
    PermissionDenied for a member)."""
    authorize(principal, Action.LIST_ALL)
    query = select(IncidentReportRow)
    if status is not None:
        query = query.where(IncidentReportRow.status == status.value)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(IncidentReportRow.received_at.desc(), IncidentReportRow.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [_summary(row) for row in rows], total


def _handler_row(session: Session, principal: Principal, report_id: int) -> IncidentReportRow:
    """Return the row for someone who may handle reports; NotFound for a member (as for a
    report that does not exist), PermissionDenied for CERT read-only."""
    if not principal.is_cert:
        raise NotFound(f"report {report_id} not found")
    authorize(principal, Action.DECIDE)
    row = session.get(IncidentReportRow, report_id)
    if row is None:
        raise NotFound(f"report {report_id} not found")
    return row


def find_report_id(session: Session, principal: Principal, reference: str) -> int:
    """Return the id of the report with reference (any case); raise NotFound if there is none
    or the principal is not CERT staff."""
    if not principal.is_cert:
        raise NotFound(f"report {reference} not found")
    found = session.scalar(
        select(IncidentReportRow.id).where(
            IncidentReportRow.reference == normalise_reference(reference)
        )
    )
    if found is None:
        raise NotFound(f"report {reference} not found")
    return found


def read_report(
    session: Session, principal: Principal, report_id: int, *, clock: Clock, key: bytes
) -> Report:
    """Return the report opened with key, and record in the audit log who read it. Raises
    NotFound (no such report, or a member asks), PermissionDenied (CERT read-only) or
    ReportUnreadable (the key changed since it came in)."""
    row = _handler_row(session, principal, report_id)
    content = open_report(row.sealed, key, reference=row.reference)
    record_change(
        session, clock=clock, actor=principal.actor, action="incident_report.read",
        entity_type=ENTITY, entity_id=row.id, organisation_id=None, before=None, after=None,
        note=f"opened report {row.reference}",
    )  # fmt: skip
    return Report(summary=_summary(row), content=content)


def change_status(
    session: Session,
    principal: Principal,
    report_id: int,
    status: ReportStatus,
    *,
    clock: Clock,
) -> ReportSummary:
    """Move the report to status and return it (audited); the status it already has changes
    nothing. Raises NotFound, PermissionDenied as read_report does, Conflict for a move the
    workflow does not allow."""
    row = _handler_row(session, principal, report_id)
    current = ReportStatus(row.status)
    if status is current:
        return _summary(row)
    check_transition(current, status)
    before = _metadata(row)
    row.status = status.value
    row.status_changed_at = clock.now()
    row.status_changed_by = principal.actor
    session.flush()
    record_change(
        session, clock=clock, actor=principal.actor, action="incident_report.status",
        entity_type=ENTITY, entity_id=row.id, organisation_id=None, before=before,
        after=_metadata(row),
    )  # fmt: skip
    return _summary(row)
