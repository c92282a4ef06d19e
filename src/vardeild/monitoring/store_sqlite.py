"""SQLite's fast path for the pipeline's largest write: events through the driver's executemany.

SQLAlchemy's executemany runs a bind processor per value and builds a parameter dict per row
(`construct_params`): on the Shadowserver bench that was a fifth of the whole ingest. Here the
values go to sqlite3 once converted, as SQLAlchemy would store them: a UTC timestamp as the
text `YYYY-MM-DD HH:MM:SS.ffffff` (UTCDateTime on SQLite's DATETIME), so that the ORM reads
them back unchanged. The statement runs on the session's own connection, inside the batch's
transaction.
"""

from __future__ import annotations

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
    times: dict[datetime | None, str | None] = {None: None}  # rows of a batch share times
    values = []
    for row in rows:
        value = list(_VALUES(row))
        at = value[_SOURCE]
        text = times.get(at)
        if text is None and at is not None:
            text = times[at] = stored_time(at)
        value[_SOURCE] = text
        at = value[_OBSERVED]
        text = times.get(at)
        if text is None:
            text = times[at] = stored_time(at)
        value[_OBSERVED] = text
        values.append(value)
    connection = session.connection().connection.driver_connection
    assert connection is not None
    cursor = connection.cursor()
    try:
        cursor.executemany(_INSERT_EVENTS, values)
        return int(cursor.rowcount)
    finally:
        cursor.close()
