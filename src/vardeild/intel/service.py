"""The indicator store's use cases: loading, listing, expiring and deleting indicators (the
matcher the pipeline holds is built and refreshed in `intel.matcher_source`).

Every function takes the session (the unit of work, committed by the caller). Changes check
permission with the one access check, and each change — a whole load, an expiry, a deletion —
is one audit entry and one step of the indicator revision, in the same transaction, so a
process holding a matcher sees that it is stale as soon as the change is committed.

Members cannot read indicators yet: sharing them by TLP comes with the information-sharing
issue, so listing needs a CERT role (`Action.LIST_ALL`), loading `Action.IMPORT`, expiring and
deleting `Action.EDIT`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import (
    Text,
    bindparam,
    cast,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from vardeild.access.model import Action, Principal, authorize
from vardeild.audit.service import record_change
from vardeild.core.clock import Clock, as_utc
from vardeild.core.errors import FieldProblem, NotFound, ValidationFailed
from vardeild.core.tlp import Tlp
from vardeild.intel.loaders import (
    DEFAULT_MAX_BYTES,
    LoadDefaults,
    LoadFormat,
    read_indicators,
)
from vardeild.intel.matcher_source import (
    bump_indicator_revision,
    count_deletion,
    indicator_revision,
)
from vardeild.intel.model import (
    DEFAULT_CONFIDENCE,
    DEFAULT_SOURCE,
    DEFAULT_TLP,
    Indicator,
    IndicatorFilter,
    IndicatorRecord,
    IndicatorStats,
    IndicatorType,
    LoadResult,
    clean_source,
)
from vardeild.intel.tables import IndicatorRow, indicator_table

LoadProgress = Callable[[str, int, int], None]
"""Told (phase, done, total) during a load: "reading" counts lines (CSV: rows), "comparing"
and "writing" indicators."""

_CHUNK = 1000  # values per IN (...) and rows per write: well inside every database's limits
_TYPES = {kind.value: kind for kind in IndicatorType}
_Key = tuple[IndicatorType, str]
# id, tlp, confidence, valid until, tags, description, STIX id, feed id
_Stored = tuple[int, str, int, datetime | None, list[str], str, str | None, int | None]


def load_indicators(
    session: Session,
    principal: Principal,
    data: bytes,
    *,
    clock: Clock,
    indicator_type: IndicatorType | None = None,
    fmt: LoadFormat | Literal["list", "csv"] = LoadFormat.LIST,
    source: str = DEFAULT_SOURCE,
    tlp: Tlp = DEFAULT_TLP,
    confidence: int = DEFAULT_CONFIDENCE,
    valid_until: datetime | None = None,
    skip_invalid: bool = False,
    dry_run: bool = False,
    origin: str = "",
    max_bytes: int = DEFAULT_MAX_BYTES,
    progress: LoadProgress | None = None,
) -> LoadResult:
    """Load a plain list or CSV of indicators from `source`: an idempotent upsert on (type,
    value, source), one audit entry and one revision step for the whole load.

    Raises ValidationFailed naming the line (and column) of every bad row, with nothing
    applied — unless skip_invalid, which loads the good rows and returns the problems in the
    result. PermissionDenied unless the principal may import.
    """
    authorize(principal, Action.IMPORT)
    fmt = LoadFormat(fmt)
    problems = []
    try:
        source = clean_source(source)
    except ValueError as exc:
        problems.append(FieldProblem("options", "source", str(exc)))
    if not 0 <= confidence <= 100:
        problems.append(FieldProblem("options", "confidence", "must be from 0 to 100"))
    if valid_until is not None and valid_until.tzinfo is None:
        problems.append(FieldProblem("options", "valid_until", "must carry a time zone"))
    if problems:
        raise ValidationFailed(problems)
    defaults = LoadDefaults(
        type=indicator_type, tlp=tlp, confidence=confidence, valid_until=valid_until
    )
    parsed = read_indicators(
        data,
        fmt=fmt,
        defaults=defaults,
        max_bytes=max_bytes,
        progress=(lambda done, total: progress("reading", done, total)) if progress else None,
    )
    problems = parsed.problems
    if problems and (not skip_invalid or parsed.limit_exceeded is not None):
        raise ValidationFailed(problems)
    return store_records(
        session,
        principal,
        parsed.records,
        clock=clock,
        source=source,
        fmt=fmt.value,
        problems=problems,
        skipped=parsed.invalid_lines,
        dry_run=dry_run,
        origin=origin,
        progress=progress,
    )


def store_records(
    session: Session,
    principal: Principal,
    records: Sequence[IndicatorRecord],
    *,
    clock: Clock,
    source: str,
    fmt: str,
    problems: Sequence[FieldProblem] = (),
    skipped: int = 0,
    feed_id: int | None = None,
    dry_run: bool = False,
    origin: str = "",
    extra: Mapping[str, Any] | None = None,
    progress: LoadProgress | None = None,
) -> LoadResult:
    """Upsert checked records into `source` on (type, value, source): one audit entry
    (`indicator.load`, with extra counts) and one revision step if anything changed. Records
    repeating a (type, value) count once, the later one winning. PermissionDenied unless the
    principal may import."""
    authorize(principal, Action.IMPORT)
    unique: dict[_Key, IndicatorRecord] = {}
    for record in records:
        unique.pop((record.type, record.value), None)  # the later row wins, in its place
        unique[(record.type, record.value)] = record
    if progress:
        progress("comparing", 0, len(unique))
    existing, source_count = _stored(session, source, unique)
    if progress:
        progress("comparing", len(unique), len(unique))
    now = clock.now()
    creates: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    unchanged: list[int] = []
    for (kind, value), record in unique.items():
        fields = {
            "tlp": record.tlp.value,
            "confidence": record.confidence,
            "valid_until": record.valid_until,
            "tags": list(record.tags),
            "description": record.description,
            "stix_id": record.stix_id,
            "feed_id": feed_id,
        }
        stored = existing.get((kind, value))
        if stored is None:
            first = now if record.first_seen is None else min(now, as_utc(record.first_seen))
            creates.append(
                {
                    "type": kind.value,
                    "value": value,
                    "source": source,
                    **fields,
                    "first_seen": first,
                    "last_seen": now,
                    "sighting_count": 0,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        elif (
            stored[1],
            stored[2],
            as_utc(stored[3]) if stored[3] else None,
            list(stored[4]),
            stored[5],
            stored[6],
            stored[7],
        ) != tuple(fields.values()):
            updates.append({"id": stored[0], **fields, "last_seen": now, "updated_at": now})
        else:
            unchanged.append(stored[0])
    by_type: dict[str, int] = {}
    for kind, _ in unique:
        by_type[kind.value] = by_type.get(kind.value, 0) + 1
    if not dry_run:
        # A feed reloaded whole re-asserts every indicator of its source: one statement moves
        # their last_seen rather than one per thousand.
        whole = len(unchanged) + len(updates) == source_count
        touch: Sequence[int] | str = source if whole else unchanged
        _write(session, creates, updates, touch, now, progress)
        if creates or updates:
            bump_indicator_revision(session)
    result = LoadResult(
        source=source,
        format=fmt,
        dry_run=dry_run,
        records=len(records),
        created=len(creates),
        updated=len(updates),
        unchanged=len(unchanged),
        duplicates=len(records) - len(unique),
        skipped=skipped,
        problems=tuple(problems),
        by_type=dict(sorted(by_type.items())),
        revision=indicator_revision(session),
    )
    if not dry_run:
        summary = result.to_dict()
        del summary["problems"], summary["dry_run"], summary["revision"]
        summary.update(extra or {})
        if problems:
            summary["problems"] = [str(problem) for problem in list(problems)[:100]]
        record_change(
            session,
            clock=clock,
            actor=principal.actor,
            action="indicator.load",
            entity_type="indicator_source",
            entity_id=source,
            organisation_id=None,
            before=None,
            after=summary,
            note=origin,
        )
    return result


def _stored(
    session: Session, source: str, keys: Collection[_Key]
) -> tuple[dict[_Key, _Stored], int]:
    """Return what is stored for the source under the keys, and how many indicators the source
    has: the whole source in one query when the file is about its size (a feed reloaded), else
    by chunks of values."""
    if not keys:
        return {}, 0
    table = indicator_table()
    # Core rows, and the tags as their JSON text, decoded only when not empty: a feed of a
    # million rows is read back in seconds, not in the tens of them the ORM and JSON take.
    columns = (
        table.c.id,
        table.c.type,
        table.c.value,
        table.c.tlp,
        table.c.confidence,
        table.c.valid_until,
        cast(table.c.tags, Text),
        table.c.description,
        table.c.stix_id,
        table.c.feed_id,
    )
    count = session.scalar(select(func.count()).where(table.c.source == source)) or 0
    if count == 0:
        return {}, 0
    found: dict[_Key, _Stored] = {}
    if count <= 4 * len(keys):
        queries = [select(*columns).where(table.c.source == source)]
    else:
        by_type: dict[IndicatorType, list[str]] = {}
        for kind, value in keys:
            by_type.setdefault(kind, []).append(value)
        queries = [
            select(*columns).where(
                table.c.source == source,
                table.c.type == kind.value,
                table.c.value.in_(values[i : i + _CHUNK]),
            )
            for kind, values in by_type.items()
            for i in range(0, len(values), _CHUNK)
        ]
    connection = session.connection()
    for query in queries:
        for row in connection.execute(query):
            tags = [] if row[6] in ("[]", None) else json.loads(row[6])
            found[(_TYPES[row[1]], row[2])] = (
                row[0],
                row[3],
                row[4],
                row[5],
                tags,
                row[7],
                row[8],
                row[9],
            )
    return found, count


def _write(
    session: Session,
    creates: Sequence[dict[str, Any]],
    updates: Sequence[dict[str, Any]],
    touch: Sequence[int] | str,
    now: datetime,
    progress: LoadProgress | None,
) -> None:
    """Insert, update and touch (move last_seen of) rows in chunks, telling progress as it
    goes; touch is ids, or a source name for all its rows."""
    table = indicator_table()
    total = len(creates) + len(updates) + (0 if isinstance(touch, str) else len(touch))
    done = 0
    connection = session.connection()
    for i in range(0, len(creates), 10 * _CHUNK):
        chunk = creates[i : i + 10 * _CHUNK]
        connection.execute(insert(table), chunk)
        done += len(chunk)
        if progress:
            progress("writing", done, total)
    statement = (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(
            {
                name: bindparam(f"b_{name}")
                for name in (
                    "tlp",
                    "confidence",
                    "valid_until",
                    "tags",
                    "description",
                    "stix_id",
                    "feed_id",
                    "last_seen",
                    "updated_at",
                )
            }
        )
    )
    for i in range(0, len(updates), _CHUNK):
        chunk = updates[i : i + _CHUNK]
        connection.execute(
            statement,
            [
                {("b_id" if key == "id" else f"b_{key}"): value for key, value in row.items()}
                for row in chunk
            ],
        )
        done += len(chunk)
        if progress:
            progress("writing", done, total)
    if isinstance(touch, str):
        connection.execute(update(table).where(table.c.source == touch).values(last_seen=now))
        return
    for ids in _chunks(touch):
        connection.execute(update(table).where(table.c.id.in_(ids)).values(last_seen=now))
        done += len(ids)
        if progress:
            progress("writing", done, total)


def list_indicators(
    session: Session,
    principal: Principal,
    filters: IndicatorFilter | None = None,
    *,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Indicator], int]:
    """Return a page of indicators ordered by type, value and source, and how many match in
    all. Raises PermissionDenied for members: indicators are not shared with them yet."""
    authorize(principal, Action.LIST_ALL)
    filters = filters or IndicatorFilter()
    query = select(IndicatorRow)
    if filters.type is not None:
        query = query.where(IndicatorRow.type == filters.type.value)
    if filters.source is not None:
        query = query.where(IndicatorRow.source == filters.source)
    if filters.text:
        query = query.where(IndicatorRow.value.icontains(filters.text.strip(), autoescape=True))
    if filters.tlp is not None:
        query = query.where(IndicatorRow.tlp == filters.tlp.value)
    if filters.feed_id is not None:
        query = query.where(IndicatorRow.feed_id == filters.feed_id)
    if filters.valid_at is not None:
        query = query.where(
            or_(IndicatorRow.valid_until.is_(None), IndicatorRow.valid_until > filters.valid_at)
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(IndicatorRow.type, IndicatorRow.value, IndicatorRow.source, IndicatorRow.id)
        .limit(limit)
        .offset(offset)
    )
    return [_indicator(row) for row in rows], total


def get_indicator_or_raise(session: Session, principal: Principal, indicator_id: int) -> Indicator:
    """Return one indicator; raise NotFound if there is none with that id, PermissionDenied
    for members."""
    authorize(principal, Action.LIST_ALL)
    row = session.get(IndicatorRow, indicator_id)
    if row is None:
        raise NotFound(f"indicator {indicator_id} not found")
    return _indicator(row)


def indicator_stats(session: Session, principal: Principal, *, now: datetime) -> IndicatorStats:
    """Return counts over all indicators (valid meaning valid at now); PermissionDenied for
    members."""
    authorize(principal, Action.LIST_ALL)
    valid = or_(IndicatorRow.valid_until.is_(None), IndicatorRow.valid_until > now)
    total, valid_count, sighted, sightings = session.execute(
        select(
            func.count(),
            func.count().filter(valid),
            func.count().filter(IndicatorRow.sighting_count > 0),
            func.coalesce(func.sum(IndicatorRow.sighting_count), 0),
        ).select_from(IndicatorRow)
    ).one()
    by_type = session.execute(
        select(IndicatorRow.type, func.count())
        .group_by(IndicatorRow.type)
        .order_by(IndicatorRow.type)
    )
    by_source = session.execute(
        select(IndicatorRow.source, func.count())
        .group_by(IndicatorRow.source)
        .order_by(IndicatorRow.source)
    )
    return IndicatorStats(
        total=int(total),
        valid=int(valid_count),
        expired=int(total) - int(valid_count),
        by_type={kind: int(count) for kind, count in by_type},
        by_source={name: int(count) for name, count in by_source},
        sighted=int(sighted),
        sightings=int(sightings),
        revision=indicator_revision(session),
    )


def expire_indicators(
    session: Session,
    principal: Principal,
    *,
    clock: Clock,
    ids: Iterable[int] = (),
    source: str | None = None,
    note: str = "",
) -> int:
    """Make the indicators (by id, or every one of a source) stop matching now, and return how
    many that changed; ones already expired keep their time. Raises NotFound naming ids that
    do not exist or a source with no indicators; PermissionDenied unless the principal may
    edit. Loading an indicator again from its source makes it valid again."""
    authorize(principal, Action.EDIT)
    chosen = _chosen(session, ids, source)
    now = clock.now()
    active = or_(IndicatorRow.valid_until.is_(None), IndicatorRow.valid_until > now)
    changed = 0
    for chunk in _chunks(chosen):
        result = session.execute(
            update(IndicatorRow)
            .where(IndicatorRow.id.in_(chunk), active)
            .values(valid_until=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        changed += int(getattr(result, "rowcount", 0) or 0)
    if changed:
        bump_indicator_revision(session)
    _audit(session, principal, clock, "indicator.expire", chosen, source, changed, note)
    return changed


def delete_indicators(
    session: Session,
    principal: Principal,
    *,
    clock: Clock,
    ids: Iterable[int] = (),
    source: str | None = None,
    note: str = "",
) -> int:
    """Delete the indicators (by id, or every one of a source) with their sightings, and return
    how many. Raises NotFound naming ids that do not exist or a source with no indicators;
    PermissionDenied unless the principal may edit."""
    authorize(principal, Action.EDIT)
    chosen = _chosen(session, ids, source)
    for chunk in _chunks(chosen):
        session.execute(
            delete(IndicatorRow)
            .where(IndicatorRow.id.in_(chunk))
            .execution_options(synchronize_session=False)
        )
    bump_indicator_revision(session)
    count_deletion(session)
    _audit(session, principal, clock, "indicator.delete", chosen, source, len(chosen), note)
    return len(chosen)


def _chosen(session: Session, ids: Iterable[int], source: str | None) -> list[int]:
    """Return the ids named and those of the source, checked to exist; raise NotFound."""
    wanted = sorted(set(ids))
    if not wanted and source is None:
        raise ValidationFailed.one("options", "", "name indicators by id or a source")
    chosen: set[int] = set()
    for chunk in _chunks(wanted):
        chosen.update(session.scalars(select(IndicatorRow.id).where(IndicatorRow.id.in_(chunk))))
    missing = [i for i in wanted if i not in chosen]
    if missing:
        shown = ", ".join(str(i) for i in missing[:20])
        more = f" and {len(missing) - 20} more" if len(missing) > 20 else ""
        raise NotFound(f"indicator {shown}{more} not found")
    if source is not None:
        of_source = list(
            session.scalars(select(IndicatorRow.id).where(IndicatorRow.source == source))
        )
        if not of_source:
            raise NotFound(f"no indicators from source {source!r}")
        chosen.update(of_source)
    return sorted(chosen)


def _audit(
    session: Session,
    principal: Principal,
    clock: Clock,
    action: str,
    chosen: Sequence[int],
    source: str | None,
    changed: int,
    note: str,
) -> None:
    """Record one audit entry for a change to many indicators (ids listed up to 1,000)."""
    if source is not None:
        entity_type, entity_id = "indicator_source", source
    elif len(chosen) == 1:
        entity_type, entity_id = "indicator", str(chosen[0])
    else:
        entity_type, entity_id = "indicator_set", f"{len(chosen)} indicators"
    record_change(
        session,
        clock=clock,
        actor=principal.actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        organisation_id=None,
        before=None,
        after={"count": changed, "ids": list(chosen[:1000]), "source": source},
        note=note,
    )


def _chunks(values: Sequence[int]) -> Iterable[list[int]]:
    for i in range(0, len(values), _CHUNK):
        yield list(values[i : i + _CHUNK])


def _indicator(row: IndicatorRow) -> Indicator:
    return Indicator(
        id=row.id,
        type=_TYPES[row.type],
        value=row.value,
        source=row.source,
        tlp=Tlp(row.tlp),
        confidence=row.confidence,
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        valid_until=row.valid_until,
        tags=tuple(row.tags),
        description=row.description,
        sighting_count=row.sighting_count,
        last_sighted_at=row.last_sighted_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        stix_id=row.stix_id,
        feed_id=row.feed_id,
    )
