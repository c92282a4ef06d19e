"""The pipeline's writes, as Core statements run in the batch's one transaction: events, alert
upserts, quarantine rows, counters, checkpoints and batch keys.

Nothing here runs once per event: every statement takes the whole batch (executemany, `IN`
lists, multi-row VALUES), because per-event SQL caps a pipeline at a few thousand events a
second (../shared/LIMITS.md). Where PostgreSQL and SQLite differ (ON CONFLICT, sequences,
row locks) the dialect is asked once per call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import CursorResult, Table, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from vardeild.monitoring import store_pg, store_sqlite
from vardeild.monitoring.alert_actions import record_reopened
from vardeild.monitoring.alerts import AlertDraft, AlertStatus
from vardeild.monitoring.ingest import Checkpoint
from vardeild.monitoring.model import EVENT_COLUMNS
from vardeild.monitoring.tables import (
    AlertRow,
    EventRow,
    IngestBatchRow,
    IngestCheckpointRow,
    IngestCounterRow,
    QuarantineRow,
    SuppressionRuleRow,
)

EVENTS: Table = EventRow.__table__  # type: ignore[assignment]
ALERTS: Table = AlertRow.__table__  # type: ignore[assignment]
QUARANTINE: Table = QuarantineRow.__table__  # type: ignore[assignment]
CHECKPOINTS: Table = IngestCheckpointRow.__table__  # type: ignore[assignment]
BATCHES: Table = IngestBatchRow.__table__  # type: ignore[assignment]
COUNTERS: Table = IngestCounterRow.__table__  # type: ignore[assignment]
RULES: Table = SuppressionRuleRow.__table__  # type: ignore[assignment]

_IN_CHUNK = 5_000  # values per IN list: well under SQLite's 32,766 bound parameters


class Outcome(StrEnum):
    """What became of one record; every record has exactly one, and each is counted."""

    STORED = "stored"
    DUPLICATE = "duplicate"  # stored before (same fingerprint)
    UNATTRIBUTED = "unattributed"  # touched no member: counted, not stored
    UNMATCHED_PROTOCOL = "unmatched_protocol"  # a protocol record that matched no indicator
    SUPPRESSED = "suppressed"
    QUARANTINED = "quarantined"
    SENSOR_STATS = "sensor_stats"


class ConcurrentWrite(Exception):
    """Another transaction stored some of the same events or alerts first; the batch is rolled
    back and run again, and then finds them stored."""


def _insert(session: Session, table: Table) -> Any:
    """Return the dialect's INSERT (which knows ON CONFLICT) for table."""
    if _dialect(session) == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _rowcount(result: Any) -> int:
    return cast(CursorResult[Any], result).rowcount


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def stores_times_as_text(session: Session) -> bool:
    """Whether the database keeps times as text (SQLite, see store_sqlite.stored_time); a
    row given with its times so is stored as it is."""
    return _dialect(session) != "postgresql"


def claim_batch_key(session: Session, *, source: str, batch_key: str, at: datetime) -> bool:
    """Record the batch key; return False if it was committed before (skip the batch)."""
    stmt = (
        _insert(session, BATCHES)
        .values(source=source, batch_key=batch_key, committed_at=at)
        .on_conflict_do_nothing(index_elements=["source", "batch_key"])
    )
    return session.execute(stmt.returning(BATCHES.c.id)).first() is not None


def save_checkpoint(session: Session, checkpoint: Checkpoint, *, at: datetime) -> None:
    """Move the source's checkpoint, in the batch's transaction."""
    values = {"identity": checkpoint.identity, "position": checkpoint.position, "updated_at": at}
    stmt = _insert(session, CHECKPOINTS).values(source=checkpoint.source, **values)
    session.execute(stmt.on_conflict_do_update(index_elements=["source"], set_=values))


def get_checkpoint(session: Session, source: str) -> Checkpoint | None:
    """Return where the reader of source stands, or None if it never committed."""
    row = session.execute(
        select(CHECKPOINTS.c.identity, CHECKPOINTS.c.position).where(CHECKPOINTS.c.source == source)
    ).first()
    return None if row is None else Checkpoint(source, row.identity, int(row.position))


def existing_fingerprints(session: Session, fingerprints: Sequence[str]) -> set[str]:
    """Return which of the fingerprints are stored already."""
    if _dialect(session) == "postgresql":
        return store_pg.existing_fingerprints(session, fingerprints)
    return store_sqlite.existing_fingerprints(session, fingerprints)


def allocate_event_ids(session: Session, count: int) -> list[int]:
    """Return count fresh event ids, so that events and their alerts can name each other in
    one pass. SQLite has one writer at a time (the batch holds the write lock), so the ids
    after the largest are free; PostgreSQL draws them from the column's sequence."""
    if count == 0:
        return []
    if _dialect(session) == "postgresql":
        return store_pg.event_ids(session, count)
    first = int(session.scalar(select(func.coalesce(func.max(EVENTS.c.id), 0))) or 0) + 1
    return list(range(first, first + count))


EVENT_VALUES = itemgetter(*EVENT_COLUMNS)  # a row dict's values in the columns' order


def insert_events(session: Session, rows: Sequence[Sequence[Any]]) -> None:
    """Insert the batch's new events (their values in EVENT_COLUMNS order: EVENT_VALUES of a
    row dict) with ON CONFLICT DO NOTHING on the fingerprint; raise
    ConcurrentWrite if another transaction stored any of them since `existing_fingerprints`
    looked (the count inserted tells). PostgreSQL takes them through COPY (store_pg), SQLite
    through the driver's executemany (store_sqlite)."""
    if not rows:
        return
    if _dialect(session) == "postgresql":
        stored = store_pg.insert_events(session, rows)
    else:
        stored = store_sqlite.insert_events(session, rows)
    if stored != len(rows):
        raise ConcurrentWrite(f"{len(rows) - stored} events were stored meanwhile")


def upsert_alerts(session: Session, drafts: Iterable[AlertDraft], *, now: datetime) -> None:
    """Fold the drafts into stored alerts (created where new) and set each draft's alert_id.
    Only the stored alerts' ids and statuses are read; the merge itself (alerts.merge_into)
    runs in the database. On PostgreSQL the stored ones are locked in key order, so that
    concurrent workers cannot deadlock on them; a key another worker creates meanwhile is
    merged into, not duplicated. A closed alert that events reopen is kept in its history."""
    by_key = {draft.key: draft for draft in drafts}
    if not by_key:
        return
    keys = sorted(by_key)
    ordered = [by_key[key] for key in keys]
    if _dialect(session) == "postgresql":
        found = store_pg.found_alerts(session, keys)
        store_pg.merge_alerts(session, ordered, found, now=now)
    else:
        # One writer at a time on SQLite: nobody can create these keys before the commit.
        found = store_sqlite.found_alerts(session, keys)
        new = [draft for draft in ordered if draft.key not in found]
        if new:
            store_sqlite.insert_new_alerts(session, new, now=now)
        if len(new) < len(ordered):
            stored = [draft for draft in ordered if draft.key in found]
            store_sqlite.merge_alerts(session, stored, found, now=now)
    reopened = [
        (alert_id, by_key[key].member_id, by_key[key].count)
        for key, (alert_id, status) in sorted(found.items())
        if status == _CLOSED
    ]
    if reopened:
        record_reopened(session, reopened, at=now)


_CLOSED = AlertStatus.CLOSED.value


def insert_quarantine(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Hold the batch's bad records."""
    if rows:
        session.execute(QUARANTINE.insert(), list(rows))


def add_counters(
    session: Session, counts: Mapping[tuple[str, str], int], *, hour: datetime, feed: str
) -> None:
    """Add the batch's (sensor, outcome) counts to the hour's counters."""
    if not counts:
        return
    rows = [
        {"hour": hour, "feed": feed, "sensor": sensor, "outcome": outcome, "count": count}
        for (sensor, outcome), count in sorted(counts.items())
    ]
    stmt = _insert(session, COUNTERS)
    stmt = stmt.on_conflict_do_update(
        index_elements=["hour", "feed", "sensor", "outcome"],
        set_={"count": COUNTERS.c.count + stmt.excluded.count},
    )
    session.execute(stmt, rows)


def add_rule_hits(session: Session, hits: Mapping[int, int], *, at: datetime) -> None:
    """Count suppressed events against the rules that suppressed them."""
    if not hits:
        return
    session.execute(
        update(RULES)
        .where(RULES.c.id == bindparam("_id"))
        .values(hit_count=RULES.c.hit_count + bindparam("_n"), last_hit_at=at),
        [{"_id": rule, "_n": n} for rule, n in sorted(hits.items())],
        execution_options={"synchronize_session": False},
    )


def counter_totals(
    session: Session, *, since: datetime | None = None, feed: str | None = None
) -> list[dict[str, Any]]:
    """Return the counters summed per feed, sensor and outcome."""
    query = select(
        COUNTERS.c.feed, COUNTERS.c.sensor, COUNTERS.c.outcome, func.sum(COUNTERS.c.count)
    ).group_by(COUNTERS.c.feed, COUNTERS.c.sensor, COUNTERS.c.outcome)
    if since is not None:
        query = query.where(COUNTERS.c.hour >= since)
    if feed is not None:
        query = query.where(COUNTERS.c.feed == feed)
    return [
        {"feed": f, "sensor": s, "outcome": o, "count": int(n)}
        for f, s, o, n in session.execute(query.order_by(COUNTERS.c.feed, COUNTERS.c.sensor))
    ]
