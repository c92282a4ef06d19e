"""Sensors as the registry knows them: names, states, health, and when one counts as silent.

No I/O here; `vardeild.monitoring.sensors` holds the use cases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

SENSOR_NAME_MAX = 63
DEFAULT_SILENCE_AFTER_MINUTES = 15
SILENCE_AFTER_MAX_MINUTES = 7 * 24 * 60
_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


class SensorStatus(StrEnum):
    """Whether a sensor is expected to report."""

    ACTIVE = "active"
    RETIRED = "retired"  # its tokens are revoked, it is never checked for silence again


def validate_sensor_name(text: str) -> str:
    """Return the name as stored; raise ValueError unless it is a slug (a-z, 0-9, hyphens)."""
    value = text.strip()
    if not _SLUG.fullmatch(value):
        raise ValueError(
            f"{text!r} is not a sensor name; use 1 to {SENSOR_NAME_MAX} lower-case letters, "
            "digits and inner hyphens, such as osl-dc1-ids"
        )
    return value


def validate_silence_after(minutes: int) -> int:
    """Return minutes if it is a usable silence threshold; raise ValueError otherwise."""
    if not 1 <= minutes <= SILENCE_AFTER_MAX_MINUTES:
        raise ValueError(f"is {minutes}; give 1 to {SILENCE_AFTER_MAX_MINUTES} minutes (a week)")
    return minutes


def hour_of(at: datetime) -> datetime:
    """Return the start of the hour at falls in: the key of the hourly event counts."""
    return at.replace(minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class SensorHealth:
    """What the sensor last said about itself in an EVE `stats` record (counters run from
    Suricata's start)."""

    at: datetime
    uptime_seconds: int | None
    packets: int | None
    drops: int | None
    alerts: int | None

    @property
    def drop_ratio(self) -> float | None:
        """Return drops / (packets + drops), or None when either is unknown."""
        if self.packets is None or self.drops is None or self.packets + self.drops == 0:
            return None
        return self.drops / (self.packets + self.drops)


@dataclass(frozen=True)
class Sensor:
    """A sensor as listed and shown, with its rates and whether it is silent now."""

    id: int
    name: str
    location: str
    organisation_id: int | None
    description: str
    status: SensorStatus
    silence_after_minutes: int
    created_by: str
    created_at: datetime
    retired_at: datetime | None
    last_seen_at: datetime | None
    silent: bool
    silence_alerted_at: datetime | None
    events_this_hour: int  # records received since the start of the current hour
    events_previous_hour: int  # in the whole hour before: the rate shown
    events_last_24h: int  # in this hour and the 23 before it
    health: SensorHealth | None


def is_silent(
    *,
    status: SensorStatus,
    last_seen_at: datetime | None,
    silence_after_minutes: int,
    now: datetime,
) -> bool:
    """Return True if an active sensor has not been heard from for longer than its threshold.

    A sensor never heard from is not silent but waiting: it may not be installed yet, and
    `sensors list` shows it as never seen.
    """
    if status is not SensorStatus.ACTIVE or last_seen_at is None:
        return False
    return now - last_seen_at > timedelta(minutes=silence_after_minutes)


@dataclass(frozen=True)
class SilentSensor:
    """A sensor found silent by a check, with the alert raised for this silence."""

    sensor_id: int
    name: str
    organisation_id: int | None
    last_seen_at: datetime
    silent_for: timedelta
    alert_id: int
