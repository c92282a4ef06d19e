"""Time, injectable, so that rules that depend on it can be tested with a controllable clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Something that tells the current time, always timezone-aware UTC."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """Return the current time in UTC."""
        return datetime.now(UTC)


class FixedClock:
    """A clock that only moves when told to; for tests and replays."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._at = at

    def now(self) -> datetime:
        """Return the clock's current time."""
        return self._at

    def advance(self, by: timedelta) -> None:
        """Move the clock forward."""
        self._at += by


def as_utc(value: datetime) -> datetime:
    """Return value in UTC; a naive datetime is taken to be UTC already (as SQLite returns it)."""
    if value.tzinfo is UTC:  # what UTCDateTime hands back: the common case, kept cheap
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def utc_text(value: datetime) -> str:
    """Return an aware time as the text SQLite keeps for it: UTC, microseconds, no offset
    (`2026-11-28 12:00:00.000000`). ValueError for a naive time, whose zone is unknown."""
    if value.tzinfo is not UTC:
        if value.tzinfo is None:
            raise ValueError("naive datetime given; Vardeild stores timezone-aware UTC only")
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")
