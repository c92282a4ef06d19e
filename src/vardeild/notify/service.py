"""The use cases of notices: policies, queueing (exactly once per source key), releasing into
the outbox when due, digests, reading, acknowledging, retrying, the CERT's key tasks.

Every function takes the session (the unit of work, committed by the caller) and the time;
queueing and digests are idempotent, so a pass that runs twice or dies half-way queues nothing
twice and loses nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from hashlib import blake2b
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vardeild.access.model import SYSTEM, Action, Principal, authorize
from vardeild.audit.service import record_change
from vardeild.core.clock import FixedClock, as_utc
from vardeild.core.errors import Conflict, NotFound, ValidationFailed
from vardeild.core.tlp import Tlp
from vardeild.members import service as members
from vardeild.members.model import ContactRole, Language
from vardeild.monitoring.model import Severity
from vardeild.notify.model import (
    DeliveryStatus,
    NoticeKind,
    NoticePolicy,
    NoticeStatus,
    check_address,
    parse_policy,
    policy_to_dict,
    reference,
    timing_for,
)
from vardeild.notify.rendering import Links, NoticeView, RenderedNotice, render_notice
from vardeild.notify.tables import (
    DeliveryLogRow,
    DeliveryRow,
    NoticePolicyRow,
    NoticeRow,
    NotifyTaskRow,
)


@dataclass(frozen=True)
class NotifyConfig:
    """What notices need from the settings."""

    zone: ZoneInfo
    default_tlp: Tlp
    public_url: str  # base of acknowledgement and portal links
    sender: str
    sender_name: str
    reply_to: str
    retry_base_seconds: float = 60.0
    retry_max_seconds: float = 6 * 3600.0
    max_attempts: int = 8
    lease_seconds: float = 300.0
    alert_lookback: timedelta = timedelta(days=3)

    def links(self, notice: NoticeRow) -> Links:
        """Return the links one notice's text carries."""
        base = self.public_url.rstrip("/")
        return Links(
            ack_url=f"{base}/api/v1/notices/ack/{notice.ack_token}",
            portal_url=f"{base}/api/v1/notices/{notice.id}",
            reply_to=self.reply_to,
            key_url=f"{base}/pgp-key.asc",
            cert_name=self.sender_name,
        )


# --- policies ------------------------------------------------------------------------------


def get_policy(session: Session, member_id: int) -> NoticePolicy:
    """Return the member's notice policy (the defaults if none is stored)."""
    row = session.scalar(select(NoticePolicyRow).where(NoticePolicyRow.member_id == member_id))
    return NoticePolicy() if row is None else parse_policy(row.policy)


def read_policy(session: Session, principal: Principal, member_id: int) -> dict[str, Any]:
    """Return the member's policy as data; NotFound for another member's or an unknown one."""
    authorize(principal, Action.READ, member_id)
    members.get_organisation_or_raise(session, principal, member_id)
    return {"organisation_id": member_id, **policy_to_dict(get_policy(session, member_id))}


def set_policy(
    session: Session,
    principal: Principal,
    member_id: int,
    changes: dict[str, Any],
    *,
    now: datetime,
) -> dict[str, Any]:
    """Change the fields of the member's policy that changes gives; return the whole policy.
    ValidationFailed names each bad field; only the CERT may change a policy."""
    authorize(principal, Action.EDIT, member_id)
    members.get_organisation_or_raise(session, principal, member_id)
    before = get_policy(session, member_id)
    after = parse_policy(changes, base=before, record=f"notice policy of {member_id}")
    row = session.scalar(select(NoticePolicyRow).where(NoticePolicyRow.member_id == member_id))
    if row is None:
        row = NoticePolicyRow(member_id=member_id)
        session.add(row)
    row.policy = policy_to_dict(after)
    row.updated_at = now
    row.updated_by = principal.actor
    record_change(
        session,
        clock=FixedClock(now),
        actor=principal.actor,
        action="update",
        entity_type="notice_policy",
        entity_id=member_id,
        organisation_id=member_id,
        before=policy_to_dict(before),
        after=row.policy,
    )
    return {"organisation_id": member_id, **row.policy}


# --- queueing ------------------------------------------------------------------------------


def queue_notice(
    session: Session,
    principal: Principal,
    *,
    member_id: int,
    kind: NoticeKind,
    title: str,
    severity: Severity,
    content: dict[str, Any],
    source_key: str,
    config: NotifyConfig,
    now: datetime,
    tlp: Tlp | None = None,
) -> tuple[NoticeRow, bool]:
    """Return the notice for source_key and whether it was made now: a key seen before
    returns the stored notice untouched (so a pass run twice queues once). The member's policy
    decides whether it goes at once, after quiet hours or in a digest."""
    authorize(principal, Action.EDIT, member_id)
    existing = session.scalar(select(NoticeRow).where(NoticeRow.source_key == source_key))
    if existing is not None:
        return existing, False
    policy = get_policy(session, member_id)
    timing = timing_for(
        policy,
        severity,
        now=now,
        zone=config.zone,
        sent_last_hour=sent_in_last_hour(session, member_id, now),
    )
    row = NoticeRow(
        member_id=member_id,
        kind=kind.value,
        source_key=source_key,
        title=title,
        severity=int(severity),
        tlp=(tlp or config.default_tlp).value,
        content=content,
        status=NoticeStatus.PENDING.value,
        due_at=timing.due_at,
        into_digest=timing.into_digest,
        hold_reason=timing.reason,
        ack_token=secrets.token_urlsafe(24),
        created_at=now,
        created_by=principal.actor,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        # Another pass queued the same source key between our look and our insert.
        stored = session.scalar(select(NoticeRow).where(NoticeRow.source_key == source_key))
        if stored is None:
            raise
        return stored, False
    log(session, row.id, None, "created", f"{timing.reason}; due {timing.due_at.isoformat()}", now)
    if not timing.into_digest and timing.due_at <= now:
        release_notice(session, row, config=config, now=now)
    return row, True


def sent_in_last_hour(session: Session, member_id: int, now: datetime) -> int:
    """Return how many notices (digests apart) went into the member's outbox in the last hour."""
    return (
        session.scalar(
            select(func.count())
            .select_from(NoticeRow)
            .where(
                NoticeRow.member_id == member_id,
                NoticeRow.kind != NoticeKind.DIGEST.value,
                NoticeRow.queued_at >= now - timedelta(hours=1),
            )
        )
        or 0
    )


def log(
    session: Session,
    notice_id: int,
    delivery_id: int | None,
    status: str,
    detail: str,
    now: datetime,
) -> None:
    """Add a line to a notice's delivery log."""
    session.add(
        DeliveryLogRow(
            notice_id=notice_id, delivery_id=delivery_id, at=now, status=status, detail=detail
        )
    )


def _message_id(notice_id: int, recipient: str, sender: str) -> str:
    digest = blake2b(f"{notice_id}\x1f{recipient}".encode(), digest_size=8).hexdigest()
    return f"<vardeild.{notice_id}.{digest}@{sender.rpartition('@')[2]}>"


def release_notice(
    session: Session, notice: NoticeRow, *, config: NotifyConfig, now: datetime
) -> int:
    """Make the notice's deliveries (one per contact whose role receives its kind); return how
    many. A contact with an address unfit for a header gets a failed delivery naming why."""
    policy = get_policy(session, notice.member_id)
    try:
        organisation = members.get_organisation_or_raise(session, SYSTEM, notice.member_id)
    except NotFound:
        organisation = {"contacts": []}
    wanted = set(policy.roles_for(NoticeKind(notice.kind)))
    made = 0
    for contact in organisation["contacts"]:
        if not wanted & {ContactRole(r) for r in contact["roles"]}:
            continue
        email = contact["email"]
        status, answer = DeliveryStatus.QUEUED, ""
        try:
            check_address(email, record=f"contact {email!r} of organisation {notice.member_id}")
        except ValidationFailed as exc:
            status, answer = DeliveryStatus.FAILED, str(exc)
        delivery = DeliveryRow(
            notice_id=notice.id,
            recipient=email,
            recipient_name=contact["name"],
            language=(policy.language or Language(contact["language"])).value,
            require_encryption=policy.require_encryption,
            status=status.value,
            attempts=0,
            next_attempt_at=now,
            message_id=_message_id(notice.id, email, config.sender),
            last_answer=answer,
        )
        session.add(delivery)
        session.flush()
        log(session, notice.id, delivery.id, status.value, answer or f"to {email}", now)
        made += 1
    notice.queued_at = now
    notice.status = (NoticeStatus.QUEUED if made else NoticeStatus.NO_RECIPIENTS).value
    if not made:
        log(
            session,
            notice.id,
            None,
            NoticeStatus.NO_RECIPIENTS.value,
            f"no contact has a role of {', '.join(sorted(r.value for r in wanted))}; add one "
            "in the member registry, then run `vardeild notify retry`",
            now,
        )
    else:
        update_notice_status(session, notice)
    return made


def update_notice_status(session: Session, notice: NoticeRow) -> None:
    """Set a queued notice's status from its deliveries: sent when all are, failed when none
    is waiting and one failed."""
    statuses = set(
        session.scalars(select(DeliveryRow.status).where(DeliveryRow.notice_id == notice.id))
    )
    waiting = {DeliveryStatus.QUEUED.value, DeliveryStatus.SENDING.value}
    waiting.add(DeliveryStatus.DEFERRED.value)
    if not statuses or statuses & waiting:
        return
    failed = DeliveryStatus.FAILED.value in statuses
    notice.status = (NoticeStatus.FAILED if failed else NoticeStatus.SENT).value


# --- the pass: held notices and digests ----------------------------------------------------


def release_due(session: Session, *, config: NotifyConfig, now: datetime) -> dict[str, int]:
    """Release notices whose wait is over and send each member's due digest; return counts.
    Idempotent: a digest has a source key per member and time."""
    released = 0
    for notice in session.scalars(
        select(NoticeRow)
        .where(
            NoticeRow.status == NoticeStatus.PENDING.value,
            NoticeRow.into_digest.is_(False),
            NoticeRow.due_at <= now,
        )
        .order_by(NoticeRow.id)
    ):
        release_notice(session, notice, config=config, now=now)
        released += 1
    held = list(
        session.scalars(
            select(NoticeRow)
            .where(
                NoticeRow.status == NoticeStatus.PENDING.value,
                NoticeRow.into_digest.is_(True),
                NoticeRow.due_at <= now,
            )
            .order_by(NoticeRow.member_id, NoticeRow.id)
        )
    )
    by_member: dict[int, list[NoticeRow]] = {}
    for notice in held:
        by_member.setdefault(notice.member_id, []).append(notice)
    for member_id, items in by_member.items():
        make_digest(session, member_id, items, config=config, now=now)
    return {"released": released, "digests": len(by_member), "digested": len(held)}


def make_digest(
    session: Session,
    member_id: int,
    items: list[NoticeRow],
    *,
    config: NotifyConfig,
    now: datetime,
) -> NoticeRow:
    """Fold items into one digest notice for the member and release it at once (a digest is
    never capped)."""
    slot = max(as_utc(item.due_at) for item in items)
    systems = sorted({s for item in items for s in item.content.get("systems", [])})
    reasons = sorted({item.hold_reason for item in items})
    digest, made = queue_digest_row(
        session,
        member_id=member_id,
        source_key=f"digest:{member_id}:{slot.isoformat()}:{items[0].id}",
        title=f"{len(items)} notices",
        severity=max(item.severity for item in items),
        tlp=max((Tlp(item.tlp) for item in items), key=lambda t: t.rank),
        content={
            "details": {
                "since": min(as_utc(item.created_at) for item in items).isoformat(),
                "reason": "; ".join(reasons),
            },
            "systems": systems,
            "items": [item.id for item in items],
        },
        now=now,
    )
    if made:
        for item in items:
            item.status = NoticeStatus.DIGESTED.value
            item.digest_id = digest.id
            log(session, item.id, None, "digested", f"in {reference(digest.id)}", now)
        release_notice(session, digest, config=config, now=now)
    return digest


def queue_digest_row(
    session: Session,
    *,
    member_id: int,
    source_key: str,
    title: str,
    severity: int,
    tlp: Tlp,
    content: dict[str, Any],
    now: datetime,
) -> tuple[NoticeRow, bool]:
    """Return the digest notice for source_key, made now if new."""
    existing = session.scalar(select(NoticeRow).where(NoticeRow.source_key == source_key))
    if existing is not None:
        return existing, False
    row = NoticeRow(
        member_id=member_id,
        kind=NoticeKind.DIGEST.value,
        source_key=source_key,
        title=title,
        severity=severity,
        tlp=tlp.value,
        content=content,
        status=NoticeStatus.PENDING.value,
        due_at=now,
        into_digest=False,
        hold_reason="digest",
        ack_token=secrets.token_urlsafe(24),
        created_at=now,
        created_by="system",
    )
    session.add(row)
    session.flush()
    log(session, row.id, None, "created", f"digest of {len(content['items'])} notices", now)
    return row, True


# --- reading -------------------------------------------------------------------------------


def notice_dict(row: NoticeRow) -> dict[str, Any]:
    """Return a notice as JSON-ready data (without its acknowledgement secret)."""
    return {
        "id": row.id,
        "reference": reference(row.id),
        "organisation_id": row.member_id,
        "kind": row.kind,
        "title": row.title,
        "severity": Severity(row.severity).name.lower(),
        "tlp": row.tlp,
        "status": row.status,
        "hold_reason": row.hold_reason,
        "due_at": row.due_at,
        "digest_id": row.digest_id,
        "created_at": row.created_at,
        "created_by": row.created_by,
        "queued_at": row.queued_at,
        "acknowledged_at": row.acknowledged_at,
        "acknowledged_by": row.acknowledged_by,
    }


def _notice_or_raise(session: Session, principal: Principal, notice_id: int) -> NoticeRow:
    row = session.get(NoticeRow, notice_id)
    if row is None:
        raise NotFound(f"notice {notice_id} not found")
    authorize(principal, Action.READ, row.member_id)
    return row


def list_notices(
    session: Session,
    principal: Principal,
    *,
    member_id: int | None = None,
    status: NoticeStatus | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Return a page of notices, newest first, and how many match; a member principal sees
    its own organisation's only."""
    stmt = select(NoticeRow)
    if principal.is_cert:
        authorize(principal, Action.LIST_ALL)
    else:
        authorize(principal, Action.READ, principal.organisation_id)
        if member_id is not None and member_id != principal.organisation_id:
            return [], 0
        member_id = principal.organisation_id
    if member_id is not None:
        stmt = stmt.where(NoticeRow.member_id == member_id)
    if status is not None:
        stmt = stmt.where(NoticeRow.status == status.value)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(NoticeRow.id.desc()).limit(limit).offset(offset))
    return [notice_dict(row) for row in rows], total


def get_notice_or_raise(session: Session, principal: Principal, notice_id: int) -> dict[str, Any]:
    """Return the notice with its deliveries and delivery log; NotFound if absent or another
    member's."""
    row = _notice_or_raise(session, principal, notice_id)
    data = notice_dict(row)
    data["content"] = row.content
    data["deliveries"] = [
        {
            "id": d.id,
            "recipient": d.recipient,
            "language": d.language,
            "status": d.status,
            "protection": d.protection,
            "attempts": d.attempts,
            "next_attempt_at": d.next_attempt_at,
            "sent_at": d.sent_at,
            "last_answer": d.last_answer,
        }
        for d in session.scalars(
            select(DeliveryRow).where(DeliveryRow.notice_id == row.id).order_by(DeliveryRow.id)
        )
    ]
    data["log"] = [
        {"at": e.at, "delivery_id": e.delivery_id, "status": e.status, "detail": e.detail}
        for e in session.scalars(
            select(DeliveryLogRow)
            .where(DeliveryLogRow.notice_id == row.id)
            .order_by(DeliveryLogRow.id)
        )
    ]
    return data


def notice_view(session: Session, row: NoticeRow) -> NoticeView:
    """Return what the templates need of a stored notice (a digest with its items)."""
    items: tuple[NoticeView, ...] = ()
    if row.kind == NoticeKind.DIGEST.value:
        held = session.scalars(
            select(NoticeRow).where(NoticeRow.id.in_(row.content.get("items", [])))
        )
        items = tuple(notice_view(session, item) for item in sorted(held, key=lambda r: r.id))
    return NoticeView(
        id=row.id,
        kind=NoticeKind(row.kind),
        title=row.title,
        severity=Severity(row.severity),
        tlp=Tlp(row.tlp),
        content=row.content,
        created_at=as_utc(row.created_at),
        items=items,
    )


def preview_notice(
    session: Session,
    principal: Principal,
    notice_id: int,
    *,
    config: NotifyConfig,
    language: Language | None = None,
    recipient_name: str = "",
    portal_note: bool = False,
) -> RenderedNotice:
    """Return the notice rendered as a recipient would read it (in the member policy's
    language, else Norwegian, unless language is given)."""
    row = _notice_or_raise(session, principal, notice_id)
    policy = get_policy(session, row.member_id)
    return render_notice(
        notice_view(session, row),
        config.links(row),
        language=language or policy.language or Language.NB,
        recipient_name=recipient_name or ("kontakt" if language is not Language.EN else "contact"),
        zone=config.zone,
        attachments=policy.attachments,
        portal_note=portal_note,
    )


# --- acknowledging and retrying ------------------------------------------------------------


def find_by_ack_token(session: Session, token: str) -> dict[str, Any]:
    """Return the reference, title and acknowledgement time of the notice whose link carries
    token; NotFound for an unknown token."""
    row = _by_token(session, token)
    return {
        "reference": reference(row.id),
        "title": row.title,
        "acknowledged_at": row.acknowledged_at,
    }


def _by_token(session: Session, token: str) -> NoticeRow:
    row = None
    if token and len(token) <= 64:
        row = session.scalar(select(NoticeRow).where(NoticeRow.ack_token == token))
    if row is None:
        raise NotFound("no notice has this acknowledgement link; copy the whole link")
    return row


def acknowledge_by_token(session: Session, token: str, *, now: datetime) -> dict[str, Any]:
    """Record that the notice whose link carries token was acknowledged (the first time
    counts); return its reference and time. NotFound for an unknown token."""
    row = _by_token(session, token)
    if row.acknowledged_at is None:
        row.acknowledged_at = now
        row.acknowledged_by = "link"
        log(session, row.id, None, "acknowledged", "through the link in the notice", now)
    return {
        "reference": reference(row.id),
        "title": row.title,
        "acknowledged_at": row.acknowledged_at,
    }


def acknowledge(
    session: Session, principal: Principal, notice_id: int, *, now: datetime
) -> dict[str, Any]:
    """Record that principal's member acknowledged the notice; return the notice. Any member
    user may; CERT staff only with the right to edit (acknowledging on a member's behalf)."""
    row = _notice_or_raise(session, principal, notice_id)
    if principal.is_cert:
        authorize(principal, Action.EDIT, row.member_id)
    if row.acknowledged_at is None:
        row.acknowledged_at = now
        row.acknowledged_by = principal.actor
        log(session, row.id, None, "acknowledged", f"by {principal.actor}", now)
    return notice_dict(row)


def retry_notice(
    session: Session, principal: Principal, notice_id: int, *, config: NotifyConfig, now: datetime
) -> dict[str, Any]:
    """Queue the notice's failed deliveries again (or, if it found no recipient, look for
    recipients again); Conflict if nothing failed."""
    row = _notice_or_raise(session, principal, notice_id)
    authorize(principal, Action.EDIT, row.member_id)
    if row.status == NoticeStatus.NO_RECIPIENTS.value:
        release_notice(session, row, config=config, now=now)
        return notice_dict(row)
    failed = list(
        session.scalars(
            select(DeliveryRow).where(
                DeliveryRow.notice_id == row.id,
                DeliveryRow.status == DeliveryStatus.FAILED.value,
            )
        )
    )
    if not failed:
        raise Conflict(
            f"notice {notice_id} has no failed delivery (it is {row.status}); nothing to retry"
        )
    for delivery in failed:
        delivery.status = DeliveryStatus.QUEUED.value
        delivery.attempts = 0
        delivery.next_attempt_at = now
        log(session, row.id, delivery.id, "queued", f"retry asked by {principal.actor}", now)
    row.status = NoticeStatus.QUEUED.value
    return notice_dict(row)


def outbox_status(session: Session, principal: Principal, *, now: datetime) -> dict[str, Any]:
    """Return the outbox at a glance: deliveries by status, notices by status, the oldest
    delivery still waiting and the open key tasks."""
    authorize(principal, Action.LIST_ALL)
    deliveries: dict[str, int] = {
        status: count
        for status, count in session.execute(
            select(DeliveryRow.status, func.count()).group_by(DeliveryRow.status)
        )
    }
    notices: dict[str, int] = {
        status: count
        for status, count in session.execute(
            select(NoticeRow.status, func.count()).group_by(NoticeRow.status)
        )
    }
    waiting = session.scalar(
        select(func.min(DeliveryRow.next_attempt_at)).where(
            DeliveryRow.status.in_([DeliveryStatus.QUEUED.value, DeliveryStatus.DEFERRED.value])
        )
    )
    tasks = session.scalar(
        select(func.count()).select_from(NotifyTaskRow).where(NotifyTaskRow.open_key == "open")
    )
    return {
        "deliveries": {s.value: deliveries.get(s.value, 0) for s in DeliveryStatus},
        "notices": {s.value: notices.get(s.value, 0) for s in NoticeStatus},
        "next_attempt_at": waiting,
        "open_tasks": tasks or 0,
        "at": now,
    }


# --- the CERT's tasks ----------------------------------------------------------------------


def raise_key_task(
    session: Session,
    *,
    member_id: int,
    contact_email: str,
    detail: str,
    notice_id: int | None,
    now: datetime,
) -> None:
    """Open a task to fix a contact's key, unless one is open already (then its detail is
    brought up to date)."""
    open_task = session.scalar(
        select(NotifyTaskRow).where(
            NotifyTaskRow.member_id == member_id,
            NotifyTaskRow.contact_email == contact_email,
            NotifyTaskRow.kind == "fix_key",
            NotifyTaskRow.open_key == "open",
        )
    )
    if open_task is not None:
        open_task.detail = detail
        return
    session.add(
        NotifyTaskRow(
            member_id=member_id,
            contact_email=contact_email,
            kind="fix_key",
            detail=detail,
            notice_id=notice_id,
            open_key="open",
            created_at=now,
        )
    )


def list_tasks(
    session: Session, principal: Principal, *, include_closed: bool = False
) -> list[dict[str, Any]]:
    """Return the CERT's notify tasks, oldest first."""
    authorize(principal, Action.LIST_ALL)
    stmt = select(NotifyTaskRow).order_by(NotifyTaskRow.id)
    if not include_closed:
        stmt = stmt.where(NotifyTaskRow.open_key == "open")
    return [
        {
            "id": t.id,
            "organisation_id": t.member_id,
            "contact_email": t.contact_email,
            "kind": t.kind,
            "detail": t.detail,
            "notice_id": t.notice_id,
            "open": t.open_key == "open",
            "created_at": t.created_at,
            "closed_at": t.closed_at,
            "closed_by": t.closed_by,
        }
        for t in session.scalars(stmt)
    ]


def close_task(session: Session, principal: Principal, task_id: int, *, now: datetime) -> None:
    """Mark a task done; NotFound if unknown, Conflict if already closed."""
    authorize(principal, Action.EDIT)
    task = session.get(NotifyTaskRow, task_id)
    if task is None:
        raise NotFound(f"notify task {task_id} not found")
    if task.open_key != "open":
        raise Conflict(f"notify task {task_id} is closed already")
    task.open_key = str(task.id)
    task.closed_at = now
    task.closed_by = principal.actor
