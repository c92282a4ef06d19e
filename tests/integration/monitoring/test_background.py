"""What `vardeild serve` runs beside the web app: the silent-sensor check, at its interval,
in a thread of its own, on a database the test does not hold a transaction on."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from support.sensors import register_sensor
from vardeild.app import background_tasks, build_platform
from vardeild.core.clock import FixedClock
from vardeild.monitoring import sensors
from vardeild.monitoring.background import PeriodicTask, stop_all
from vardeild.monitoring.sensor_tables import SensorAlertRow
from vardeild.platform import Platform
from vardeild.settings import Settings


@pytest.fixture
def live(fresh_database_url: str, tmp_path: Path, clock: FixedClock) -> Iterator[Platform]:
    settings = Settings(
        database_url=fresh_database_url,
        data_dir=tmp_path / "data",
        sensor_check_interval_seconds=1,
    )
    built = build_platform(settings, clock=clock, migrate=True)
    yield built
    built.engine.dispose()


def sensor_alerts(platform: Platform) -> list[tuple[int, str]]:
    with platform.session() as session:
        rows = session.execute(select(SensorAlertRow.sensor_id, SensorAlertRow.kind))
        return [(row.sensor_id, row.kind) for row in rows]


def test_serve_checks_for_silent_sensors_periodically(live: Platform, clock: FixedClock) -> None:
    with live.session() as session:
        sensor = register_sensor(session, clock, "osl-dc1-ids")
        sensors.record_sensor_seen(session, "osl-dc1-ids", 10, clock.now())
    tasks = background_tasks(live)
    assert [task.name for task in tasks] == ["sensor silence check"]
    check = tasks[0]
    check.start()
    try:
        assert check.wait_for_runs(1, timeout=60)
        assert sensor_alerts(live) == []  # heard from just now: not silent
        clock.advance(timedelta(minutes=16))  # past its 15 minutes
        # The run after next surely started after the clock moved.
        assert check.wait_for_runs(check.runs + 2, timeout=60)
        assert sensor_alerts(live) == [(sensor.id, "silent")]
        assert check.wait_for_runs(check.runs + 1, timeout=60)
        assert sensor_alerts(live) == [(sensor.id, "silent")]  # once per silence
        assert check.failures == 0
    finally:
        stop_all(tasks)
    assert not check.alive


def test_no_check_when_the_interval_is_zero(live: Platform) -> None:
    quiet = build_platform(
        live.settings.model_copy(update={"sensor_check_interval_seconds": 0}), engine=live.engine
    )
    assert background_tasks(quiet) == []


def test_a_failing_run_is_counted_and_the_next_one_still_runs() -> None:
    calls: list[int] = []

    def flaky() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the database is away")

    task = PeriodicTask("flaky", flaky, 0.01).start()
    try:
        assert task.wait_for_runs(2, timeout=60)
    finally:
        task.stop()
    assert task.failures == 1
    assert len(calls) >= 2
