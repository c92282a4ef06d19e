"""Regulatory clocks and service targets, computed with a controllable clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vardeild.core.clock import FixedClock
from vardeild.incidents.deadlines import (
    CaseTimes,
    DeadlineKind,
    DeadlinePolicy,
    add_months,
    compute_deadlines,
    is_overdue,
)
from vardeild.incidents.model import CaseStatus
from vardeild.monitoring.model import Severity

OPENED = datetime(2026, 1, 30, 9, 0, tzinfo=UTC)


def by_kind(times: CaseTimes, clock: FixedClock, policy: DeadlinePolicy | None = None) -> dict:
    found = compute_deadlines(times, policy or DeadlinePolicy(), now=clock.now())
    return {d.kind: d for d in found}


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (datetime(2026, 1, 31, 10, tzinfo=UTC), 1, datetime(2026, 2, 28, 10, tzinfo=UTC)),
        (datetime(2028, 1, 31, 10, tzinfo=UTC), 1, datetime(2028, 2, 29, 10, tzinfo=UTC)),
        (datetime(2026, 3, 31, 10, tzinfo=UTC), 1, datetime(2026, 4, 30, 10, tzinfo=UTC)),
        (datetime(2026, 12, 15, 10, tzinfo=UTC), 1, datetime(2027, 1, 15, 10, tzinfo=UTC)),
        (datetime(2026, 11, 30, 10, tzinfo=UTC), 3, datetime(2027, 2, 28, 10, tzinfo=UTC)),
        (datetime(2026, 5, 10, 10, tzinfo=UTC), 12, datetime(2027, 5, 10, 10, tzinfo=UTC)),
    ],
)
def test_month_arithmetic_ends_on_the_last_day_of_a_short_month(
    start: datetime, months: int, expected: datetime
) -> None:
    assert add_months(start, months) == expected


def test_the_regulatory_clocks_of_a_significant_incident() -> None:
    clock = FixedClock(OPENED)
    times = CaseTimes(CaseStatus.TRIAGE, Severity.HIGH, OPENED, significant=True, aware_at=OPENED)
    found = by_kind(times, clock)
    assert found[DeadlineKind.EARLY_WARNING].due_at == OPENED + timedelta(hours=24)
    assert found[DeadlineKind.NOTIFICATION].due_at == OPENED + timedelta(hours=72)
    # One month after the notification's deadline while none is made: 2 Feb -> 2 Mar.
    assert found[DeadlineKind.FINAL_REPORT].due_at == datetime(2026, 3, 2, 9, tzinfo=UTC)
    assert not is_overdue(list(found.values()))

    clock.advance(timedelta(hours=24, seconds=1))
    found = by_kind(times, clock)
    assert found[DeadlineKind.EARLY_WARNING].overdue
    assert not found[DeadlineKind.NOTIFICATION].overdue

    made = CaseTimes(
        CaseStatus.IN_PROGRESS, Severity.HIGH, OPENED, significant=True, aware_at=OPENED,
        acknowledged_at=OPENED + timedelta(minutes=30),
        early_warning_at=OPENED + timedelta(hours=20),
        notification_at=datetime(2026, 1, 31, 8, tzinfo=UTC),
    )  # fmt: skip
    found = by_kind(made, clock)
    assert not found[DeadlineKind.EARLY_WARNING].overdue
    assert found[DeadlineKind.EARLY_WARNING].met_at == OPENED + timedelta(hours=20)
    # Final report: one month after the notification as made, 31 Jan -> 28 Feb.
    assert found[DeadlineKind.FINAL_REPORT].due_at == datetime(2026, 2, 28, 8, tzinfo=UTC)
    clock.advance(timedelta(days=40))
    assert by_kind(made, clock)[DeadlineKind.FINAL_REPORT].overdue


def test_clocks_are_configurable() -> None:
    clock = FixedClock(OPENED)
    policy = DeadlinePolicy(early_warning_hours=6, notification_hours=48, final_report_months=2)
    times = CaseTimes(CaseStatus.NEW, Severity.LOW, OPENED, significant=True)
    found = by_kind(times, clock, policy)
    assert found[DeadlineKind.EARLY_WARNING].due_at == OPENED + timedelta(hours=6)
    assert found[DeadlineKind.NOTIFICATION].due_at == OPENED + timedelta(hours=48)
    assert found[DeadlineKind.FINAL_REPORT].due_at == datetime(2026, 4, 1, 9, tzinfo=UTC)


def test_no_regulatory_clocks_for_an_ordinary_case() -> None:
    found = by_kind(CaseTimes(CaseStatus.NEW, Severity.HIGH, OPENED), FixedClock(OPENED))
    assert set(found) == {DeadlineKind.ACKNOWLEDGE, DeadlineKind.RESOLVE}


@pytest.mark.parametrize(
    ("severity", "hours"), [(Severity.CRITICAL, 1), (Severity.HIGH, 4), (Severity.MEDIUM, 24)]
)
def test_service_targets_per_severity(severity: Severity, hours: int) -> None:
    clock = FixedClock(OPENED)
    times = CaseTimes(CaseStatus.NEW, severity, OPENED)
    ack = by_kind(times, clock)[DeadlineKind.ACKNOWLEDGE]
    assert ack.due_at == OPENED + timedelta(hours=hours)
    clock.advance(timedelta(hours=hours))
    assert not by_kind(times, clock)[DeadlineKind.ACKNOWLEDGE].overdue  # due is not past
    clock.advance(timedelta(seconds=1))
    assert by_kind(times, clock)[DeadlineKind.ACKNOWLEDGE].overdue
    acknowledged = CaseTimes(CaseStatus.TRIAGE, severity, OPENED, acknowledged_at=clock.now())
    assert not by_kind(acknowledged, clock)[DeadlineKind.ACKNOWLEDGE].overdue


def test_a_target_of_zero_hours_is_no_target_and_rejected_cases_have_none() -> None:
    clock = FixedClock(OPENED + timedelta(days=400))
    policy = DeadlinePolicy(acknowledge_hours={"high": 0}, resolve_hours={})
    assert by_kind(CaseTimes(CaseStatus.NEW, Severity.HIGH, OPENED), clock, policy) == {}
    rejected = CaseTimes(CaseStatus.REJECTED, Severity.HIGH, OPENED)
    assert by_kind(rejected, clock) == {}
