"""Deadlines of a case: the regulatory reporting clocks of a significant incident and the
CERT's own service targets per severity. Pure: computed from the case's times and a clock.

Regulatory clocks (as NIS2 article 23 and the Norwegian digital security act set them; the
hours are settings): an early warning within 24 hours of becoming aware of a significant
incident, a notification within 72 hours, and a final report within one month of the
notification (of the notification as made, or, while it is not made, of its deadline).
Service targets: acknowledge (leave `new`) and resolve within hours set per severity.

A deadline is met when its time is recorded; overdue when not met and the clock has passed it.
A case that is rejected or merged has no service targets left; a case that is not significant
has no regulatory clocks.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from vardeild.incidents.model import CaseStatus
from vardeild.monitoring.model import Severity


class DeadlineKind(StrEnum):
    """The deadlines a case can have."""

    EARLY_WARNING = "early_warning"
    NOTIFICATION = "notification"
    FINAL_REPORT = "final_report"
    ACKNOWLEDGE = "acknowledge"  # service target: someone looked at it
    RESOLVE = "resolve"  # service target: handled

    @property
    def regulatory(self) -> bool:
        """Return True for the reporting clocks of a significant incident."""
        return self in _REGULATORY


_REGULATORY = frozenset(
    {DeadlineKind.EARLY_WARNING, DeadlineKind.NOTIFICATION, DeadlineKind.FINAL_REPORT}
)

DEFAULT_ACKNOWLEDGE_HOURS: dict[str, float] = {
    "critical": 1,
    "high": 4,
    "medium": 24,
    "low": 72,
    "info": 168,
}
DEFAULT_RESOLVE_HOURS: dict[str, float] = {
    "critical": 24,
    "high": 72,
    "medium": 240,
    "low": 720,
    "info": 2160,
}


@dataclass(frozen=True)
class DeadlinePolicy:
    """The lengths of every clock (from the settings)."""

    early_warning_hours: float = 24
    notification_hours: float = 72
    final_report_months: int = 1
    acknowledge_hours: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_ACKNOWLEDGE_HOURS)
    )
    resolve_hours: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_RESOLVE_HOURS))

    def target_hours(self, kind: DeadlineKind, severity: Severity) -> float | None:
        """Return the service target in hours for severity (None: no target set)."""
        table = self.acknowledge_hours if kind is DeadlineKind.ACKNOWLEDGE else self.resolve_hours
        hours = table.get(severity.name.lower())
        return None if hours is None or hours <= 0 else float(hours)


@dataclass(frozen=True)
class CaseTimes:
    """What the deadlines of one case are computed from."""

    status: CaseStatus
    severity: Severity
    opened_at: datetime
    significant: bool = False
    aware_at: datetime | None = None  # when the CERT became aware of a significant incident
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    early_warning_at: datetime | None = None  # when each report was made
    notification_at: datetime | None = None
    final_report_at: datetime | None = None


@dataclass(frozen=True)
class Deadline:
    """One clock of a case."""

    kind: DeadlineKind
    due_at: datetime
    met_at: datetime | None
    overdue: bool

    @property
    def regulatory(self) -> bool:
        """Return True for a reporting clock."""
        return self.kind.regulatory

    def left(self, now: datetime) -> timedelta:
        """Return the time until the deadline (negative once passed)."""
        return self.due_at - now


def parse_severity_hours(text: str) -> dict[str, float]:
    """Return `critical=1,high=4` as {"critical": 1.0, "high": 4.0}; ValueError naming a bad
    part (an unknown severity or a number that is none)."""
    found: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, _, hours = (x.strip() for x in part.partition("="))
        if name.upper() not in Severity.__members__:
            raise ValueError(f"{part!r}: {name!r} is no severity (critical, high, medium, ...)")
        try:
            found[name.lower()] = float(hours)
        except ValueError:
            raise ValueError(f"{part!r}: {hours!r} is not a number of hours") from None
    return found


def add_months(moment: datetime, months: int) -> datetime:
    """Return moment months later, on the same day of the month or, where that month is
    shorter, on its last day (31 January + 1 month = 28 or 29 February)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _deadline(kind: DeadlineKind, due: datetime, met: datetime | None, now: datetime) -> Deadline:
    return Deadline(kind=kind, due_at=due, met_at=met, overdue=met is None and now > due)


def compute_deadlines(times: CaseTimes, policy: DeadlinePolicy, *, now: datetime) -> list[Deadline]:
    """Return the case's deadlines, regulatory first, each with whether it is overdue at now."""
    found: list[Deadline] = []
    if times.significant:
        aware = times.aware_at or times.opened_at
        warning_due = aware + timedelta(hours=policy.early_warning_hours)
        notification_due = aware + timedelta(hours=policy.notification_hours)
        final_due = add_months(
            times.notification_at or notification_due, policy.final_report_months
        )
        found += [
            _deadline(DeadlineKind.EARLY_WARNING, warning_due, times.early_warning_at, now),
            _deadline(DeadlineKind.NOTIFICATION, notification_due, times.notification_at, now),
            _deadline(DeadlineKind.FINAL_REPORT, final_due, times.final_report_at, now),
        ]
    if times.status in (CaseStatus.REJECTED, CaseStatus.MERGED):
        return found
    for kind, met in (
        (DeadlineKind.ACKNOWLEDGE, times.acknowledged_at),
        (DeadlineKind.RESOLVE, times.resolved_at),
    ):
        hours = policy.target_hours(kind, times.severity)
        if hours is not None:
            found.append(_deadline(kind, times.opened_at + timedelta(hours=hours), met, now))
    return found


def is_overdue(deadlines: list[Deadline]) -> bool:
    """Return True if any deadline is overdue."""
    return any(d.overdue for d in deadlines)
