"""Recording and listing audit entries. Every change in every domain goes through `record`,
in the same transaction as the change itself, so a change is never without its entry."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vardeild.audit.model import AuditEntry, AuditFilter
from vardeild.audit.tables import AuditRow
from vardeild.core.clock import Clock


def record_change(
    session: Session,
    *,
    clock: Clock,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str | int,
    organisation_id: int | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    note: str = "",
) -> None:
    """Add an audit entry to the session's transaction."""
    session.add(
        AuditRow(
            at=clock.now(),
            actor=actor,
            action=action,
            entity_type=entity_type,
            entity_id=str(entity_id),
            organisation_id=organisation_id,
            before=before,
            after=after,
            note=note,
        )
    )


def list_entries(
    session: Session, *, filters: AuditFilter, limit: int = 100, offset: int = 0
) -> tuple[list[AuditEntry], int]:
    """Return a page of entries, newest first, and the total number that match."""
    query = select(AuditRow)
    if filters.actor is not None:
        query = query.where(AuditRow.actor == filters.actor)
    if filters.action is not None:
        query = query.where(AuditRow.action == filters.action)
    if filters.entity_type is not None:
        query = query.where(AuditRow.entity_type == filters.entity_type)
    if filters.entity_id is not None:
        query = query.where(AuditRow.entity_id == filters.entity_id)
    if filters.organisation_id is not None:
        query = query.where(AuditRow.organisation_id == filters.organisation_id)
    if filters.since is not None:
        query = query.where(AuditRow.at >= filters.since)
    if filters.until is not None:
        query = query.where(AuditRow.at < filters.until)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(AuditRow.at.desc(), AuditRow.id.desc()).limit(limit).offset(offset)
    )
    return [_entry(row) for row in rows], total


def _entry(row: AuditRow) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        at=row.at,
        actor=row.actor,
        action=row.action,
        entity_type=row.entity_type,
        entity_id=row.entity_id,
        organisation_id=row.organisation_id,
        before=row.before,
        after=row.after,
        note=row.note,
    )
