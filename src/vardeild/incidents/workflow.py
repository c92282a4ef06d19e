"""Moving a case through its workflow (the rules are `model.check_transition`), and merging
and splitting cases.

A status change stamps the case's clocks: the first move out of `new` is when it was
acknowledged, `resolved` when it was resolved (and contained, if that was not said before),
`closed` or `rejected` when it was closed. Each change is in the journal (internal) and the
audit trail.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from vardeild.access.model import Principal
from vardeild.core.clock import Clock
from vardeild.core.errors import Conflict, NotFound, ValidationFailed
from vardeild.incidents.journal import system_entry
from vardeild.incidents.model import TITLE_MAX, CaseStatus, check_transition, reference
from vardeild.incidents.service import audit, case_dict, clean, editable_case
from vardeild.incidents.tables import (
    AttachmentRow,
    CaseRow,
    InvolvedRow,
    JournalRow,
    LinkRow,
    ObservableRow,
    TaskRow,
    UpdateRow,
)


def set_case_status(
    session: Session,
    principal: Principal,
    case_id: int,
    status: CaseStatus,
    *,
    clock: Clock,
    note: str = "",
) -> dict[str, Any]:
    """Move the case to status and return it. PermissionDenied when the role may not make
    the move, Conflict when the workflow has none (the message names the allowed ones)."""
    row = editable_case(session, principal, case_id)
    before = CaseStatus(row.status)
    if before is status:
        raise Conflict(f"case {case_id} is {status.value} already")
    check_transition(principal.role, before, status)
    text = clean(f"case {case_id}", "note", note, max_length=4000, multiline=True)
    now = clock.now()
    row.status = status.value
    row.updated_at = now
    if before is CaseStatus.NEW and row.acknowledged_at is None:
        row.acknowledged_at = now
    if status is CaseStatus.RESOLVED:
        row.resolved_at = now
        row.contained_at = row.contained_at or now
    if status in (CaseStatus.CLOSED, CaseStatus.REJECTED):
        row.closed_at = now
    if status in (CaseStatus.TRIAGE, CaseStatus.IN_PROGRESS) and before in (
        CaseStatus.CLOSED,
        CaseStatus.REJECTED,
        CaseStatus.RESOLVED,
    ):
        row.closed_at = None
        row.resolved_at = None
    system_entry(
        session, row, f"status {before.value} -> {status.value}" + (f": {text}" if text else ""),
        clock=clock, actor=principal.actor,
    )  # fmt: skip
    audit(
        session, principal, clock=clock, action="status", case_id=row.id,
        before={"status": before.value}, after={"status": status.value}, note=text,
    )  # fmt: skip
    return case_dict(row)


_MOVED = (JournalRow, TaskRow, UpdateRow, AttachmentRow)


def merge_cases(
    session: Session, principal: Principal, source_id: int, target_id: int, *, clock: Clock
) -> dict[str, Any]:
    """Fold the source case into the target: its journal, tasks, updates, attachments, links,
    observables and involved organisations move over (ones the target has already are
    dropped), and the source is marked merged. Return the target. Conflict for a case merged
    into itself or a closed target."""
    source = editable_case(session, principal, source_id)
    if source_id == target_id:
        raise Conflict("a case cannot be merged into itself")
    target = editable_case(session, principal, target_id)
    if not CaseStatus(target.status).is_open and target.status != CaseStatus.RESOLVED.value:
        raise Conflict(
            f"{reference(target_id)} is {target.status}; reopen it before merging into it"
        )
    for table in _MOVED:
        session.execute(update(table).where(table.case_id == source.id).values(case_id=target.id))
    _move_unique(session, LinkRow, source.id, target.id, ("kind", "target_id"))
    _move_unique(session, ObservableRow, source.id, target.id, ("kind", "value"))
    _move_unique(session, InvolvedRow, source.id, target.id, ("organisation_id",))
    before = source.status
    now = clock.now()
    source.status = CaseStatus.MERGED.value
    source.merged_into_id = target.id
    source.closed_at = source.closed_at or now
    source.updated_at = target.updated_at = now
    target.significant = target.significant or source.significant
    if source.aware_at is not None and (
        target.aware_at is None or source.aware_at < target.aware_at
    ):
        target.aware_at = source.aware_at
    session.flush()
    system_entry(
        session, target, f"{reference(source.id)} merged into this case", clock=clock,
        actor=principal.actor,
    )  # fmt: skip
    system_entry(
        session, source, f"merged into {reference(target.id)}", clock=clock, actor=principal.actor
    )
    audit(
        session, principal, clock=clock, action="merge", case_id=source.id,
        before={"status": before}, after={"status": "merged", "merged_into_id": target.id},
    )  # fmt: skip
    audit(
        session, principal, clock=clock, action="merged_in", case_id=target.id, before=None,
        after={"from_case_id": source.id},
    )  # fmt: skip
    return case_dict(target)


def _move_unique(
    session: Session, table: Any, source_id: int, target_id: int, keys: tuple[str, ...]
) -> None:
    held = {
        tuple(getattr(row, k) for k in keys)
        for row in session.scalars(select(table).where(table.case_id == target_id))
    }
    for row in session.scalars(select(table).where(table.case_id == source_id)).all():
        if tuple(getattr(row, k) for k in keys) in held:
            session.delete(row)
        else:
            row.case_id = target_id


def split_case(
    session: Session,
    principal: Principal,
    case_id: int,
    *,
    clock: Clock,
    title: str,
    journal_ids: Iterable[int] = (),
    link_ids: Iterable[int] = (),
    organisation_ids: Iterable[int] = (),
) -> dict[str, Any]:
    """Open a new case from part of this one: the chosen journal entries and links move to
    it, the chosen involved organisations are copied (they stay in this case too); the new
    case takes this one's classification, severity, TLP and PAP. Return the new case.
    NotFound names an id that is not this case's."""
    source = editable_case(session, principal, case_id)
    record = f"case {case_id}"
    name = clean(record, "title", title, max_length=TITLE_MAX)
    if not name:
        raise ValidationFailed.one(record, "title", "is required: name the new case")
    organisations = set(organisation_ids)
    entries = _owned(session, JournalRow, source.id, journal_ids, "journal entry")
    links = _owned(session, LinkRow, source.id, link_ids, "link")
    involved = [
        row
        for row in session.scalars(select(InvolvedRow).where(InvolvedRow.case_id == source.id))
        if row.organisation_id in organisations
    ]
    missing = organisations - {row.organisation_id for row in involved}
    if missing:
        raise NotFound(f"organisation {min(missing)} is not involved in case {case_id}")
    now = clock.now()
    new = CaseRow(
        title=name,
        description=f"split from {reference(source.id)}",
        classification_taxonomy=source.classification_taxonomy,
        classification_type=source.classification_type,
        severity=source.severity,
        impact=source.impact,
        tlp=source.tlp,
        pap=source.pap,
        status=CaseStatus.TRIAGE.value,
        assignee_user_id=source.assignee_user_id,
        reporter=source.reporter,
        reporter_organisation_id=source.reporter_organisation_id,
        source=source.source,
        significant=False,
        created_at=now,
        created_by=principal.actor,
        updated_at=now,
        acknowledged_at=now,
    )
    session.add(new)
    session.flush()
    for row in entries + links:
        row.case_id = new.id
    for row in involved:
        session.add(
            InvolvedRow(
                case_id=new.id, organisation_id=row.organisation_id, role=row.role,
                status=row.status, contacts=row.contacts, added_at=now,
                added_by=principal.actor, updated_at=now,
            )
        )  # fmt: skip
    session.flush()
    system_entry(
        session, new, f"split from {reference(source.id)}", clock=clock, actor=principal.actor
    )
    system_entry(
        session, source, f"{reference(new.id)} split off ({len(entries)} entries, {len(links)} "
        "links)", clock=clock, actor=principal.actor,
    )  # fmt: skip
    audit(
        session, principal, clock=clock, action="split", case_id=source.id, before=None,
        after={"new_case_id": new.id, "journal_ids": [r.id for r in entries],
               "link_ids": [r.id for r in links],
               "organisation_ids": sorted({r.organisation_id for r in involved})},
    )  # fmt: skip
    return case_dict(new)


def _owned(session: Session, table: Any, case_id: int, ids: Iterable[int], what: str) -> list[Any]:
    found = []
    for item_id in dict.fromkeys(ids):
        row = session.get(table, item_id)
        if row is None or row.case_id != case_id:
            raise NotFound(f"{what} {item_id} of case {case_id} not found")
        found.append(row)
    return found
