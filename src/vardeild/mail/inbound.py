"""Inbound e-mail: every message is kept exactly as received before anything else is done
with it, then processed — bounded parsing, OpenPGP decryption and signature checks,
candidate observables, and into a case (`vardeild.incidents.intake_mail`). Reading a
message (bounds, OpenPGP, keys) is in `inbound_open`; the listener in `inbound_listener`.

Keeping comes first and in its own transaction, so a message is never lost: if processing
fails or the process dies half-way, the message stays `received` (or `failed`, with the
reason) and the next pass (`process_pending`, run by `vardeild mail receive` on start and
after every message, or `vardeild mail reprocess`) takes it up again. Processing is
idempotent: the same bytes under the same Message-ID are kept once, and a second copy of a
Message-ID already filed (a different route's Received lines) is marked `duplicate`.

Statuses: received (kept, not yet processed), processed, refused (a bound was exceeded or
the message is unreadable; kept and flagged, not filed), failed (could not be processed,
e.g. not decryptable; kept, flagged, retried by `reprocess`), duplicate.
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vardeild.access.model import SYSTEM
from vardeild.audit.service import record_change
from vardeild.core.clock import Clock
from vardeild.core.errors import NotFound
from vardeild.incidents.intake_mail import MailFile, MailReport, file_mail_report
from vardeild.incidents.journal import add_journal_entry
from vardeild.incidents.model import EntrySource, Visibility
from vardeild.mail.inbound_mime import (
    HEAD_KEPT_BYTES,
    Content,
    MailLimits,
    MailRefused,
    header_text,
    parse_message,
    sender_address,
)
from vardeild.mail.inbound_open import (
    IntakeParts,
    Opened,
    Undecryptable,
    automatic_reason,
    open_message,
    registry_keys,
)
from vardeild.mail.inbound_pgp import (
    SignatureCheck,
)
from vardeild.mail.inbound_tables import InboundAttachmentRow, InboundBlobRow, InboundMessageRow
from vardeild.mail.observables import extract_observables
from vardeild.members.key_expiry import list_contact_keys

log = logging.getLogger(__name__)

ENTITY = "inbound_message"
_DOUBTFUL = {"bad", "error", "expired_key", "revoked_key"}


@dataclass(frozen=True)
class Received:
    """The kept message's id, and whether the same bytes were kept before."""

    id: int
    duplicate: bool


# --- keeping -----------------------------------------------------------------------------


def store_message(
    session: Session,
    raw: bytes,
    *,
    clock: Clock,
    limits: MailLimits,
    peer: str = "",
    envelope_from: str = "",
    envelope_to: Sequence[str] = (),
    size: int | None = None,
) -> Received:
    """Keep raw as received and return its id (the earlier one if these bytes under this
    Message-ID were kept before). A message over limits.max_bytes is kept as its head only,
    status refused. size is the whole message's size where raw is only its head (IMAP does
    not download one over the bound)."""
    digest = hashlib.sha256(raw).hexdigest()
    message_id = _message_id(raw)
    size = len(raw) if size is None else size
    existing = session.scalar(
        select(InboundMessageRow.id).where(
            InboundMessageRow.message_id == message_id, InboundMessageRow.sha256 == digest
        )
    )
    if existing is not None:
        return Received(int(existing), duplicate=True)
    oversized = size > limits.max_bytes
    row = InboundMessageRow(
        received_at=clock.now(),
        message_id=message_id,
        sha256=digest,
        size=size,
        raw=raw[:HEAD_KEPT_BYTES] if oversized else raw,
        truncated=oversized,
        peer=peer[:200],
        envelope_from=envelope_from[:500],
        envelope_to=[address[:500] for address in envelope_to][:100],
        status="refused" if oversized else "received",
        attempts=0,
        problems=(
            [
                f"mail bomb: {size:,} bytes, more than the {limits.max_bytes:,} kept "
                f"(mail_inbound_max_bytes); only the first {HEAD_KEPT_BYTES:,} bytes are kept"
            ]
            if oversized
            else []
        ),
        flagged=oversized,
        **_blank_fields(),
    )
    session.add(row)
    session.flush()
    _audit(session, clock, "receive", row, note=f"{size} bytes from {peer or 'a client'}")
    return Received(row.id, duplicate=False)


def record_refused_in_transit(
    session: Session,
    *,
    clock: Clock,
    reason: str,
    peer: str = "",
    envelope_from: str = "",
    envelope_to: Sequence[str] = (),
) -> int:
    """Record a message the listener refused before it had the bytes (over the size limit
    during DATA): who sent it to whom and why. The sending server keeps and bounces it."""
    summary = f"refused in transit: {reason}".encode()
    row = InboundMessageRow(
        received_at=clock.now(),
        # No Message-ID was read; a unique token keeps refusals apart.
        message_id=f"(refused in transit {secrets.token_hex(8)})",
        sha256=hashlib.sha256(b"").hexdigest(),
        size=0,
        raw=summary,
        truncated=True,
        peer=peer[:200],
        envelope_from=envelope_from[:500],
        envelope_to=[address[:500] for address in envelope_to][:100],
        status="refused",
        attempts=0,
        problems=[reason],
        flagged=True,
        **_blank_fields(),
    )
    session.add(row)
    session.flush()
    _audit(session, clock, "refuse", row, note=reason)
    return row.id


def _blank_fields() -> dict[str, Any]:
    return {
        "sender": "",
        "subject": "",
        "encrypted": False,
        "signature": "none",
        "signature_key": "",
        "signature_detail": "",
        "signer_contact": "",
        "text": "",
        "observables": [],
        "outcome": "",
        "case_id": None,
    }


def _message_id(raw: bytes) -> str:
    head = raw[:HEAD_KEPT_BYTES].partition(b"\r\n\r\n")[0].partition(b"\n\n")[0]
    try:
        headers = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(head)
        value = headers.get("Message-ID", "")
    except (ValueError, TypeError, LookupError, IndexError):
        return ""
    return " ".join(str(value).split())[:500]


# --- processing --------------------------------------------------------------------------


def process_message(
    session: Session, message_pk: int, *, clock: Clock, parts: IntakeParts
) -> InboundMessageRow:
    """Process one kept message (status received or failed) and return its row: read it,
    keep its attachments by hash, find observables, file it into a case. Bad input ends as
    refused or failed with the reason; it never raises for the message's content."""
    row = session.get(InboundMessageRow, message_pk, with_for_update=True)
    if row is None:
        raise NotFound(f"inbound message {message_pk} not found")
    if row.status not in {"received", "failed"}:
        return row
    row.attempts += 1
    keys = registry_keys(session, gpg_binary=parts.gpg_binary)
    try:
        opened = open_message(row.raw, parts, keys)
    except MailRefused as exc:
        return _finish(session, row, clock, status="refused", problems=[str(exc)])
    except Undecryptable as exc:
        _headers_only(row)
        row.encrypted = True
        return _finish(session, row, clock, status="failed", problems=[f"encrypted: {exc}"])
    _fill(row, opened, session)
    if opened.signature.status in _DOUBTFUL:
        # A signature that does not hold is a sign of tampering: a person should look.
        opened.problems.append(f"signature: {opened.signature.describe} ({row.signature_detail})")
    earlier = _earlier_copy(session, row)
    if earlier is not None:
        row.outcome = "duplicate"
        row.case_id = earlier.case_id
        return _finish(
            session,
            row,
            clock,
            status="duplicate",
            problems=[f"a copy of inbound message {earlier.id} (same Message-ID), not filed again"],
        )
    attachments = _keep_attachments(session, row, opened.content)
    outcome = file_mail_report(
        session,
        MailReport(
            message_pk=row.id,
            sender=row.sender,
            subject=row.subject,
            text=row.text,
            signature=opened.signature.describe,
            signed_by_sender=bool(row.signer_contact) and row.signer_contact == row.sender,
            observables=row.observables,
            attachments=attachments,
            problems=opened.problems,
            automatic=automatic_reason(opened.message, row.envelope_from),
            files=[
                MailFile(a.filename, a.content_type, a.data)
                for a in opened.content.attachments
                if not a.refused
            ],
        ),
        clock=clock,
        store=parts.evidence,
    )
    row.outcome = outcome.outcome
    row.case_id = outcome.case_id
    return _finish(
        session,
        row,
        clock,
        status="processed",
        problems=opened.problems + outcome.problems,
        flagged=outcome.flagged,
    )


def _headers_only(row: InboundMessageRow) -> None:
    try:
        message = parse_message(row.raw)
    except MailRefused:
        return
    row.sender = sender_address(message)
    row.subject = header_text(message, "Subject")


def _fill(row: InboundMessageRow, opened: Opened, session: Session) -> None:
    row.sender = sender_address(opened.message)
    row.subject = header_text(opened.message, "Subject")
    row.encrypted = opened.encrypted
    _set_signature(row, opened.signature, session)
    row.text = opened.content.text.replace("\x00", "\ufffd")
    row.observables = [
        item.as_dict() for item in extract_observables(row.subject + "\n" + row.text)
    ]


def _set_signature(row: InboundMessageRow, check: SignatureCheck, session: Session) -> None:
    row.signature = check.status
    row.signature_key = check.key[:64]
    row.signature_detail = check.detail[:2000]
    row.signer_contact = ""
    if check.status == "good":
        owners = [
            key.owner.lower()
            for key in list_contact_keys(session)
            if key.fingerprint.upper() == check.key.upper()
        ]
        sender = row.sender.lower()
        row.signer_contact = sender if sender in owners else (owners[0] if owners else "")


def _earlier_copy(session: Session, row: InboundMessageRow) -> InboundMessageRow | None:
    if not row.message_id:
        return None
    return session.scalar(
        select(InboundMessageRow)
        .where(
            InboundMessageRow.message_id == row.message_id,
            InboundMessageRow.id != row.id,
            InboundMessageRow.status == "processed",
        )
        .order_by(InboundMessageRow.id)
        .limit(1)
    )


def _keep_attachments(session: Session, row: InboundMessageRow, content: Content) -> list[str]:
    described = []
    for attachment in content.attachments:
        digest = attachment.sha256
        stored = not attachment.refused
        if stored and session.get(InboundBlobRow, digest) is None:
            session.add(
                InboundBlobRow(sha256=digest, size=len(attachment.data), data=attachment.data)
            )
        session.add(
            InboundAttachmentRow(
                message_pk=row.id,
                position=attachment.position,
                filename=attachment.filename,
                given_name=attachment.given_name,
                content_type=attachment.content_type,
                size=len(attachment.data),
                sha256=digest,
                stored=stored,
                problem=attachment.problem,
            )
        )
        state = "refused: " + attachment.problem if attachment.refused else "kept"
        described.append(
            f"{attachment.filename} ({attachment.content_type}, {len(attachment.data):,} bytes, "
            f"sha256 {digest}, {state})"
        )
    session.flush()
    return described


def _finish(
    session: Session,
    row: InboundMessageRow,
    clock: Clock,
    *,
    status: str,
    problems: list[str],
    flagged: bool = False,
) -> InboundMessageRow:
    row.status = status
    row.processed_at = clock.now()
    row.problems = [*row.problems, *(p[:1000] for p in problems if p not in row.problems)][:200]
    row.flagged = row.flagged or flagged or status in {"refused", "failed"} or bool(problems)
    if not row.outcome:
        row.outcome = "none"
    session.flush()
    _audit(
        session,
        clock,
        "process",
        row,
        note=f"{status}: {row.outcome}" + (f", case {row.case_id}" if row.case_id else ""),
    )
    return row


def process_pending(
    session_factory: Callable[[], Any],
    *,
    clock: Clock,
    parts: IntakeParts,
    include_failed: bool = False,
) -> list[int]:
    """Process every kept message still to do (received; failed too if include_failed),
    each in its own transaction; return their ids. An unexpected error marks that message
    failed with the error and goes on with the next one."""
    statuses = ["received", "failed"] if include_failed else ["received"]
    with session_factory() as session:
        todo = list(
            session.scalars(
                select(InboundMessageRow.id)
                .where(InboundMessageRow.status.in_(statuses))
                .order_by(InboundMessageRow.id)
            )
        )
    for message_pk in todo:
        try:
            with session_factory() as session:
                process_message(session, message_pk, clock=clock, parts=parts)
        except Exception as exc:  # a bug or a broken database must not stop the others
            log.exception("inbound message %s could not be processed", message_pk)
            with session_factory() as session:
                row = session.get(InboundMessageRow, message_pk)
                if row is not None:
                    row.attempts += 1
                    _finish(
                        session,
                        row,
                        clock,
                        status="failed",
                        problems=[f"processing failed: {type(exc).__name__}: {exc}"[:1000]],
                    )
    return todo


# --- keys and signatures again ----------------------------------------------------------


def reverify_unknown(
    session: Session, *, clock: Clock, parts: IntakeParts
) -> list[tuple[int, str]]:
    """Check again every kept signature made by a key that was unknown, where the registry
    now holds that key; record the new verdict (and a journal note on the message's case).
    Return (message id, new status) for each one checked again."""
    keys = registry_keys(session, gpg_binary=parts.gpg_binary)
    rows = session.scalars(
        select(InboundMessageRow)
        .where(InboundMessageRow.signature == "unknown_key")
        .order_by(InboundMessageRow.id)
    ).all()
    changed: list[tuple[int, str]] = []
    for row in rows:
        if not row.signature_key or not keys(row.signature_key):
            continue
        try:
            opened = open_message(row.raw, parts, keys)
        except (MailRefused, Undecryptable):
            continue
        before = row.signature
        _set_signature(row, opened.signature, session)
        if row.signature == before:
            continue
        changed.append((row.id, row.signature))
        _audit(session, clock, "reverify", row, note=f"signature {before} -> {row.signature}")
        if row.case_id is not None:
            who = f" ({row.signer_contact})" if row.signer_contact else ""
            add_journal_entry(
                session,
                SYSTEM,
                row.case_id,
                clock=clock,
                text=(
                    f"E-mail intake: the signature of inbound message {row.id} from "
                    f"{row.sender or 'an unknown sender'} was checked again now that key "
                    f"{row.signature_key} is known: {opened.signature.describe}{who}."
                ),
                visibility=Visibility.INTERNAL,
                source=EntrySource.EMAIL,
            )
    session.flush()
    return changed


def _audit(
    session: Session, clock: Clock, action: str, row: InboundMessageRow, *, note: str
) -> None:
    record_change(
        session,
        clock=clock,
        actor="mail:intake",
        action=action,
        entity_type=ENTITY,
        entity_id=row.id,
        organisation_id=None,
        before=None,
        after={
            "status": row.status,
            "sha256": row.sha256,
            "size": row.size,
            "outcome": row.outcome,
            "case_id": row.case_id,
            "signature": row.signature,
        },
        note=note[:1000],
    )
