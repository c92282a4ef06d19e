"""Where the pipeline's indicator matcher comes from: the revision counters that tell a held
matcher it is stale, building one from the store, refreshing a held one by an overlay of what
changed, and recording what the sensors saw.

Every change to the indicators (intel.service, intel.import_service) steps the revision in its
own transaction, so a process holding a matcher sees that it is stale as soon as the change is
committed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, case, func, insert, or_, select, update
from sqlalchemy.orm import Session

from vardeild.core.clock import as_utc
from vardeild.intel.matcher import UNMATCHED_TYPES, IndicatorMatcher
from vardeild.intel.model import IndicatorType
from vardeild.intel.tables import IndicatorRevisionRow, indicator_table

_TYPES = {kind.value: kind for kind in IndicatorType}


def indicator_revision(session: Session) -> int:
    """Return the indicator revision counter: a matcher built at another revision is stale."""
    return int(
        session.scalar(select(IndicatorRevisionRow.revision).where(IndicatorRevisionRow.id == 1))
        or 0
    )


def bump_indicator_revision(session: Session) -> None:
    """Count one more change to the indicators, in the session's transaction."""
    session.execute(
        update(IndicatorRevisionRow)
        .where(IndicatorRevisionRow.id == 1)
        .values(revision=IndicatorRevisionRow.revision + 1)
    )


_DELETIONS_ROW = 2  # a second counter in indicator_revision: deletions, which no row can show
# How far before a base was read the changes an incremental update takes start: a loading
# transaction stamps its rows when it starts and may commit after the base was read, so the
# overlay re-reads that margin (rows in it and in the base are withdrawn from the base and
# answered by the overlay: the same ids). Longer than any load takes.
INCREMENTAL_MARGIN = timedelta(minutes=30)
# Above this many changed rows (or a tenth of the base) a full rebuild is as cheap.
INCREMENTAL_MAX_CHANGES = 50_000


def indicator_deletions(session: Session) -> int:
    """Return how many times indicators were deleted (a held matcher's base is then stale)."""
    return int(
        session.scalar(
            select(IndicatorRevisionRow.revision).where(IndicatorRevisionRow.id == _DELETIONS_ROW)
        )
        or 0
    )


def count_deletion(session: Session) -> None:
    """Count one more deletion of indicators, in the session's transaction."""
    result = session.execute(
        update(IndicatorRevisionRow)
        .where(IndicatorRevisionRow.id == _DELETIONS_ROW)
        .values(revision=IndicatorRevisionRow.revision + 1)
    )
    if not getattr(result, "rowcount", 0):
        session.execute(insert(IndicatorRevisionRow).values(id=_DELETIONS_ROW, revision=1))


def refresh_matcher(
    session: Session, matcher: IndicatorMatcher, *, now: datetime
) -> IndicatorMatcher:
    """Return a matcher that is current: the same one if nothing changed; the held base with
    an overlay of the indicators changed since it was read, when only additions and changes
    (expiry by command included) happened; else a full rebuild (a deletion, an indicator
    expiring by its time, too many changes)."""
    revision = indicator_revision(session)
    expired = matcher.expires_at is not None and now >= matcher.expires_at
    if revision == matcher.revision and not expired:
        return matcher
    if expired or matcher.built_at is None or indicator_deletions(session) != matcher.deletions:
        return load_matcher(session, now=now)
    table = indicator_table()
    since = matcher.built_at - INCREMENTAL_MARGIN
    changed_since = table.c.updated_at >= since  # created rows have it too; it is indexed
    limit = max(INCREMENTAL_MAX_CHANGES, len(matcher) // 10)
    rows = (
        session.connection()
        .execute(
            select(table.c.id, table.c.type, table.c.value, table.c.valid_until)
            .where(changed_since)  # no ORDER BY: the planner would walk the unique index
            .limit(limit + 1)
        )
        .all()
    )
    if len(rows) > limit:
        return load_matcher(session, now=now)
    valid: list[tuple[int, IndicatorType, str]] = []
    expires_at = matcher.expires_at
    for row in rows:
        kind = _TYPES[row[1]]
        until = None if row[3] is None else as_utc(row[3])
        if kind in UNMATCHED_TYPES or (until is not None and until <= now):
            continue
        valid.append((row[0], kind, row[2]))
        if until is not None and (expires_at is None or until < expires_at):
            expires_at = until
    return matcher.with_changes(
        valid, [row[0] for row in rows], revision=revision, expires_at=expires_at
    )


def load_matcher(session: Session, *, now: datetime | None = None) -> IndicatorMatcher:
    """Return a matcher of every indicator valid now (valid_until empty or later), stamped with
    the revision it was built at and the moment its first indicator expires."""
    moment = now or datetime.now(UTC)
    # The revision first: a change committed while the rows are read makes the matcher look
    # older than it is, so it is rebuilt once more, never kept stale.
    revision = indicator_revision(session)
    table = indicator_table()
    valid = or_(table.c.valid_until.is_(None), table.c.valid_until > moment)
    matchable = table.c.type.not_in([kind.value for kind in UNMATCHED_TYPES])
    expires_at = session.scalar(
        select(func.min(table.c.valid_until)).where(table.c.valid_until > moment, matchable)
    )
    # Core rows, not ORM ones, and ordered by type, which the unique index serves: a million
    # rows are read in about a second this way.
    rows = session.connection().execute(
        select(table.c.id, table.c.type, table.c.value)
        .where(valid, matchable)
        .order_by(table.c.type)
        .execution_options(yield_per=50_000)
    )
    types = _TYPES
    deletions = indicator_deletions(session)
    matcher = IndicatorMatcher.build(
        ((row[0], types[row[1]], row[2]) for row in rows),
        revision=revision,
        expires_at=None if expires_at is None else as_utc(expires_at),
    )
    matcher.built_at = moment
    matcher.deletions = deletions
    return matcher


def matcher_is_current(session: Session, matcher: IndicatorMatcher, *, now: datetime) -> bool:
    """Return False when the matcher must be rebuilt: the indicators changed since it was built,
    or one of its indicators has expired."""
    if matcher.expires_at is not None and now >= matcher.expires_at:
        return False
    return matcher.revision == indicator_revision(session)


def record_sightings(session: Session, sightings: Mapping[int, tuple[int, datetime]]) -> None:
    """Add each indicator's count of matching events to its sighting count and move its last
    sighting to the given time if later; one UPDATE per indicator, ids no longer stored are
    ignored. Not audited and no revision step: sightings change no indicator."""
    if not sightings:
        return
    table = indicator_table()
    at = bindparam("b_at", type_=table.c.last_sighted_at.type)
    statement = (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(
            sighting_count=table.c.sighting_count + bindparam("b_count"),
            last_sighted_at=case(
                (
                    or_(table.c.last_sighted_at.is_(None), table.c.last_sighted_at < at),
                    at,
                ),
                else_=table.c.last_sighted_at,
            ),
        )
    )
    parameters = []
    for indicator_id, (count, last) in sorted(sightings.items()):
        if count < 1:
            raise ValueError(f"indicator {indicator_id}: a sighting count must be positive")
        parameters.append({"b_id": indicator_id, "b_count": count, "b_at": last})
    session.connection().execute(statement, parameters)
