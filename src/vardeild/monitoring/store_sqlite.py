"""SQLite's fast paths for the pipeline's largest writes: events and new alerts, and the lookup
of the batch's fingerprints and alerts before them.

SQLAlchemy's executemany runs a bind processor per value and builds a parameter dict per row
(`construct_params`): on the Shadowserver bench that was a fifth of the whole ingest. Here the
values go to sqlite3 once converted, as SQLAlchemy would store them: a UTC timestamp as the
text `YYYY-MM-DD HH:MM:SS.ffffff` (UTCDateTime on SQLite's DATETIME), so that the ORM reads
them back unchanged. The statement runs on the session's own connection, inside the batch's
transaction.

Rows go in as multi-row VALUES (`_in_blocks`: 512 rows per statement, the rest in blocks of
256, 128, ... 1, so that a few statement texts cover every batch and stay in the driver's
statement cache), not executemany: the driver releases the GIL around each sqlite3_step, and
under executemany every row's step ended by waiting for the reading thread to give the GIL
back, so SQLite's work could not overlap the next batch's parsing. One step per 512 rows lets
it (EVE bench: writer and reader overlap, 4.1-4.5 s -> 3.7 s wall for 1 M lines).

Where the C extension of sqlite_rows.py can take them, the events skip the cursor: one
prepared one-row statement stepped per row in C, every value bound in place with the GIL
released (binding 21 values a row through the cursor held the GIL for most of the writer's
Python time).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from itertools import chain
from typing import Any

from sqlalchemy.orm import Session

from vardeild.core.clock import utc_text
from vardeild.monitoring.alerts import ALERT_INDICATORS, ALERT_SAMPLES, AlertDraft, AlertStatus
from vardeild.monitoring.model import EVENT_COLUMNS
from vardeild.monitoring.sqlite_rows import rows_inserter
from vardeild.monitoring.store_pg import (
    ALERT_COLUMNS,
    ids_text,
    indicators_text,
    new_alert_values,
)

_BLOCK = 512  # rows per statement: 21 columns of events make 10,752 of SQLite's 32,766 values


def _in_blocks(values: Sequence[Sequence[Any]]) -> Iterator[tuple[int, list[Any]]]:
    """Yield (rows, their values in one flat list) for blocks of _BLOCK rows, then of the
    powers of two below it that make up the rest."""
    start, size = 0, _BLOCK
    while start < len(values):
        while size > len(values) - start:
            size //= 2
        yield size, list(chain.from_iterable(values[start : start + size]))
        start += size


def _rows(width: int, count: int) -> str:
    """`VALUES (?, ...), ...`: count rows of width values."""
    return "VALUES " + ", ".join(["(" + ", ".join("?" * width) + ")"] * count)


@cache
def _insert_events(count: int) -> str:
    return (
        f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) "
        f"{_rows(len(EVENT_COLUMNS), count)} ON CONFLICT (fingerprint) DO NOTHING"
    )


_OPEN = AlertStatus.OPEN.value
_CLOSED = AlertStatus.CLOSED.value
_EXISTING = "SELECT fingerprint FROM events WHERE fingerprint IN (SELECT value FROM json_each(?))"
_TEXT_OR_NONE = (str, type(None))
_SOURCE = EVENT_COLUMNS.index("time_source")
_OBSERVED = EVENT_COLUMNS.index("time_observation")


def stored_time(value: datetime | None) -> str | None:
    """Return the text SQLAlchemy stores for a UTCDateTime on SQLite; ValueError if naive."""
    return None if value is None else utc_text(value)


def insert_events(session: Session, rows: Sequence[Sequence[Any]]) -> int:
    """Insert events (their values in EVENT_COLUMNS order) whose fingerprint is new; return
    how many were inserted. Times given as text are taken as stored_time's (the Shadowserver
    lane writes them so)."""
    observed: dict[datetime, str | None] = {}  # a batch's rows share their time of receipt
    values = []
    utc = UTC
    for row in rows:
        if type(row[_OBSERVED]) is str and type(row[_SOURCE]) in _TEXT_OR_NONE:
            values.append(row)
            continue
        value = list(row)  # the caller's row stays as it was, for another try
        at = value[_SOURCE]
        if at is not None:
            # The UTC offset is the last 6 characters; fast path of stored_time.
            value[_SOURCE] = (
                at.isoformat(" ", "microseconds")[:-6] if at.tzinfo is utc else stored_time(at)
            )
        at = value[_OBSERVED]
        text = observed.get(at)
        if text is None:
            text = observed[at] = stored_time(at)
        value[_OBSERVED] = text
        values.append(value)
    connection = _driver_connection(session)
    inserter = rows_inserter(connection)
    if inserter is not None:
        return inserter(_insert_events(1), values)
    cursor = connection.cursor()
    try:
        stored = 0
        for count, block in _in_blocks(values):
            cursor.execute(_insert_events(count), block)
            stored += int(cursor.rowcount)
        return stored
    finally:
        cursor.close()


def existing_fingerprints(session: Session, fingerprints: Sequence[str]) -> set[str]:
    """Return which of the fingerprints are stored already: one statement with the batch's
    fingerprints as one JSON array (an IN list of bound values cost SQLAlchemy more than
    SQLite)."""
    cursor = _cursor(session)
    try:
        cursor.execute(_EXISTING, (json.dumps(list(fingerprints)),))
        return {fingerprint for (fingerprint,) in cursor.fetchall()}
    finally:
        cursor.close()


def _driver_connection(session: Session) -> Any:
    connection = session.connection().connection.driver_connection
    assert connection is not None
    return connection


def _cursor(session: Session) -> Any:
    return _driver_connection(session).cursor()


# --- alerts ---------------------------------------------------------------------------------
# On the EVE bench nearly every stored event opens an alert, and SQLAlchemy's executemany (a
# bind processor per value: JSON, UTCDateTime) followed by a SELECT for the new ids cost more
# than the events' own insert. SQLite has one writer at a time (the batch holds the write lock
# since BEGIN IMMEDIATE), so the ids after the largest stored one are free until the commit.
# Stored alerts are merged by one UPDATE per block that does the merge itself (MERGE_SET), so
# that their times and id lists are neither read nor parsed here.


@cache
def _insert_alerts(count: int) -> str:
    return f"INSERT INTO alerts (id, {', '.join(ALERT_COLUMNS)}) " + _rows(
        len(ALERT_COLUMNS) + 1, count
    )


_FOUND_ALERTS = (
    "SELECT alert_key, id, status FROM alerts WHERE alert_key IN (SELECT value FROM json_each(?))"
)

# alerts.merge_into in SQL, for the values (id, count, first_seen, last_seen, severity,
# sample_event_ids, matched_indicator_ids, updated_at) of a draft as columns 1..8 of `c`.
# SQLite's aggregate follows its subquery's order (ORDER BY in the aggregate itself needs
# 3.44); tests hold the result to merge_into's.
_MERGE_SET = f"""
    count = alerts.count + c.column2,
    first_seen = min(alerts.first_seen, c.column3),
    last_seen = max(alerts.last_seen, c.column4),
    severity = max(alerts.severity, c.column5),
    status = CASE alerts.status WHEN '{_CLOSED}' THEN '{_OPEN}' ELSE alerts.status END,
    sample_event_ids = CASE
        WHEN json_array_length(alerts.sample_event_ids) >= {ALERT_SAMPLES}
        THEN alerts.sample_event_ids
        ELSE (SELECT json_group_array(value) FROM (
            SELECT value FROM (
                SELECT 0 AS part, key, value FROM json_each(alerts.sample_event_ids)
                UNION ALL SELECT 1, key, value FROM json_each(c.column6))
            ORDER BY part, key LIMIT {ALERT_SAMPLES}))
        END,
    matched_indicator_ids = CASE
        WHEN c.column7 = '[]' THEN alerts.matched_indicator_ids
        ELSE (SELECT json_group_array(value) FROM (
            SELECT value FROM json_each(alerts.matched_indicator_ids)
            UNION SELECT value FROM json_each(c.column7)
            ORDER BY value LIMIT {ALERT_INDICATORS}))
        END,
    updated_at = c.column8"""  # noqa: S608 (constant column names and numbers)


@cache
def _merge_alerts(count: int) -> str:
    return (
        f"UPDATE alerts SET {_MERGE_SET} FROM ({_rows(8, count)}) AS c"  # noqa: S608
        " WHERE alerts.id = c.column1"
    )


def _time(value: datetime) -> str | None:
    """stored_time, with the common case (already UTC) inline: the offset is the last 6
    characters of the ISO text."""
    if value.tzinfo is UTC:
        return value.isoformat(" ", "microseconds")[:-6]
    return stored_time(value)


def _seen_texts(draft: AlertDraft) -> tuple[str | None, str | None]:
    """A draft's first and last seen as SQLite's text; a draft of one event has both in one
    object, converted once (converting times was most of the alerts' loops)."""
    first_seen, last_seen = draft.first_seen, draft.last_seen
    first_text = _time(first_seen)
    return first_text, first_text if last_seen is first_seen else _time(last_seen)


def found_alerts(session: Session, keys: Sequence[str]) -> dict[str, tuple[int, str]]:
    """Return key -> (id, status) of the keys' stored alerts."""
    cursor = _cursor(session)
    try:
        cursor.execute(_FOUND_ALERTS, (json.dumps(list(keys)),))
        return {key: (alert_id, status) for key, alert_id, status in cursor.fetchall()}
    finally:
        cursor.close()


def insert_new_alerts(session: Session, drafts: Sequence[AlertDraft], *, now: datetime) -> None:
    """Store the drafts as new alerts (their keys not stored, the caller looked), with the ids
    after the largest stored one, and set each draft's alert_id. The values are made straight
    from the drafts (store_pg.new_alert_values), times as SQLite's text."""
    cursor = _cursor(session)
    try:
        cursor.execute("SELECT coalesce(max(id), 0) FROM alerts")
        first = int(cursor.fetchone()[0]) + 1
        at = stored_time(now)
        values = []
        # Converting times was most of this loop: the drafts of a batch share few windows.
        windows: dict[datetime, str | None] = {}
        for alert_id, draft in enumerate(drafts, start=first):
            draft.alert_id = alert_id
            window = draft.window_start
            window_text = windows.get(window)
            if window_text is None:
                window_text = windows[window] = _time(window)
            first_text, last_text = _seen_texts(draft)
            values.append(
                new_alert_values(
                    draft, alert_id, window=window_text, first=first_text, last=last_text, now=at
                )
            )
        for count, block in _in_blocks(values):
            cursor.execute(_insert_alerts(count), block)
    finally:
        cursor.close()


def merge_alerts(
    session: Session, drafts: Sequence[AlertDraft], found: Mapping[str, tuple[int, str]], *,
    now: datetime,
) -> None:  # fmt: skip
    """Fold the drafts whose key is stored (found: key -> (id, status)) into their alerts, as
    alerts.merge_into would, and set each draft's alert_id."""
    at = stored_time(now)
    values = []
    for draft in drafts:
        alert_id = draft.alert_id = found[draft.key][0]
        first_text, last_text = _seen_texts(draft)
        values.append(
            (
                alert_id,
                draft.count,
                first_text,
                last_text,
                draft.severity,
                ids_text(draft.samples),
                indicators_text(draft.indicators),
                at,
            )
        )
    cursor = _cursor(session)
    try:
        for count, block in _in_blocks(values):
            cursor.execute(_merge_alerts(count), block)
    finally:
        cursor.close()
