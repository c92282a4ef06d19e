"""SQLite's fast paths for the pipeline's largest write: events through the driver's
executemany, and the lookup of the batch's fingerprints before it.

SQLAlchemy's executemany runs a bind processor per value and builds a parameter dict per row
(`construct_params`): on the Shadowserver bench that was a fifth of the whole ingest. Here the
values go to sqlite3 once converted, as SQLAlchemy would store them: a UTC timestamp as the
text `YYYY-MM-DD HH:MM:SS.ffffff` (UTCDateTime on SQLite's DATETIME), so that the ORM reads
them back unchanged. The statement runs on the session's own connection, inside the batch's
transaction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy.orm import Session

from vardeild.monitoring.store_pg import EVENT_COLUMNS

_INSERT_EVENTS = (
    f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) "  # noqa: S608 (constant column names)
    f"VALUES ({', '.join('?' * len(EVENT_COLUMNS))}) ON CONFLICT (fingerprint) DO NOTHING"
)
_EXISTING = "SELECT fingerprint FROM events WHERE fingerprint IN (SELECT value FROM json_each(?))"
_VALUES = itemgetter(*EVENT_COLUMNS)
_SOURCE = EVENT_COLUMNS.index("time_source")
_OBSERVED = EVENT_COLUMNS.index("time_observation")


def stored_time(value: datetime | None) -> str | None:
    """Return the text SQLAlchemy stores for a UTCDateTime on SQLite; ValueError if naive."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        if value.tzinfo is None:
            raise ValueError("naive datetime given; Vardeild stores timezone-aware UTC only")
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def insert_events(session: Session, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert events whose fingerprint is new; return how many were inserted."""
    observed: dict[datetime, str | None] = {}  # a batch's rows share their time of receipt
    values = []
    utc = UTC
    for row in rows:
        value = list(_VALUES(row))
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
    cursor = _cursor(session)
    try:
        cursor.executemany(_INSERT_EVENTS, values)
        return int(cursor.rowcount)
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


def _cursor(session: Session) -> Any:
    connection = session.connection().connection.driver_connection
    assert connection is not None
    return connection.cursor()
