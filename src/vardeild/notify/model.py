"""Notices, notice policies and the rules that decide when and to whom a notice goes.

Pure: no I/O. Times are timezone-aware; the policy's times of day are read in the CERT's
time zone (setting notify_timezone), because members read "08:00" as their own morning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from vardeild.core.errors import FieldProblem, ValidationFailed, VardeildError
from vardeild.core.tlp import Tlp
from vardeild.members.model import ContactRole, Language
from vardeild.monitoring.model import Severity


class NoticeKind(StrEnum):
    """What a notice is about; each kind has its own templates."""

    ALERT = "alert"  # the monitoring pipeline saw something at the member
    MESSAGE = "message"  # free text from the CERT
    DIGEST = "digest"  # several notices held for a set time, sent as one
    CASE_UPDATE = "case_update"  # a coordinated update on an incident case the member is in


class NoticeStatus(StrEnum):
    """Where a notice stands."""

    PENDING = "pending"  # waiting for its time: a digest, the end of quiet hours, the cap
    QUEUED = "queued"  # deliveries made, being sent
    SENT = "sent"  # every delivery sent
    FAILED = "failed"  # at least one delivery failed for good (see its delivery log)
    DIGESTED = "digested"  # folded into the digest notice digest_id
    NO_RECIPIENTS = "no_recipients"  # the member has no contact with a role that receives it


class DeliveryStatus(StrEnum):
    """Where one recipient's copy of a notice stands."""

    QUEUED = "queued"
    SENDING = "sending"  # claimed by a sender; taken again when its lease runs out
    DEFERRED = "deferred"  # a temporary failure; tried again at next_attempt_at
    SENT = "sent"
    FAILED = "failed"  # refused for good or out of attempts; `notify retry` queues it again


class Protection(StrEnum):
    """How a delivery was protected."""

    ENCRYPTED = "encrypted"  # signed and encrypted to the recipient's key
    SIGNED = "signed"  # signed only (the recipient has no usable key)
    PORTAL_NOTE = "portal_note"  # encryption required but no usable key: only a pointer sent


class Schedule(StrEnum):
    """When a member's notices go out."""

    IMMEDIATE = "immediate"
    HOURLY = "hourly"
    DAILY = "daily"


class DeliveryRejected(VardeildError):
    """The mail server refused the message for good (5xx) or the message cannot be sent."""

    def __init__(self, answer: str) -> None:
        super().__init__(answer)
        self.answer = answer


class DeliveryDeferred(VardeildError):
    """The mail server could not be reached or answered 4xx: try again later."""

    def __init__(self, answer: str) -> None:
        super().__init__(answer)
        self.answer = answer


DEFAULT_RECIPIENTS: dict[NoticeKind, tuple[ContactRole, ...]] = {
    NoticeKind.ALERT: (ContactRole.SECURITY, ContactRole.ABUSE, ContactRole.ON_CALL),
    NoticeKind.MESSAGE: (ContactRole.SECURITY, ContactRole.MANAGEMENT),
    NoticeKind.DIGEST: (ContactRole.SECURITY, ContactRole.ABUSE, ContactRole.ON_CALL),
    NoticeKind.CASE_UPDATE: (ContactRole.SECURITY, ContactRole.ON_CALL),
}


@dataclass(frozen=True)
class NoticePolicy:
    """How one member wants to be told: who, what, when, in which language, how protected."""

    recipients: dict[NoticeKind, tuple[ContactRole, ...]] = field(
        default_factory=lambda: dict(DEFAULT_RECIPIENTS)
    )
    min_severity: Severity = Severity.MEDIUM  # alerts below it make no notice
    schedule: Schedule = Schedule.IMMEDIATE
    digest_times: tuple[time, ...] = (time(8, 0),)  # daily digests, local time
    business_days_only: bool = True  # digests only Monday-Friday, Norwegian holidays excepted
    immediate_from: Severity = Severity.CRITICAL  # sent at once even under a digest schedule
    quiet_start: time | None = None  # quiet hours: immediate notices wait until quiet_end...
    quiet_end: time | None = None  # ...unless at least immediate_from
    language: Language | None = None  # None: each contact's own language
    attachments: bool = True  # CSV and JSON of the events
    cap_per_hour: int = 20  # immediate notices per hour; the rest roll into the next digest
    require_encryption: bool = False  # no plaintext to a recipient without a usable key

    def roles_for(self, kind: NoticeKind) -> tuple[ContactRole, ...]:
        """Return the contact roles that receive notices of kind."""
        return self.recipients.get(kind, DEFAULT_RECIPIENTS[kind])


def policy_to_dict(policy: NoticePolicy) -> dict[str, Any]:
    """Return the policy as JSON-ready data (the form `parse_policy` reads)."""
    return {
        "recipients": {k.value: [r.value for r in v] for k, v in policy.recipients.items()},
        "min_severity": policy.min_severity.name.lower(),
        "schedule": policy.schedule.value,
        "digest_times": [t.strftime("%H:%M") for t in policy.digest_times],
        "business_days_only": policy.business_days_only,
        "immediate_from": policy.immediate_from.name.lower(),
        "quiet_start": policy.quiet_start.strftime("%H:%M") if policy.quiet_start else None,
        "quiet_end": policy.quiet_end.strftime("%H:%M") if policy.quiet_end else None,
        "language": policy.language.value if policy.language else None,
        "attachments": policy.attachments,
        "cap_per_hour": policy.cap_per_hour,
        "require_encryption": policy.require_encryption,
    }


_TIME = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


def parse_policy(
    data: dict[str, Any], *, base: NoticePolicy | None = None, record: str = "policy"
) -> NoticePolicy:
    """Return base (default: the default policy) with the fields data gives changed. Raises
    ValidationFailed naming every bad field."""
    policy = base or NoticePolicy()
    problems: list[FieldProblem] = []
    changes: dict[str, Any] = {}

    def bad(name: str, message: str) -> None:
        problems.append(FieldProblem(record, name, message))

    def a_time(name: str, value: Any) -> time | None:
        if not isinstance(value, str) or not _TIME.fullmatch(value.strip()):
            bad(name, f"{value!r} is not a time of day; write HH:MM, e.g. 08:00")
            return None
        hour, minute = value.strip().split(":")
        return time(int(hour), int(minute))

    def a_severity(name: str, value: Any) -> Severity | None:
        try:
            return Severity[str(value).strip().upper()]
        except KeyError:
            bad(name, f"{value!r} is not one of info, low, medium, high, critical")
            return None

    known = set(policy_to_dict(policy))
    for name in sorted(set(data) - known):
        bad(name, f"is not a policy field; the fields are {', '.join(sorted(known))}")
    for name, value in data.items():
        if name == "recipients":
            if not isinstance(value, dict):
                bad(name, "must map notice kinds (alert, message, digest) to lists of roles")
                continue
            recipients = dict(policy.recipients)
            for kind_text, roles in value.items():
                try:
                    kind = NoticeKind(kind_text)
                    recipients[kind] = tuple(ContactRole(r) for r in roles)
                except (ValueError, TypeError):
                    roles_known = ", ".join(r.value for r in ContactRole)
                    bad(
                        f"recipients.{kind_text}",
                        f"needs a notice kind (alert, message, digest) and roles of {roles_known}",
                    )
            changes[name] = recipients
        elif name in ("min_severity", "immediate_from"):
            level = a_severity(name, value)
            if level is not None:
                changes[name] = level
        elif name == "schedule":
            try:
                changes[name] = Schedule(value)
            except ValueError:
                bad(name, f"{value!r} is not one of immediate, hourly, daily")
        elif name == "digest_times":
            if not isinstance(value, list) or not value:
                bad(name, "must be a non-empty list of HH:MM times")
                continue
            times = [a_time(f"{name}[{i}]", v) for i, v in enumerate(value)]
            changes[name] = tuple(sorted({t for t in times if t is not None}))
        elif name in ("quiet_start", "quiet_end"):
            changes[name] = None if value in (None, "") else a_time(name, value)
        elif name == "language":
            try:
                changes[name] = None if value in (None, "") else Language(value)
            except ValueError:
                bad(name, f"{value!r} is not one of nb, en (or empty for each contact's own)")
        elif name in ("business_days_only", "attachments", "require_encryption"):
            if not isinstance(value, bool):
                bad(name, "must be true or false")
            else:
                changes[name] = value
        elif name == "cap_per_hour":
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1000:
                bad(name, "must be a whole number from 1 to 1000")
            else:
                changes[name] = value
    result = replace(policy, **changes) if not problems else policy
    if not problems and (result.quiet_start is None) != (result.quiet_end is None):
        bad("quiet_start", "quiet hours need both quiet_start and quiet_end (or neither)")
    if problems:
        raise ValidationFailed(problems)
    return result


# --- when ----------------------------------------------------------------------------------


def easter_sunday(year: int) -> date:
    """Return Easter Sunday of year (the Gregorian computus, Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month = (h + l_ - 7 * m + 114) // 31
    day = (h + l_ - 7 * m + 114) % 31 + 1
    return date(year, month, day)


def norwegian_holidays(year: int) -> frozenset[date]:
    """Return Norway's public holidays (helligdager and 1 and 17 May) in year."""
    easter = easter_sunday(year)
    moving = (-3, -2, 0, 1, 39, 49, 50)  # Maundy Thursday .. Whit Monday
    fixed = (date(year, 1, 1), date(year, 5, 1), date(year, 5, 17), date(year, 12, 25))
    return frozenset(
        {easter + timedelta(days=n) for n in moving} | set(fixed) | {date(year, 12, 26)}
    )


def is_business_day(day: date) -> bool:
    """Return True for Monday to Friday that is no Norwegian public holiday."""
    return day.weekday() < 5 and day not in norwegian_holidays(day.year)


def next_digest_at(policy: NoticePolicy, after: datetime, zone: ZoneInfo) -> datetime:
    """Return the first digest time strictly after `after` (UTC): the next full hour for an
    hourly (or immediate) schedule, the next of digest_times for a daily one; under
    business_days_only, on business days only."""
    local = after.astimezone(zone)
    candidates: list[datetime] = []
    for offset in range(0, 15):  # two weeks covers Easter and Christmas runs of holidays
        day = local.date() + timedelta(days=offset)
        digest_schedule = policy.schedule is not Schedule.IMMEDIATE
        if policy.business_days_only and digest_schedule and not is_business_day(day):
            continue
        if policy.schedule is Schedule.DAILY:
            slots = [datetime.combine(day, t, zone) for t in policy.digest_times]
        else:
            slots = [datetime.combine(day, time(h), zone) for h in range(24)]
        candidates = [s for s in slots if s > local]
        if candidates:
            return min(candidates).astimezone(UTC)
    raise ValueError("no digest time within two weeks; check the policy's digest_times")


def in_quiet_hours(policy: NoticePolicy, at: datetime, zone: ZoneInfo) -> datetime | None:
    """Return when quiet hours end (UTC) if `at` falls inside them, else None."""
    if policy.quiet_start is None or policy.quiet_end is None:
        return None
    local = at.astimezone(zone)
    start, end, now = policy.quiet_start, policy.quiet_end, local.time()
    # Quiet hours may run across midnight, e.g. 22:00-07:00.
    inside = start <= now < end if start <= end else now >= start or now < end
    if not inside:
        return None
    end_day = local.date() if now < end else local.date() + timedelta(days=1)
    return datetime.combine(end_day, end, zone).astimezone(UTC)


@dataclass(frozen=True)
class Timing:
    """When a new notice goes out, and why it waits if it does."""

    due_at: datetime
    into_digest: bool
    reason: str


def timing_for(
    policy: NoticePolicy,
    severity: Severity,
    *,
    now: datetime,
    zone: ZoneInfo,
    sent_last_hour: int,
) -> Timing:
    """Return when a notice of this severity goes out under policy: at once, at the end of
    quiet hours, or in the next digest (digest schedule, or the hourly cap reached)."""
    urgent = severity >= policy.immediate_from
    if policy.schedule is not Schedule.IMMEDIATE and not urgent:
        return Timing(next_digest_at(policy, now, zone), True, f"{policy.schedule.value} digest")
    if sent_last_hour >= policy.cap_per_hour:
        return Timing(
            next_digest_at(
                replace(policy, schedule=Schedule.HOURLY, business_days_only=False), now, zone
            ),
            True,
            f"cap of {policy.cap_per_hour} notices per hour reached",
        )
    quiet_until = None if urgent else in_quiet_hours(policy, now, zone)
    if quiet_until is not None:
        return Timing(quiet_until, False, "quiet hours")
    return Timing(now, False, "immediate")


def retry_delay(attempts: int, *, base_seconds: float, max_seconds: float) -> timedelta:
    """Return how long to wait after the attempts-th failed attempt: base doubled each time,
    at most max_seconds."""
    return timedelta(seconds=min(max_seconds, base_seconds * 2 ** max(0, attempts - 1)))


# --- addresses ---------------------------------------------------------------------------

_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")


def check_address(address: str, *, record: str = "recipient") -> str:
    """Return address if it is a plain e-mail address safe to put in a header; raise
    ValidationFailed naming it otherwise (line breaks, commas, angle brackets: header
    injection)."""
    if any(ch in address for ch in "\r\n\0") or not _ADDRESS.fullmatch(address):
        raise ValidationFailed.one(
            record,
            "email",
            f"{address!r} is not a plain e-mail address (line breaks, spaces, commas and angle "
            "brackets are refused); correct the contact in the member registry",
        )
    return address


def header_text(text: str, *, limit: int = 200) -> str:
    """Return text fit for a header: control characters and line breaks made spaces,
    whitespace collapsed, at most limit characters."""
    cleaned = "".join(" " if ord(ch) < 32 or ord(ch) == 127 else ch for ch in text)
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


_REFERENCE = re.compile(r"\[\s*VARDEILD-N\s*#\s*(\d{1,10})\s*\]", re.IGNORECASE)


def parse_reference(text: str) -> int | None:
    """Return the notice id of the first `[VARDEILD-N#<id>]` in text (a reply's subject), or
    None."""
    found = _REFERENCE.search(text)
    if found is None:
        return None
    value = int(found.group(1))
    return value if 0 < value <= 2_147_483_647 else None


def reference(notice_id: int) -> str:
    """Return a notice's reference as subjects and replies carry it: `[VARDEILD-N#<id>]`,
    apart from a case's `[VARDEILD#<id>]` (incidents.model.reference), so that a reply to a
    notice is never threaded onto the case that happens to have the notice's number."""
    return f"[VARDEILD-N#{notice_id}]"


def tlp_label(tlp: Tlp) -> str:
    """Return the TLP label as FIRST writes it in text: `TLP:AMBER+STRICT`."""
    return f"TLP:{tlp.value}"
