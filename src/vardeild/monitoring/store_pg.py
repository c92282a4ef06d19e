"""PostgreSQL's fast paths for the pipeline's bulk writes: COPY into temporary tables, then one
set-based statement each.

Row-by-row statements, and the multi-row VALUES statements SQLAlchemy builds for executemany,
spend most of their time in the driver (psycopg parses every large statement's placeholders
anew); COPY streams rows without a statement per row and is the fastest way in
(../shared/LIMITS.md: 0.8 M rows/s without indexes). It runs in the binary format: measured on
20,000 event rows (EVE-sized, ~1.5 KB), psycopg spent 1-3 µs per row against 5.8 in text, and
the server 5.5-8 µs against 10.5-11.5 (it parses no timestamps or numbers from text); binary
needs each column's type, read from the catalogue once per connection. COPY has no ON CONFLICT,
so a batch's alert drafts go into a temporary table first (it lives per connection and is
emptied before use, so a rolled-back batch leaves nothing behind for the next one); from there
the new ones are inserted with ON CONFLICT DO NOTHING and the stored ones merged by one UPDATE.
Events are copied straight in (a stored fingerprint aborts the COPY: see insert_events).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.adapt import Dumper
from psycopg.pq import Format
from sqlalchemy import text
from sqlalchemy.orm import Session

from vardeild.monitoring.alerts import ALERT_INDICATORS, ALERT_SAMPLES, AlertStatus
from vardeild.monitoring.model import EVENT_COLUMNS

if TYPE_CHECKING:
    from vardeild.monitoring.alerts import AlertDraft

ALERT_COLUMNS = (
    "alert_key",
    "member_id",
    "classification_taxonomy",
    "classification_type",
    "classification_identifier",
    "signature",
    "feed_name",
    "external_party",
    "window_start",
    "count",
    "first_seen",
    "last_seen",
    "severity",
    "status",
    "sample_event_ids",
    "matched_indicator_ids",
    "created_at",
    "updated_at",
)
# Statements built once from the constant column lists above; no value reaches them as text.
_COPY_EVENTS = f"COPY events ({', '.join(EVENT_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
# The drafts are staged once, with the id of their stored alert or 0: the new ones are
# inserted from there, the stored ones merged from there (sequence values are drawn only for
# rows inserted: an upsert would draw one for every draft, and alert ids are 32-bit).
_INSERT_ALERTS = (
    f"INSERT INTO alerts ({', '.join(ALERT_COLUMNS)}) "  # noqa: S608
    f"SELECT {', '.join(ALERT_COLUMNS)} FROM alerts_incoming WHERE id = 0 ORDER BY alert_key "
    "ON CONFLICT (alert_key) DO NOTHING RETURNING alert_key, id"
)
# alerts.merge_into in SQL (tests hold the two equal): a stored alert's times and id lists are
# neither read nor parsed by the client.
_MERGE_ALERTS = f"""UPDATE alerts SET
    count = alerts.count + c.count,
    first_seen = LEAST(alerts.first_seen, c.first_seen),
    last_seen = GREATEST(alerts.last_seen, c.last_seen),
    severity = GREATEST(alerts.severity, c.severity),
    status = CASE alerts.status WHEN '{AlertStatus.CLOSED.value}' THEN '{AlertStatus.OPEN.value}'
        ELSE alerts.status END,
    sample_event_ids = CASE
        WHEN json_array_length(alerts.sample_event_ids) >= {ALERT_SAMPLES}
        THEN alerts.sample_event_ids
        ELSE (SELECT json_agg(u.v ORDER BY u.part, u.n) FROM (
            SELECT 0 AS part, a.n, a.v
                FROM json_array_elements(alerts.sample_event_ids) WITH ORDINALITY AS a(v, n)
            UNION ALL SELECT 1, b.n, b.v
                FROM json_array_elements(c.sample_event_ids) WITH ORDINALITY AS b(v, n)
            ORDER BY 1, 2 LIMIT {ALERT_SAMPLES}) AS u)
        END,
    matched_indicator_ids = CASE
        WHEN json_array_length(c.matched_indicator_ids) = 0 THEN alerts.matched_indicator_ids
        ELSE (SELECT json_agg(u.i ORDER BY u.i) FROM (
            SELECT DISTINCT (x.v #>> '{{}}')::bigint AS i FROM (
                SELECT json_array_elements(alerts.matched_indicator_ids)
                UNION ALL SELECT json_array_elements(c.matched_indicator_ids)) AS x(v)
            ORDER BY 1 LIMIT {ALERT_INDICATORS}) AS u)
        END,
    updated_at = c.updated_at
FROM alerts_incoming AS c WHERE c.id <> 0 AND alerts.id = c.id"""  # noqa: S608 (constants)
_SET_STAGED_IDS = (
    "UPDATE alerts_incoming SET id = f.id FROM unnest(%s::text[], %s::integer[]) AS f(key, id)"
    " WHERE alerts_incoming.alert_key = f.key"
)
_FOUND_ALERTS = (
    "SELECT alert_key, id, status FROM alerts WHERE alert_key = ANY(%s) "
    "ORDER BY alert_key FOR UPDATE"
)
_TYPES = "vardeild.copy_types"  # connection.info: table -> column -> type oid
_COLUMN_TYPES = (
    "SELECT attname, atttypid FROM pg_attribute "
    "WHERE attrelid = CAST(%s AS regclass) AND attnum > 0 AND NOT attisdropped"
)
_STAGING = {"alerts_incoming": "(LIKE alerts) ON COMMIT DELETE ROWS"}


def _stage(
    session: Session,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    json_as_text: bool = False,
) -> Any:
    """COPY rows (values in the order of columns) into the emptied temporary table; return
    the cursor for what follows. json_as_text: the rows give json columns as JSON text."""
    connection = session.connection().connection.driver_connection
    assert connection is not None
    cursor = connection.cursor()
    cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {table} {_STAGING[table]}")
    cursor.execute(f"TRUNCATE {table}")
    types = _column_types(session, cursor, table, columns)
    if json_as_text:
        types = [_TEXT_OID if oid == _JSON_OID else oid for oid in types]
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(types)
        write = copy.write_row
        for row in rows:
            write(row)
    return cursor


def _column_types(session: Session, cursor: Any, table: str, columns: Sequence[str]) -> list[int]:
    """Return the type oids of table's columns (as its name resolves on this connection: a
    temporary table first), read from the catalogue once per connection."""
    held: dict[str, dict[str, int]] = session.connection().info.setdefault(_TYPES, {})
    types = held.get(table)
    if types is None:
        cursor.execute(_COLUMN_TYPES, (table,))
        types = held[table] = {name: int(oid) for name, oid in cursor.fetchall()}
    return [types[column] for column in columns]


def insert_events(session: Session, rows: Sequence[Sequence[Any]]) -> int:
    """Insert events (whose fingerprints the caller found new; their values in EVENT_COLUMNS
    order); return how many were inserted,
    0 if another transaction stored one of them meanwhile (the transaction is then aborted and
    must be rolled back).

    COPY goes straight into `events`, not through a staging table: the caller looked for the
    fingerprints in this transaction just before, so a conflict means a concurrent writer, and
    the unique index refuses it as ON CONFLICT would have found it. Staging cost the server a
    second insert of every row (1.5-2.2 s of server CPU per 100,000 Shadowserver rows)."""
    connection = session.connection().connection.driver_connection
    assert connection is not None
    with connection.cursor() as cursor:
        types = _column_types(session, cursor, "events", EVENT_COLUMNS)
        if _UUID_OID in types:  # the fingerprint (migration 0023)
            cursor.adapters.register_dumper(str, _HexDigestDumper)
        try:
            with cursor.copy(_COPY_EVENTS) as copy:
                copy.set_types(types)
                write = copy.write_row
                for row in rows:
                    write(row)
        except psycopg.errors.UniqueViolation:
            return 0
    return len(rows)


_JSON_OID = 114
_TEXT_OID = 25
_UUID_OID = 2950


class _HexDigestDumper(Dumper):
    """An event's fingerprint (32 hex digits) in binary COPY as the uuid column takes it: its
    16 bytes. Registered on the COPY's own cursor only, where set_types picks it by the uuid
    column's oid; its other columns keep their own dumpers."""

    format = Format.BINARY
    oid = _UUID_OID

    def dump(self, obj: str) -> bytes:
        return bytes.fromhex(obj)


def found_alerts(session: Session, keys: Sequence[str]) -> dict[str, tuple[int, str]]:
    """Return key -> (id, status) of the keys' stored alerts, locked in key order, so that
    concurrent workers cannot deadlock on them."""
    connection = session.connection().connection.driver_connection
    assert connection is not None
    with connection.cursor() as cursor:
        cursor.execute(_FOUND_ALERTS, (list(keys),))
        return {key: (int(alert_id), status) for key, alert_id, status in cursor.fetchall()}


def merge_alerts(
    session: Session, drafts: Sequence[AlertDraft], found: dict[str, tuple[int, str]], *,
    now: datetime,
) -> None:  # fmt: skip
    """Insert the drafts whose key is new and fold the others (found: key -> (id, status),
    locked) into their alerts, as alerts.merge_into would; set each draft's alert_id. A key
    another transaction created meanwhile is locked, added to found, and merged into.

    The staging rows are made straight from the drafts, in the order of ALERT_COLUMNS, and
    the id lists go in as the JSON text they are: the binary form of a `json` value is its
    text, so they are sent with text's type, not through psycopg's json.dumps."""
    rows = []
    for draft in drafts:
        held = found.get(draft.key)
        rows.append(
            new_alert_values(
                draft,
                0 if held is None else held[0],
                window=draft.window_start,
                first=draft.first_seen,
                last=draft.last_seen,
                now=now,
            )
        )
    cursor = _stage(session, "alerts_incoming", ("id", *ALERT_COLUMNS), rows, json_as_text=True)
    with cursor:
        if len(found) < len(drafts):
            cursor.execute(_INSERT_ALERTS)
            inserted = {key: int(alert_id) for key, alert_id in cursor.fetchall()}
            late = sorted(d.key for d in drafts if d.key not in found and d.key not in inserted)
            if late:
                cursor.execute(_FOUND_ALERTS, (late,))
                more = {key: (int(i), status) for key, i, status in cursor.fetchall()}
                found.update(more)
                cursor.execute(_SET_STAGED_IDS, (list(more), [i for i, _ in more.values()]))
        else:
            inserted = {}
        for draft in drafts:
            held = found.get(draft.key)
            draft.alert_id = held[0] if held is not None else inserted[draft.key]
        if found:
            cursor.execute(_MERGE_ALERTS)


def new_alert_values(
    draft: AlertDraft, alert_id: int, *, window: Any, first: Any, last: Any, now: Any
) -> tuple[Any, ...]:
    """Return the values of (id, *ALERT_COLUMNS) of a new alert made of the draft, its id
    lists as JSON text, its times given as the caller's database stores them."""
    return (
        alert_id,
        draft.key,
        draft.member_id,
        draft.taxonomy,
        draft.type,
        draft.identifier,
        draft.signature,
        draft.feed_name,
        draft.external_party,
        window,
        draft.count,
        first,
        last,
        draft.severity,
        _OPEN,
        ids_text(draft.samples),
        indicators_text(draft.indicators),
        now,
        now,
    )


_OPEN = AlertStatus.OPEN.value


def indicators_text(indicators: set[int]) -> str:
    """A draft's matched indicator ids as an alert stores them: sorted, at most
    ALERT_INDICATORS, as JSON text."""
    return ids_text(sorted(indicators)[:ALERT_INDICATORS]) if indicators else "[]"


def ids_text(values: list[int]) -> str:
    """A list of ids as JSON text (as json.dumps writes it, without its cost)."""
    return f"[{', '.join(map(str, values))}]"


def event_ids(session: Session, count: int) -> list[int]:
    """Return count fresh ids from the events table's sequence, in ascending order. They come
    back as their first and last when they are one run (as they are unless another session
    drew ids at the same moment), else as one array: fetching 50,000 rows of one id each cost
    the driver ~0.25 s and the round trips more."""
    first, last, scattered = session.execute(_EVENT_IDS, {"n": count}).one()
    if scattered is None:
        return list(range(int(first), int(last) + 1))
    return sorted(int(value) for value in scattered)


# The sequence is named once (an InitPlan): pg_get_serial_sequence per id cost the server
# ~6 us each, ten times nextval's own cost. A subquery, not a CTE: a CTE over a volatile
# function is materialised, and that cost as much as the draw (28,000 ids: 35 -> 20 ms; with
# the sequence's cache of migration 0022, 13 ms). The rare scattered ids are sorted here.
_EVENT_IDS = text(
    "SELECT min(id), max(id),"
    " CASE WHEN max(id) - min(id) + 1 = count(*) THEN NULL ELSE array_agg(id) END"
    " FROM (SELECT nextval((SELECT pg_get_serial_sequence('events', 'id'))::regclass) AS id"
    " FROM generate_series(1, :n)) AS drawn"
)


def existing_fingerprints(session: Session, fingerprints: Sequence[str]) -> set[str]:
    """Return which of the fingerprints are stored already. They go as one text (hex digits
    joined by commas) that the server splits: psycopg's dump of a 50,000-string array
    parameter cost ~0.35 s of client CPU. The column is uuid (migration 0023); what comes back
    is the hex digits again."""
    found = session.execute(_EXISTING, {"values": ",".join(fingerprints)})
    return {fingerprint for (fingerprint,) in found}


_EXISTING = text(
    "SELECT replace(fingerprint::text, '-', '') FROM events"
    " WHERE fingerprint = ANY(CAST(string_to_array(:values, ',') AS uuid[]))"
)
