"""Sensor names, thresholds, silence and health: the rules without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vardeild.monitoring.sensor_model import (
    SensorHealth,
    SensorStatus,
    hour_of,
    is_silent,
    validate_sensor_name,
    validate_silence_after,
)

NOW = datetime(2026, 11, 28, 12, 30, 15, 123, tzinfo=UTC)


@pytest.mark.parametrize("name", ["osl-dc1-ids", "a", "s1", "x" * 63, "9-lives"])
def test_slugs_are_sensor_names(name: str) -> None:
    assert validate_sensor_name(f" {name} ") == name


@pytest.mark.parametrize(
    "name",
    ["", "-ids", "ids-", "OSL", "osl dc1", "osl_dc1", "ø-ids", "x" * 64, "a\x00b", "i\nds"],
)
def test_other_names_are_refused_with_an_example(name: str) -> None:
    with pytest.raises(ValueError, match="osl-dc1-ids"):
        validate_sensor_name(name)


def test_silence_threshold_runs_from_a_minute_to_a_week() -> None:
    assert validate_silence_after(1) == 1
    assert validate_silence_after(7 * 24 * 60) == 7 * 24 * 60
    for bad in (0, -5, 7 * 24 * 60 + 1):
        with pytest.raises(ValueError, match="minutes"):
            validate_silence_after(bad)


def test_a_sensor_is_silent_only_past_its_threshold() -> None:
    def silent(seen_ago: timedelta | None, status: SensorStatus = SensorStatus.ACTIVE) -> bool:
        return is_silent(
            status=status,
            last_seen_at=None if seen_ago is None else NOW - seen_ago,
            silence_after_minutes=15,
            now=NOW,
        )

    assert not silent(timedelta(minutes=15))
    assert silent(timedelta(minutes=15, seconds=1))
    assert not silent(None), "never heard from: waiting, not silent"
    assert not silent(timedelta(days=3), SensorStatus.RETIRED)


def test_hour_of_truncates_to_the_hour() -> None:
    assert hour_of(NOW) == datetime(2026, 11, 28, 12, tzinfo=UTC)


def test_drop_ratio_needs_both_counters() -> None:
    def health(packets: int | None, drops: int | None) -> SensorHealth:
        return SensorHealth(at=NOW, uptime_seconds=10, packets=packets, drops=drops, alerts=0)

    assert health(900, 100).drop_ratio == pytest.approx(0.1)
    assert health(None, 5).drop_ratio is None
    assert health(5, None).drop_ratio is None
    assert health(0, 0).drop_ratio is None
