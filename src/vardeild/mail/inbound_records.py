"""Reading what the e-mail intake kept: messages with their outcome, and one message with
its attachments (content only by hash: an attachment is fetched by its SHA-256)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vardeild.access.model import Action, Principal, authorize
from vardeild.core.errors import NotFound
from vardeild.mail.inbound_tables import InboundAttachmentRow, InboundBlobRow, InboundMessageRow

STATUSES = ("received", "processed", "refused", "failed", "duplicate")


def message_dict(row: InboundMessageRow) -> dict[str, Any]:
    """Return a kept message's record (not its raw bytes) as JSON-ready data."""
    return {
        "id": row.id,
        "received_at": row.received_at,
        "message_id": row.message_id,
        "sha256": row.sha256,
        "size": row.size,
        "truncated": row.truncated,
        "peer": row.peer,
        "envelope_from": row.envelope_from,
        "envelope_to": list(row.envelope_to),
        "status": row.status,
        "attempts": row.attempts,
        "processed_at": row.processed_at,
        "problems": list(row.problems),
        "flagged": row.flagged,
        "sender": row.sender,
        "subject": row.subject,
        "encrypted": row.encrypted,
        "signature": row.signature,
        "signature_key": row.signature_key,
        "signature_detail": row.signature_detail,
        "signer_contact": row.signer_contact,
        "observables": list(row.observables),
        "outcome": row.outcome,
        "case_id": row.case_id,
    }


def list_messages(
    session: Session,
    principal: Principal,
    *,
    status: str | None = None,
    flagged: bool | None = None,
    limit: int = 100,
) -> tuple[list[dict[str, Any]], int]:
    """Return the newest kept messages (CERT staff only) and how many match."""
    authorize(principal, Action.LIST_ALL)
    query = select(InboundMessageRow)
    if status is not None:
        query = query.where(InboundMessageRow.status == status)
    if flagged is not None:
        query = query.where(InboundMessageRow.flagged.is_(flagged))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(InboundMessageRow.id.desc()).limit(limit))
    return [message_dict(row) for row in rows], total


def get_message_or_raise(session: Session, principal: Principal, message_pk: int) -> dict[str, Any]:
    """Return one kept message with its attachments and text; NotFound if there is none."""
    authorize(principal, Action.LIST_ALL)
    row = session.get(InboundMessageRow, message_pk)
    if row is None:
        raise NotFound(f"inbound message {message_pk} not found")
    attachments = session.scalars(
        select(InboundAttachmentRow)
        .where(InboundAttachmentRow.message_pk == row.id)
        .order_by(InboundAttachmentRow.position)
    )
    return {
        **message_dict(row),
        "text": row.text,
        "attachments": [
            {
                "position": a.position,
                "filename": a.filename,
                "given_name": a.given_name,
                "content_type": a.content_type,
                "size": a.size,
                "sha256": a.sha256,
                "stored": a.stored,
                "problem": a.problem,
            }
            for a in attachments
        ],
    }


def get_raw_or_raise(session: Session, principal: Principal, message_pk: int) -> bytes:
    """Return a kept message's bytes exactly as received; NotFound if there is none."""
    authorize(principal, Action.EXPORT)
    row = session.get(InboundMessageRow, message_pk)
    if row is None:
        raise NotFound(f"inbound message {message_pk} not found")
    return bytes(row.raw)


def get_blob_or_raise(session: Session, principal: Principal, sha256: str) -> bytes:
    """Return a kept attachment's content by its SHA-256; NotFound if it is not kept."""
    authorize(principal, Action.EXPORT)
    row = session.get(InboundBlobRow, sha256.lower())
    if row is None:
        raise NotFound(f"no attachment with sha256 {sha256[:64]} is kept")
    return bytes(row.data)
