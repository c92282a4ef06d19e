"""The CERT's daily digest of incident deadlines: every regulatory clock and service target of a
case that is overdue or due soon, and every overdue task, mailed once a day to the CERT's own
address (signed with the CERT's key through the notice machinery's protector and transport).

It is for the CERT's staff: it names cases by reference, title and TLP, never a journal entry,
so nothing internal is in it beyond what the console's case list shows.

Once a day: the digest of a day (in the notices' time zone) is recorded in the audit log
(`case.deadline_digest`, entity id the day) after the transport took it, and a pass that finds
that record sends nothing. The one window, a message handed over but the process killed before
the record was committed, sends it again under the same Message-ID (derived from the day),
which receiving systems use to drop the duplicate, as the outbox does. Two serving processes
passing at the same instant send it once: the second waits for the first's transaction (an
advisory lock on PostgreSQL, the write lock on SQLite) and then finds the record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from hashlib import blake2b
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, text
from sqlalchemy.orm import Session

from vardeild.access.model import Action, Principal, authorize
from vardeild.audit.model import AuditFilter
from vardeild.audit.service import list_entries, record_change
from vardeild.core.clock import Clock, as_utc
from vardeild.core.tlp import Tlp
from vardeild.incidents.deadlines import DeadlinePolicy, compute_deadlines
from vardeild.incidents.model import CaseStatus, reference
from vardeild.incidents.service import case_times
from vardeild.incidents.tables import CaseRow, TaskRow
from vardeild.notify.message import build_message
from vardeild.notify.ports import MailTransport, MessageProtector
from vardeild.notify.rendering import RenderedNotice

AUDIT_ACTION = "case.deadline_digest"
# The key of a PostgreSQL advisory lock (eight ASCII bytes, a positive bigint): one sender of the
# day's digest at a time across every serving process.
_SENDER_LOCK = int.from_bytes(b"vdddgst1", "big")

_KIND_TEXT = {
    "early_warning": "early warning (regulatory)",
    "notification": "notification (regulatory)",
    "final_report": "final report (regulatory)",
    "acknowledge": "acknowledge (service target)",
    "resolve": "resolve (service target)",
}


@dataclass(frozen=True)
class DigestConfig:
    """What the deadline digest needs from the settings."""

    recipient: str  # the CERT's own address
    sender: str
    sender_name: str
    reply_to: str
    zone: ZoneInfo
    hour: int  # local hour from which the day's digest goes out; -1: never
    within: timedelta = timedelta(hours=24)
    policy: DeadlinePolicy = field(default_factory=DeadlinePolicy)


@dataclass(frozen=True)
class DigestItem:
    """One line of the digest: a case's deadline, or a task (kind `task`)."""

    case_id: int
    case_title: str
    tlp: Tlp
    kind: str
    due_at: datetime
    overdue: bool
    regulatory: bool = False
    task: str = ""
    owner: str = ""


def collect_deadline_items(
    session: Session, principal: Principal, *, policy: DeadlinePolicy, now: datetime,
    within: timedelta,
) -> list[DigestItem]:  # fmt: skip
    """Return the deadlines not met that are overdue or due within `within`, and the overdue
    tasks of open cases: regulatory first, then soonest first. PermissionDenied for members."""
    authorize(principal, Action.LIST_ALL)
    open_statuses = [s.value for s in CaseStatus if s.is_open]
    items: list[DigestItem] = []
    rows = session.scalars(
        select(CaseRow)
        .where(or_(CaseRow.status.in_(open_statuses), CaseRow.significant.is_(True)))
        .order_by(CaseRow.id)
    )
    for row in rows:
        for deadline in compute_deadlines(case_times(row), policy, now=now):
            if deadline.met_at is not None or deadline.due_at - now > within:
                continue
            items.append(
                DigestItem(
                    case_id=row.id,
                    case_title=row.title,
                    tlp=Tlp(row.tlp),
                    kind=deadline.kind.value,
                    due_at=deadline.due_at,
                    overdue=deadline.overdue,
                    regulatory=deadline.regulatory,
                )
            )
    tasks = session.execute(
        select(TaskRow, CaseRow)
        .join(CaseRow, CaseRow.id == TaskRow.case_id)
        .where(
            TaskRow.done_at.is_(None),
            TaskRow.due_at.is_not(None),
            TaskRow.due_at < now,
            CaseRow.status.in_(open_statuses),
        )
        .order_by(TaskRow.id)
    )
    for task, case in tasks:
        assert task.due_at is not None
        items.append(
            DigestItem(
                case_id=case.id,
                case_title=case.title,
                tlp=Tlp(case.tlp),
                kind="task",
                due_at=as_utc(task.due_at),
                overdue=True,
                task=task.title,
                owner=task.owner,
            )
        )
    return sorted(items, key=lambda i: (not i.regulatory, i.due_at, i.case_id))


def digest_day(now: datetime, zone: ZoneInfo) -> date:
    """Return the local day a digest made at now belongs to."""
    return now.astimezone(zone).date()


def render_deadline_digest(
    items: list[DigestItem], *, day: date, now: datetime, zone: ZoneInfo, cert_name: str
) -> RenderedNotice:
    """Return the digest's subject and text; it carries the most restrictive TLP of its cases."""
    tlp = max((i.tlp for i in items), key=lambda t: t.rank, default=Tlp.AMBER)
    overdue = sum(1 for i in items if i.overdue)

    def when(moment: datetime) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")

    def left(item: DigestItem) -> str:
        hours = abs(item.due_at - now).total_seconds() / 3600
        return f"{hours:.0f} h overdue" if item.overdue else f"due in {hours:.0f} h"

    lines = [
        f"TLP:{tlp.value.upper()} - for {cert_name}'s staff only.",
        "",
        f"Incident deadlines on {day.isoformat()}: {overdue} overdue, "
        f"{len(items) - overdue} due soon.",
    ]
    deadlines = [i for i in items if i.kind != "task"]
    tasks = [i for i in items if i.kind == "task"]
    for heading, part in (("Deadlines", deadlines), ("Overdue tasks", tasks)):
        if not part:
            continue
        lines += ["", f"{heading}:"]
        for item in part:
            what = f"task {item.task!r} (owner {item.owner or 'none'})"
            if item.kind != "task":
                what = _KIND_TEXT.get(item.kind, item.kind)
            lines.append(
                f"- [{reference(item.case_id)}] {item.case_title} (TLP:{item.tlp.value.upper()}): "
                f"{what}, due {when(item.due_at)}, {left(item)}"
            )
    lines += ["", "`vardeild cases list --overdue` and the console's case list show them too."]
    subject = f"[{cert_name}] Incident deadlines {day.isoformat()}: {overdue} overdue"
    return RenderedNotice(subject=subject, body="\n".join(lines) + "\n")


def digest_sent(session: Session, day: date) -> bool:
    """Return True if the digest of day was sent already."""
    _, total = list_entries(
        session, filters=AuditFilter(action=AUDIT_ACTION, entity_id=day.isoformat()), limit=1
    )
    return total > 0


def _one_sender_at_a_time(session: Session) -> None:
    """Hold the digest's lock until this transaction ends, so that a second serving process
    waits here for the first to send and record the day's digest, and then finds it sent;
    without it, two processes passing at the same instant both found it unsent and both sent.
    On SQLite every transaction holds the write lock from its start (BEGIN IMMEDIATE), which
    orders them already."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SENDER_LOCK})


def _message_id(day: date, sender: str) -> str:
    digest = blake2b(f"deadline-digest\x1f{day.isoformat()}".encode(), digest_size=8).hexdigest()
    return f"<vardeild.deadlines.{day.isoformat()}.{digest}@{sender.rpartition('@')[2]}>"


def send_deadline_digest(
    session: Session,
    principal: Principal,
    *,
    clock: Clock,
    config: DigestConfig,
    transport: MailTransport | None,
    protector: MessageProtector | None,
    dry_run: bool = False,
    scheduled: bool = True,
) -> dict[str, Any]:
    """Send today's deadline digest to the CERT unless it was sent today; return what was done
    (`status`: sent, sent_already, nothing_due, not_yet, off, dry_run) with the items and the
    text. scheduled: honour the digest hour (the periodic pass); the command sends at any hour.
    dry_run: sends and records nothing. Transport errors propagate (the next pass tries again)."""
    authorize(principal, Action.LIST_ALL)
    now = clock.now()
    day = digest_day(now, config.zone)
    answer: dict[str, Any] = {"day": day.isoformat(), "to": config.recipient, "items": 0}
    if scheduled and (config.hour < 0 or now.astimezone(config.zone).hour < config.hour):
        return {**answer, "status": "off" if config.hour < 0 else "not_yet"}
    if not dry_run:
        _one_sender_at_a_time(session)
        if digest_sent(session, day):
            return {**answer, "status": "sent_already"}
    items = collect_deadline_items(
        session, principal, policy=config.policy, now=now, within=config.within
    )
    answer["items"] = len(items)
    answer["overdue"] = sum(1 for i in items if i.overdue)
    if not items:
        # Nothing to say is not recorded: a deadline that comes due later today still gets
        # its digest on a later pass.
        return {**answer, "status": "nothing_due"}
    rendered = render_deadline_digest(
        items, day=day, now=now, zone=config.zone, cert_name=config.sender_name
    )
    answer["subject"], answer["text"] = rendered.subject, rendered.body
    if dry_run:
        return {**answer, "status": "dry_run"}
    if transport is None or protector is None:
        raise ValueError("sending the deadline digest needs a transport and a protector")
    message = build_message(
        rendered,
        sender=config.sender,
        sender_name=config.sender_name,
        recipient=config.recipient,
        recipient_name=config.sender_name,
        reply_to=config.reply_to,
        message_id=_message_id(day, config.sender),
        at=now,
    )
    server = transport.send(
        protector.protect(message, recipient_keys=[]),
        sender=config.sender,
        recipients=[config.recipient],
    )
    record_change(
        session, clock=clock, actor=principal.actor, action=AUDIT_ACTION,
        entity_type="deadline_digest", entity_id=day.isoformat(), organisation_id=None,
        before=None, after={"to": config.recipient, "items": len(items),
                            "overdue": answer["overdue"]},
        note=server,
    )  # fmt: skip
    return {**answer, "status": "sent"}
