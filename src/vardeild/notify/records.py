"""Reading notices (member-scoped), previewing them, acknowledging (by link or token) and
retrying their failed deliveries; the outbox at a glance."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vardeild.access.model import Action, Principal, authorize, list_scope
from vardeild.audit.service import record_change
from vardeild.core.clock import FixedClock, as_utc
from vardeild.core.errors import Conflict, NotFound
from vardeild.core.tlp import Tlp
from vardeild.members.model import Language
from vardeild.monitoring.model import Severity
from vardeild.notify.model import (
    DeliveryStatus,
    NoticeKind,
    NoticeStatus,
    reference,
)
from vardeild.notify.rendering import NoticeView, RenderedNotice, render_notice
from vardeild.notify.service import NotifyConfig, get_policy, log, release_notice
from vardeild.notify.tables import (
    DeliveryLogRow,
    DeliveryRow,
    NoticeRow,
    NotifyTaskRow,
)

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
    member_id, visible = list_scope(
        principal, member_id, cert_action=Action.LIST_ALL, member_action=Action.READ
    )
    if not visible:
        return [], 0
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
        _audit(session, principal, row, "acknowledge", {"acknowledged_at": None}, now=now)
    return notice_dict(row)


def _audit(
    session: Session,
    principal: Principal,
    row: NoticeRow,
    action: str,
    before: dict[str, Any],
    *,
    now: datetime,
) -> None:
    """Record a person's change to a notice in the audit log (the notice's own log keeps the
    deliveries' story; the audit log keeps who changed what)."""
    after = {key: _plain(getattr(row, key)) for key in before}
    record_change(
        session, clock=FixedClock(now), actor=principal.actor, action=action,
        entity_type="notice", entity_id=row.id, organisation_id=row.member_id,
        before=before, after=after,
    )  # fmt: skip


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def retry_notice(
    session: Session, principal: Principal, notice_id: int, *, config: NotifyConfig, now: datetime
) -> dict[str, Any]:
    """Queue the notice's failed deliveries again (or, if it found no recipient, look for
    recipients again); Conflict if nothing failed."""
    row = _notice_or_raise(session, principal, notice_id)
    authorize(principal, Action.EDIT, row.member_id)
    before = {"status": row.status}
    if row.status == NoticeStatus.NO_RECIPIENTS.value:
        release_notice(session, row, config=config, now=now)
        _audit(session, principal, row, "retry", before, now=now)
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
    _audit(session, principal, row, "retry", before, now=now)
    return notice_dict(row)


def outbox_status(session: Session, principal: Principal, *, now: datetime) -> dict[str, Any]:
    """Return the outbox at a glance: deliveries by status, notices by status, the oldest
    delivery still waiting and the open key tasks."""
    authorize(principal, Action.LIST_ALL)
    deliveries: dict[str, int] = {
        str(status): int(count)
        for status, count in session.execute(
            select(DeliveryRow.status, func.count()).group_by(DeliveryRow.status)
        )
    }
    notices: dict[str, int] = {
        str(status): int(count)
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
