"""Storing what an importer read: indicators into the store, unmatchable objects beside them.

Imports keep the good records of a file with bad ones (a partner's feed with one broken line
must not stop the other thousand); the problems come back in the result and in the audit
entry. A file refused whole raises ValidationFailed with the reason.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from vardeild.access.model import Action, Principal, authorize
from vardeild.core.clock import Clock
from vardeild.core.errors import FieldProblem, ValidationFailed
from vardeild.intel.imports import ParsedFeed
from vardeild.intel.model import LoadResult, clean_source
from vardeild.intel.service import LoadProgress, store_records
from vardeild.intel.tables import UnmatchableRow


def import_parsed(
    session: Session,
    principal: Principal,
    parsed: ParsedFeed,
    *,
    clock: Clock,
    source: str,
    fmt: str,
    feed_id: int | None = None,
    dry_run: bool = False,
    origin: str = "",
    progress: LoadProgress | None = None,
) -> LoadResult:
    """Store the records and unmatchable objects of a parsed import under source; return the
    counts with the problems. Raises ValidationFailed if the input was refused whole or the
    source name is invalid; PermissionDenied unless the principal may import."""
    authorize(principal, Action.IMPORT)
    try:
        source = clean_source(source)
    except ValueError as exc:
        raise ValidationFailed([FieldProblem("options", "source", str(exc))]) from None
    if parsed.refused is not None or parsed.limit_exceeded is not None:
        raise ValidationFailed(parsed.problems)
    if not dry_run:
        _keep_unmatchable(session, parsed, source=source, feed_id=feed_id, clock=clock)
    result = store_records(
        session,
        principal,
        parsed.records,
        clock=clock,
        source=source,
        fmt=fmt,
        problems=parsed.problems,
        skipped=parsed.invalid_lines,
        feed_id=feed_id,
        dry_run=dry_run,
        origin=origin,
        extra={"unmatchable": len(parsed.unmatchable), "ignored": parsed.ignored},
        progress=progress,
    )
    return dataclasses.replace(result, unmatchable=len(parsed.unmatchable), ignored=parsed.ignored)


def _keep_unmatchable(
    session: Session, parsed: ParsedFeed, *, source: str, feed_id: int | None, clock: Clock
) -> None:
    """Upsert the unmatchable objects on (source, object id): a repeat moves last_seen and
    takes the newer text and reason."""
    if not parsed.unmatchable:
        return
    now = clock.now()
    latest = {record.object_id: record for record in parsed.unmatchable}
    ids = list(latest)
    existing: dict[str, int] = {}
    for i in range(0, len(ids), 1000):
        chunk = ids[i : i + 1000]
        rows = session.execute(
            select(UnmatchableRow.object_id, UnmatchableRow.id).where(
                UnmatchableRow.source == source, UnmatchableRow.object_id.in_(chunk)
            )
        )
        existing.update({row[0]: row[1] for row in rows})
    for object_id, record in latest.items():
        fields: dict[str, Any] = {
            "kind": record.kind,
            "text": record.text,
            "reason": record.reason,
            "raw": record.raw,
            "feed_id": feed_id,
            "last_seen": now,
        }
        if object_id in existing:
            session.execute(
                update(UnmatchableRow)
                .where(UnmatchableRow.id == existing[object_id])
                .values(**fields)
            )
        else:
            session.add(
                UnmatchableRow(source=source, object_id=object_id, first_seen=now, **fields)
            )
    session.flush()


def list_unmatchable(
    session: Session,
    principal: Principal,
    *,
    source: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Return a page of kept-but-unmatchable objects (newest first) and how many in all;
    PermissionDenied for members."""
    authorize(principal, Action.LIST_ALL)
    query = select(UnmatchableRow)
    if source is not None:
        query = query.where(UnmatchableRow.source == source)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(UnmatchableRow.last_seen.desc(), UnmatchableRow.id)
        .limit(limit)
        .offset(offset)
    )
    return [
        {
            "id": row.id,
            "source": row.source,
            "feed_id": row.feed_id,
            "object_id": row.object_id,
            "kind": row.kind,
            "text": row.text,
            "reason": row.reason,
            "first_seen": row.first_seen.isoformat(),
            "last_seen": row.last_seen.isoformat(),
        }
        for row in rows
    ], int(total)
