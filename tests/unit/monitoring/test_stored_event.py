"""`events.data` leaves out the fields the events table keeps in columns; `stored_event` puts
them back. What a reader gets (the API's `event`, the exposure import) must be exactly the
whole event's JSON, as before data left them out, on both databases and for old rows too."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from sqlalchemy import select, update

from support.pipeline import add_member
from vardeild.monitoring import store
from vardeild.monitoring.alerts import stored_event
from vardeild.monitoring.batch import BatchProcessor
from vardeild.monitoring.model import COLUMN_FIELDS, Event, EventKind, Severity
from vardeild.monitoring.store_pg import EVENT_COLUMNS
from vardeild.monitoring.tables import EventRow
from vardeild.platform import Platform

AT = datetime(2026, 11, 28, 12, 0, 1, 234500, tzinfo=UTC)


def _events(member: int) -> list[Event]:
    alert = Event(
        kind=EventKind.ALERT,
        time_observation=AT,
        time_source=datetime(2026, 11, 28, 11, 59, tzinfo=UTC),
        feed_name="suricata",
        feed_provider="CERT",
        feed_code="alert",
        classification_taxonomy="intrusion-attempts",
        classification_type="exploit",
        classification_identifier="sid:1:2030358",
        event_description_text="ET EXPLOIT «Ålesund» 病院",
        severity=Severity.HIGH,
        source_ip="10.1.0.5",
        source_port=5572,
        destination_ip="192.0.2.7",
        destination_port=80,
        protocol_transport="tcp",
        sensor="oslo-1",
        extra={"flow_id": 1, "nested": {"a": [1, 2]}},
        raw='{"event_type":"alert"}',
        source_member=member,
        matched_indicators=[7, 9],
    )
    # Every column-held field at its default, or absent: nothing of it may appear.
    bare = Event(
        kind=EventKind.REPORT,
        time_observation=datetime(2026, 11, 28, 12, 0, tzinfo=UTC),
        feed_name="shadowserver",
        classification_taxonomy="vulnerable",
        classification_type="potentially-unwanted-accessible",
        severity=Severity.LOW,
        raw="2024-05-01 10:00:00,192.0.2.1",
        destination_member=member,
    )
    protocol = msgspec.structs.replace(
        alert,
        kind=EventKind.PROTOCOL,
        severity=Severity.INFO,
        feed_code="dns",
        classification_identifier="",
        dns_query="x.example",
        raw='{"event_type":"dns"}',
        source_member=None,
        destination_member=member,
        sensor=None,
    )
    return [alert, bare, protocol]


def _whole(event: Event) -> dict[str, Any]:
    """The whole event's JSON, raw left out: what events.data held before."""
    decoded: dict[str, Any] = msgspec.json.decode(
        msgspec.json.encode(msgspec.structs.replace(event, raw=""))
    )
    return decoded


@pytest.mark.parametrize("old_rows", [False, True], ids=["lean data", "old rows"])
def test_a_reader_gets_the_whole_event(platform: Platform, old_rows: bool) -> None:
    member = add_member(platform, "10.1.0.0/16")
    processor = BatchProcessor(store_unattributed=True)
    events = _events(member)
    rows = []
    for n, event in enumerate(events, start=1):
        row, problem = processor._row(event)
        assert problem is None
        rows.append({**row, "id": n, "alert_id": None})
    with platform.session() as session:
        store.insert_events(session, [list(store.EVENT_VALUES(row)) for row in rows])
        if old_rows:
            for n, event in enumerate(events, start=1):
                whole = msgspec.json.encode(msgspec.structs.replace(event, raw="")).decode()
                session.execute(update(EventRow).where(EventRow.id == n).values(data=whole))
    with platform.session() as session:
        stored = list(session.scalars(select(EventRow).order_by(EventRow.id)))
        read = [stored_event(row) for row in stored]
    for event, got in zip(events, read, strict=True):
        assert got == _whole(event)
        assert list(got) == list(_whole(event))  # in the model's order
    if not old_rows:
        for row in stored:
            assert not set(msgspec.json.decode(row.data)) & COLUMN_FIELDS


def test_the_columns_written_are_the_event_fields_kept_out_of_data() -> None:
    """The columns both databases' bulk inserts write (model.EVENT_COLUMNS) are the events
    table's, and the Event fields `data` leaves out (model.COLUMN_FIELDS, derived from them)
    are Event fields: those columns, besides the row's own id, its alert and `data` itself."""
    member_columns = {
        "source_member": "source_member_id",
        "destination_member": "destination_member_id",
    }
    written = set(EVENT_COLUMNS) - {"id", "alert_id", "data"}
    assert written == {member_columns.get(name, name) for name in COLUMN_FIELDS}
    assert set(EVENT_COLUMNS) == set(EventRow.__table__.columns.keys())
    assert set(COLUMN_FIELDS) <= set(Event.__struct_fields__)
