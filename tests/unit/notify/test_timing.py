"""When notices go out: digests on business days (Norwegian holidays), the hourly cap rolling
into the next digest, quiet hours, backoff; and addresses that could inject headers."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from vardeild.core.errors import ValidationFailed
from vardeild.monitoring.model import Severity
from vardeild.notify.model import (
    NoticePolicy,
    Schedule,
    check_address,
    header_text,
    is_business_day,
    next_digest_at,
    parse_policy,
    retry_delay,
    timing_for,
)

OSLO = ZoneInfo("Europe/Oslo")


def oslo(*args: int) -> datetime:
    return datetime(*args, tzinfo=OSLO).astimezone(UTC)


def test_norwegian_holidays_are_not_business_days() -> None:
    assert not is_business_day(date(2026, 4, 2))  # Maundy Thursday 2026
    assert not is_business_day(date(2026, 4, 6))  # Easter Monday
    assert not is_business_day(date(2026, 5, 14))  # Ascension Day
    assert not is_business_day(date(2026, 5, 25))  # Whit Monday
    assert not is_business_day(date(2026, 5, 1))
    assert is_business_day(date(2026, 12, 28)) is not False  # a Monday, an ordinary day
    assert is_business_day(date(2026, 4, 7))


def test_a_daily_digest_skips_weekends_and_holidays() -> None:
    policy = NoticePolicy(schedule=Schedule.DAILY, digest_times=(time(8), time(14)))
    # Friday 15:00 -> Monday 08:00
    assert next_digest_at(policy, oslo(2026, 11, 27, 15, 0), OSLO) == oslo(2026, 11, 30, 8, 0)
    # Wednesday before Easter, 14:30 -> Tuesday after Easter Monday
    assert next_digest_at(policy, oslo(2026, 4, 1, 14, 30), OSLO) == oslo(2026, 4, 7, 8, 0)
    # the same day's second time
    assert next_digest_at(policy, oslo(2026, 11, 30, 9, 0), OSLO) == oslo(2026, 11, 30, 14, 0)
    every_day = NoticePolicy(schedule=Schedule.DAILY, business_days_only=False)
    assert next_digest_at(every_day, oslo(2026, 11, 27, 15, 0), OSLO) == oslo(2026, 11, 28, 8, 0)


def test_under_a_digest_schedule_only_urgent_notices_go_at_once() -> None:
    policy = NoticePolicy(schedule=Schedule.HOURLY, business_days_only=False)
    now = oslo(2026, 11, 28, 10, 20)
    held = timing_for(policy, Severity.HIGH, now=now, zone=OSLO, sent_last_hour=0)
    assert held.into_digest
    assert held.due_at == oslo(2026, 11, 28, 11, 0)
    urgent = timing_for(policy, Severity.CRITICAL, now=now, zone=OSLO, sent_last_hour=0)
    assert (urgent.into_digest, urgent.due_at) == (False, now)


def test_beyond_the_cap_notices_roll_into_the_next_digest() -> None:
    policy = NoticePolicy(cap_per_hour=3)
    now = oslo(2026, 11, 28, 10, 20)
    under = timing_for(policy, Severity.HIGH, now=now, zone=OSLO, sent_last_hour=2)
    assert (under.into_digest, under.due_at) == (False, now)
    over = timing_for(policy, Severity.CRITICAL, now=now, zone=OSLO, sent_last_hour=3)
    assert over.into_digest
    assert over.due_at == oslo(2026, 11, 28, 11, 0)
    assert "cap of 3" in over.reason


def test_quiet_hours_hold_all_but_urgent_notices_until_they_end() -> None:
    policy = NoticePolicy(quiet_start=time(22), quiet_end=time(7))
    night = oslo(2026, 11, 28, 23, 30)
    held = timing_for(policy, Severity.HIGH, now=night, zone=OSLO, sent_last_hour=0)
    assert (held.into_digest, held.due_at) == (False, oslo(2026, 11, 29, 7, 0))
    early = timing_for(
        policy, Severity.HIGH, now=oslo(2026, 11, 29, 6, 0), zone=OSLO, sent_last_hour=0
    )
    assert early.due_at == oslo(2026, 11, 29, 7, 0)
    urgent = timing_for(policy, Severity.CRITICAL, now=night, zone=OSLO, sent_last_hour=0)
    assert urgent.due_at == night
    day = oslo(2026, 11, 29, 12, 0)
    assert timing_for(policy, Severity.HIGH, now=day, zone=OSLO, sent_last_hour=0).due_at == day


def test_backoff_doubles_up_to_its_limit() -> None:
    delays = [retry_delay(n, base_seconds=60, max_seconds=600) for n in range(1, 7)]
    assert delays == [timedelta(seconds=s) for s in (60, 120, 240, 480, 600, 600)]


@pytest.mark.parametrize(
    "address",
    [
        "ola@medlem.example\r\nBcc: alle@example.org",
        "ola@medlem.example\nSubject: x",
        "Ola <ola@medlem.example>",
        "ola@medlem.example, kari@medlem.example",
        "ola medlem@example.org",
    ],
)
def test_addresses_that_could_inject_headers_are_refused(address: str) -> None:
    with pytest.raises(ValidationFailed, match="not a plain e-mail address"):
        check_address(address)


def test_header_text_has_no_line_breaks() -> None:
    assert header_text("Alarm\r\nBcc: alle@example.org") == "Alarm Bcc: alle@example.org"


def test_a_policy_names_every_bad_field() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_policy(
            {"schedule": "weekly", "digest_times": ["25:00"], "cap_per_hour": 0, "colour": "red"}
        )
    fields = {p.field for p in caught.value.problems}
    assert fields == {"schedule", "digest_times[0]", "cap_per_hour", "colour"}
    policy = parse_policy({"schedule": "daily", "digest_times": ["14:00", "08:00"]})
    assert policy.digest_times == (time(8), time(14))
