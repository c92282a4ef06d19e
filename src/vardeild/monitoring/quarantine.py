"""The quarantine: records the pipeline could not take, held with the reason, the source and
the position, until an operator replays them (after a parser fix) or discards them.

A record is held as the bytes received (a Shadowserver row with its header line, so that it
can be parsed alone), so a replay parses exactly what came in. Replaying goes through
`Pipeline.replay`: success stores the event and marks the record replayed in the same
transaction; failure keeps it held, counts the attempt and keeps the new reason. Discarding is
audited. The quarantine is the CERT's: members see none of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session

from vardeild.access.model import Action, Principal, authorize
from vardeild.audit.service import record_change
from vardeild.core.clock import Clock
from vardeild.core.errors import Conflict, NotFound, ValidationFailed
from vardeild.core.text import clean_text
from vardeild.monitoring.ingest import Feed, RawBatch, RawRecord
from vardeild.monitoring.tables import QuarantineRow

QUARANTINE: Table = QuarantineRow.__table__  # type: ignore[assignment]


class QuarantineStatus(StrEnum):
    """Where a quarantined record stands."""

    HELD = "held"
    REPLAYED = "replayed"
    DISCARDED = "discarded"


def rows_for(
    batch: RawBatch, bad: Sequence[tuple[RawRecord, str]], *, received_at: datetime
) -> list[dict[str, Any]]:
    """Return the quarantine rows for a batch's bad records."""
    return [
        {
            "source": batch.source,
            "position": record.position,
            "feed": batch.feed.value,
            "sensor": batch.sensor,
            "filename": batch.filename,
            "report_type": batch.report_type,
            "reason": storable_text(reason),
            "raw": record.data,
            "received_at": received_at,
            "status": QuarantineStatus.HELD.value,
            "replayed_at": None,
            "attempts": 0,
            "last_error": None,
        }
        for record, reason in bad
    ]


def storable_text(text: str) -> str:
    """Return text as every database stores it: a NUL (PostgreSQL refuses it) or a lone
    surrogate (not encodable) in a reason that quotes bad input is written as an escape."""
    if "\x00" in text or not text.isascii():
        text = text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
    return text


def batch_of(session: Session, quarantine_id: int) -> RawBatch:
    """Return a held record as a batch of one, for a replay; NotFound if it is not held."""
    row = session.get(QuarantineRow, quarantine_id)
    if row is None:
        raise NotFound(f"quarantined record {quarantine_id} not found")
    if row.status != QuarantineStatus.HELD.value:
        raise Conflict(f"quarantined record {quarantine_id} is {row.status}, not held")
    return RawBatch(
        source=row.source,
        feed=Feed(row.feed),
        records=[RawRecord(position=row.position, data=bytes(row.raw))],
        sensor=row.sensor,
        report_type=row.report_type,
        filename=row.filename,
    )


def settle(session: Session, quarantine_id: int, error: str | None, *, at: datetime) -> None:
    """Record a replay's outcome: replayed on success, else still held with the new error."""
    table = QUARANTINE
    values: dict[str, Any] = {"attempts": table.c.attempts + 1}
    if error is None:
        values.update(status=QuarantineStatus.REPLAYED.value, replayed_at=at, last_error=None)
    else:
        values.update(last_error=storable_text(error))
    session.execute(
        update(table)
        .where(table.c.id == quarantine_id, table.c.status == QuarantineStatus.HELD.value)
        .values(**values)
    )


# --- the use cases -----------------------------------------------------------------------------


@dataclass(frozen=True)
class QuarantineQuery:
    """Filters for listing the quarantine; None means any."""

    source: str | None = None
    feed: Feed | None = None
    status: QuarantineStatus | None = None


def quarantine_dict(row: QuarantineRow, *, with_raw: bool = False) -> dict[str, Any]:
    """Return a quarantined record as JSON-ready data (the raw bytes as text on request)."""
    data: dict[str, Any] = {
        "id": row.id,
        "source": row.source,
        "position": row.position,
        "feed": row.feed,
        "sensor": row.sensor,
        "filename": row.filename,
        "report_type": row.report_type,
        "reason": row.reason,
        "received_at": row.received_at,
        "status": row.status,
        "replayed_at": row.replayed_at,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "size": len(row.raw),
    }
    if with_raw:
        data["raw"] = bytes(row.raw).decode("utf-8", "backslashreplace")
    return data


def _filtered(query: QuarantineQuery) -> Any:
    stmt = select(QuarantineRow)
    if query.source is not None:
        stmt = stmt.where(QuarantineRow.source == query.source)
    if query.feed is not None:
        stmt = stmt.where(QuarantineRow.feed == query.feed.value)
    if query.status is not None:
        stmt = stmt.where(QuarantineRow.status == query.status.value)
    return stmt


def list_quarantined(
    session: Session,
    principal: Principal,
    *,
    query: QuarantineQuery = QuarantineQuery(),
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Return a page of quarantined records, oldest first, and how many match."""
    authorize(principal, Action.LIST_ALL)
    stmt = _filtered(query)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(QuarantineRow.id).limit(limit).offset(offset))
    return [quarantine_dict(row) for row in rows], total


def held_ids(session: Session, principal: Principal, *, source: str | None = None) -> list[int]:
    """Return the ids of every held record (of one source), oldest first."""
    authorize(principal, Action.EDIT)
    stmt = _filtered(QuarantineQuery(source=source, status=QuarantineStatus.HELD))
    return [row.id for row in session.scalars(stmt.order_by(QuarantineRow.id))]


def get_quarantined_or_raise(
    session: Session, principal: Principal, quarantine_id: int
) -> dict[str, Any]:
    """Return one quarantined record with its raw bytes; NotFound if there is none."""
    authorize(principal, Action.LIST_ALL)
    row = session.get(QuarantineRow, quarantine_id)
    if row is None:
        raise NotFound(f"quarantined record {quarantine_id} not found")
    return quarantine_dict(row, with_raw=True)


def discard(
    session: Session, principal: Principal, quarantine_id: int, *, clock: Clock, reason: str
) -> dict[str, Any]:
    """Mark a held record discarded (it is kept, for the record) and audit why; NotFound if
    absent, Conflict if it is no longer held, ValidationFailed without a reason."""
    authorize(principal, Action.EDIT)
    try:
        why = clean_text(reason, max_length=1000, multiline=True)
    except ValueError as exc:
        raise ValidationFailed.one("discard", "reason", str(exc)) from exc
    if not why:
        raise ValidationFailed.one("discard", "reason", "is required")
    row = session.get(QuarantineRow, quarantine_id)
    if row is None:
        raise NotFound(f"quarantined record {quarantine_id} not found")
    if row.status != QuarantineStatus.HELD.value:
        raise Conflict(f"quarantined record {quarantine_id} is {row.status}, not held")
    before = _audit_form(quarantine_dict(row))
    row.status = QuarantineStatus.DISCARDED.value
    session.flush()
    after = quarantine_dict(row)
    record_change(
        session,
        clock=clock,
        actor=principal.actor,
        action="quarantine.discard",
        entity_type="quarantine",
        entity_id=quarantine_id,
        organisation_id=None,
        before=before,
        after=_audit_form(after),
        note=why,
    )
    return after


def _audit_form(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in record.items()}
