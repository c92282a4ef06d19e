"""BatchProcessor._row: an event's row for the events table, or why storage would refuse it.
Its quick screen must never let through what the full checks refuse."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from vardeild.monitoring.batch import BatchProcessor
from vardeild.monitoring.model import Event, EventKind, Severity

AT = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def event(**changes: object) -> Event:
    base = Event(
        kind=EventKind.REPORT,
        time_observation=AT,
        time_source=AT,
        feed_name="shadowserver",
        feed_code="scan_smb",
        classification_taxonomy="vulnerable",
        classification_type="potentially-unwanted-accessible",
        classification_identifier="accessible-smb",
        severity=Severity.MEDIUM,
        source_ip="192.0.2.1",
        source_port=445,
        raw="2024-05-01 10:00:00,192.0.2.1,445",
    )
    return msgspec.structs.replace(base, **changes)


def test_a_clean_events_row() -> None:
    row, problem = BatchProcessor(store_unattributed=True)._row(event(sensor="s1"))
    assert problem is None
    assert row["kind"] == "report"
    assert row["severity"] == 2
    assert row["sensor"] == "s1"
    assert row["raw"] == "2024-05-01 10:00:00,192.0.2.1,445"
    assert len(row["fingerprint"]) == 32
    assert '"raw"' not in row["data"]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"classification_identifier": "a\x00b"}, "classification_identifier holds a NUL"),
        ({"classification_type": "a\x00b"}, "classification_type holds a NUL"),
        ({"classification_taxonomy": "a\x00b"}, "classification_taxonomy holds a NUL"),
        ({"feed_code": "a\x00b"}, "feed_code holds a NUL"),
        ({"feed_name": "a\x00b"}, "feed_name holds a NUL"),
        ({"sensor": "a\x00b"}, "sensor holds a NUL"),
        ({"source_ip": "a\x00b"}, "source_ip holds a NUL"),
        ({"destination_ip": "a\x00b"}, "destination_ip holds a NUL"),
        ({"raw": "a\x00b"}, "raw holds a NUL"),
        ({"raw": "a\ud800b"}, "raw is not valid Unicode"),
        ({"classification_identifier": "a\ud800b"}, "classification_identifier is not valid"),
        ({"sensor": "s\udcff"}, "sensor is not valid Unicode"),
        ({"feed_code": "\ud83d"}, "feed_code is not valid Unicode"),
        ({"source_port": 70000}, "source_port 70000 is not a port"),
        ({"destination_port": -1}, "destination_port -1 is not a port"),
    ],
)
def test_what_storage_refuses_is_named(changes: dict[str, object], reason: str) -> None:
    row, problem = BatchProcessor(store_unattributed=True)._row(event(**changes))
    assert row == {}
    assert problem is not None
    assert reason in problem


def test_a_literal_backslash_u0000_is_stored() -> None:
    row, problem = BatchProcessor(store_unattributed=True)._row(
        event(classification_identifier="a\\u0000b", raw="x,\\u0000,é")
    )
    assert problem is None
    assert row["raw"] == "x,\\u0000,é"
