"""Pipeline.write_behind: batches written on a writer thread while the next is processed,
committed in order with their checkpoints, and nothing written after a failed write.

These need sessions that may run on another thread with their own connection, so they run on
a fresh database through a real engine, not on the test's one rolled-back connection.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from support.pipeline import T0, add_member, count_events, eve_batch, eve_line
from support.report_lane import require_lane
from vardeild.app import build_platform
from vardeild.core.clock import FixedClock
from vardeild.monitoring import pipeline as pipeline_module
from vardeild.monitoring.alerts import ALERT_SAMPLES
from vardeild.monitoring.ingest import Checkpoint, Feed, IngestResult, RawBatch, RawRecord
from vardeild.monitoring.pipeline import Pipeline, PipelineConfig
from vardeild.monitoring.store import get_checkpoint
from vardeild.monitoring.tables import AlertRow, EventRow
from vardeild.platform import Platform
from vardeild.settings import Settings

SOURCE = "file:/var/log/eve.json"


@pytest.fixture
def database(fresh_database_url: str, tmp_path: Path) -> Iterator[Platform]:
    platform = build_platform(
        Settings(database_url=fresh_database_url, data_dir=tmp_path / "data"), migrate=True
    )
    add_member(platform, "10.1.0.0/16")
    yield platform
    platform.engine.dispose()


def batch(n: int, *, sensor: str = "sensor-1") -> RawBatch:
    """Batch n: 100 alerts for the member, its checkpoint after them."""
    lines = [eve_line(src=f"203.0.113.{n}", src_port=1000 + i) for i in range(100)]
    raw = eve_batch(lines, source=SOURCE, sensor=sensor)
    return dataclasses.replace(raw, checkpoint=Checkpoint(SOURCE, "dev:1", 1000 * n))


def checkpoint(platform: Platform) -> int | None:
    with platform.session() as session:
        held = get_checkpoint(session, SOURCE)
    return None if held is None else held.position


def test_every_batch_is_committed_in_order_with_its_checkpoint(database: Platform) -> None:
    pipeline = Pipeline(
        database.session, clock=database.clock, config=PipelineConfig(write_behind=True)
    )
    behind = pipeline.write_behind()
    assert behind is not None
    results: list[IngestResult] = []
    for n in range(1, 6):
        done = behind.ingest(batch(n))
        # At most one batch is in flight: each call returns the one before it.
        assert len(done) == (0 if n == 1 else 1)
        results.extend(done)
    results.extend(behind.finish())
    assert [r.events_stored for r in results] == [100] * 5
    with database.session() as session:
        assert count_events(session) == 500
    assert checkpoint(database) == 5000

    # The same batches again: every event is a duplicate, nothing stored twice.
    again = pipeline.write_behind()
    assert again is not None
    repeated = again.ingest(batch(1)) + again.finish()
    assert repeated[0].events_stored == 0
    assert repeated[0].events_duplicate == 100


def test_a_failed_write_stops_every_later_one(database: Platform) -> None:
    def seen(session: Session, name: str, count: int, at: datetime) -> None:
        if name == "broken":
            raise RuntimeError("the sensor hook failed")

    pipeline = Pipeline(
        database.session,
        clock=database.clock,
        config=PipelineConfig(write_behind=True),
        on_sensor_seen=seen,
    )
    behind = pipeline.write_behind()
    assert behind is not None
    assert behind.ingest(batch(1)) == []
    assert len(behind.ingest(batch(2, sensor="broken"))) == 1  # batch 1 committed
    with pytest.raises(RuntimeError, match="the sensor hook failed"):
        behind.ingest(batch(3))  # processed, but not written: batch 2 failed before it
    assert behind.finish() == []
    with database.session() as session:
        assert count_events(session) == 100
    assert checkpoint(database) == 1000  # the reader resumes after batch 1


def test_write_behind_is_off_unless_configured(database: Platform) -> None:
    assert Pipeline(database.session, clock=database.clock).write_behind() is None


def test_times_are_stored_as_the_orm_reads_them(database: Platform) -> None:
    received = datetime(2026, 11, 28, 12, 0, 1, 123456, tzinfo=UTC)
    pipeline = Pipeline(
        database.session, clock=FixedClock(received), config=PipelineConfig(write_behind=True)
    )
    behind = pipeline.write_behind()
    assert behind is not None
    behind.ingest(batch(1))
    behind.finish()
    with database.session() as session:
        row = session.scalars(select(EventRow).order_by(EventRow.id)).first()
        assert row is not None
        assert row.time_source == T0
        assert row.time_observation == received


def test_a_registry_change_reaches_the_batch_after_the_write_in_flight(database: Platform) -> None:
    # The writer reads the indexes for the next batch at the start of its transaction (the
    # caller opens none of its own, which on SQLite would wait for the writer's lock): a
    # member registered while batch 2 is written attributes batch 3 at the latest.
    pipeline = Pipeline(
        database.session, clock=database.clock, config=PipelineConfig(write_behind=True)
    )
    behind = pipeline.write_behind()
    assert behind is not None
    behind.ingest(batch(1))
    behind.ingest(batch(2))
    member = add_member(database, "203.0.113.0/24")
    behind.ingest(batch(3))
    behind.ingest(batch(4))
    behind.finish()
    with database.session() as session:
        query = select(EventRow.source_ip, EventRow.source_member_id).distinct()
        owners: dict[str, int | None] = {ip: owner for ip, owner in session.execute(query)}  # noqa: C416
    assert owners["203.0.113.1"] is None  # processed before the member existed
    assert owners["203.0.113.4"] == member


# --- Shadowserver lane batches: folded on the reading thread ---------------------------------

REPORT_HEADER = b'"timestamp","ip","port","hostname","tag","asn","geo","region","city"\n'


def report_batch(first: int, count: int, *, key: str) -> RawBatch:
    """Plain scan_rdp rows the lane takes: addresses 10.1.0.first.. (the member's), hours
    spread over three alert windows."""
    rows = [
        f'"2026-11-28 0{n % 3}:1{n % 6}:00","10.1.{n // 250}.{n % 250 + 1}",3389,"","rdp",'
        f'64500,"NO","R","C"\n'.encode()
        for n in range(first, first + count)
    ]
    return RawBatch(
        source="file:/reports/2026-11-28-scan_rdp-norway-geo.csv",
        feed=Feed.SHADOWSERVER,
        records=[RawRecord(i, REPORT_HEADER + row) for i, row in enumerate(rows)],
        filename="2026-11-28-scan_rdp-norway-geo.csv",
        batch_key=key,
    )


def alerts_agree_with_events(platform: Platform) -> list[tuple[int, int]]:
    """Each alert's count and samples are those of the events that point at it (the first
    ALERT_SAMPLES ids); return (alert count, samples) per alert."""
    with platform.session() as session:
        events = session.execute(select(EventRow.id, EventRow.alert_id)).all()
        stored = session.scalars(select(AlertRow).order_by(AlertRow.id)).all()
        by_alert: dict[int, list[int]] = {}
        for event_id, alert_id in events:
            by_alert.setdefault(alert_id, []).append(event_id)
        for alert in stored:
            ids = sorted(by_alert[alert.id])
            assert alert.count == len(ids)
            assert alert.sample_event_ids == ids[:ALERT_SAMPLES]
        assert None not in by_alert
        return [(a.count, len(a.sample_event_ids)) for a in stored]


def test_lane_batches_are_folded_on_the_reading_thread_with_the_write_s_ids(
    database: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_lane()
    folded_on: list[str] = []
    original = pipeline_module.fold_rows

    def spy(*args: Any, **kwargs: Any) -> Any:
        folded_on.append(threading.current_thread().name)
        return original(*args, **kwargs)

    monkeypatch.setattr(pipeline_module, "fold_rows", spy)
    pipeline = Pipeline(
        database.session, clock=database.clock, config=PipelineConfig(write_behind=True)
    )
    behind = pipeline.write_behind()
    assert behind is not None
    results = behind.ingest(report_batch(0, 300, key="a"))
    results += behind.ingest(report_batch(300, 300, key="b"))
    results += behind.finish()
    assert [r.events_stored for r in results] == [300, 300]
    assert folded_on
    assert all(not name.startswith("vardeild-writer") for name in folded_on)
    shape = alerts_agree_with_events(database)
    assert sum(count for count, _ in shape) == 600
    assert len(shape) == 3  # one per alert window, the second batch folded into them

    # The same batch under a new key: the optimistic write meets stored events, and its
    # second try (looking first) folds what is left on the writer; nothing counts twice.
    monkeypatch.setattr(pipeline_module, "fold_rows", original)
    again = pipeline.write_behind()
    assert again is not None
    repeated = again.ingest(report_batch(250, 100, key="c")) + again.finish()
    assert (repeated[0].events_stored, repeated[0].events_duplicate) == (0, 100)
    assert sum(count for count, _ in alerts_agree_with_events(database)) == 600
    mixed = pipeline.write_behind()
    assert mixed is not None
    done = mixed.ingest(report_batch(550, 100, key="d")) + mixed.finish()
    assert (done[0].events_stored, done[0].events_duplicate) == (50, 50)
    assert sum(count for count, _ in alerts_agree_with_events(database)) == 650
