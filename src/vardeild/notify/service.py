"""The use cases of notices: policies, queueing (exactly once per source key), releasing into
the outbox when due. Digests are in `digests`, reading, acknowledging and retrying in
`records`, the CERT's key tasks in `tasks`.

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
from vardeild.core.clock import FixedClock
from vardeild.core.errors import NotFound, ValidationFailed
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
    timing_for,
)
from vardeild.notify.rendering import Links
from vardeild.notify.tables import (
    DeliveryLogRow,
    DeliveryRow,
    NoticePolicyRow,
    NoticeRow,
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
            portal_url=f"{base}/portal/notices/{notice.id}",
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
