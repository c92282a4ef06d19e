"""Reading the dates and times operators type: `2026-11-28` or `2026-11-28T12:00[:00][+01:00]`."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import typer


def parse_moment(text: str, *, option: str, end_of_day: bool = False) -> datetime:
    """Return the instant text names, in UTC. A date alone means its start (00:00 UTC), or with
    end_of_day the start of the next day, so that `--until 2026-11-28` includes that day. A
    time without an offset is taken as UTC. Raises BadParameter naming the option."""
    value = text.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            moment = datetime.combine(day, time(0), tzinfo=UTC)
            return moment + timedelta(days=1) if end_of_day else moment
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a date or time; write 2026-11-28 or 2026-11-28T12:00:00+01:00",
            param_hint=option,
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
