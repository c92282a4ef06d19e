"""Digests: the notices a member's policy held, folded into one notice at its time, and held
notices released when their wait is over. Idempotent: a digest has one source key per member
and time, so a pass run twice makes it once."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vardeild.core.clock import as_utc
from vardeild.core.tlp import Tlp
from vardeild.notify.model import (
    NoticeKind,
    NoticeStatus,
    reference,
)
from vardeild.notify.service import NotifyConfig, log, release_notice
from vardeild.notify.tables import (
    NoticeRow,
)

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
