"""Inbound e-mail as received: the raw bytes of every message (kept before anything else is
done with it), its attachments by content hash, and what processing made of it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from vardeild.db.base import Base, UTCDateTime


class InboundMessageRow(Base):
    """One message as it arrived (raw), and the outcome of processing it."""

    __tablename__ = "inbound_messages"
    __table_args__ = (UniqueConstraint("message_id", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="When it arrived")
    message_id: Mapped[str] = mapped_column(
        String(500), index=True, comment="Message-ID header as given (empty without one)"
    )
    sha256: Mapped[str] = mapped_column(String(64), index=True, comment="SHA-256 of raw")
    size: Mapped[int] = mapped_column(Integer, comment="Bytes as received")
    raw: Mapped[bytes] = mapped_column(
        LargeBinary, comment="The message exactly as received (only its head when refused)"
    )
    truncated: Mapped[bool] = mapped_column(
        Boolean, default=False, comment="raw holds only the head of a refused oversized message"
    )
    peer: Mapped[str] = mapped_column(String(200), default="", comment="Client that sent it")
    envelope_from: Mapped[str] = mapped_column(String(500), default="", comment="MAIL FROM")
    envelope_to: Mapped[list[str]] = mapped_column(JSON, default=list, comment="RCPT TO")
    status: Mapped[str] = mapped_column(
        String(16), index=True, comment="received, processed, refused, failed or duplicate"
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0, comment="Processing attempts")
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, comment="When processed")
    problems: Mapped[list[str]] = mapped_column(
        JSON, default=list, comment="Every problem found, in words (malformed, bomb, forged, ...)"
    )
    sender: Mapped[str] = mapped_column(String(500), default="", comment="From address")
    subject: Mapped[str] = mapped_column(String(1000), default="", comment="Subject, decoded")
    encrypted: Mapped[bool] = mapped_column(Boolean, default=False, comment="Was OpenPGP-encrypted")
    signature: Mapped[str] = mapped_column(
        String(16),
        default="none",
        comment="none, good, bad, unknown_key, expired_key, revoked_key or error",
    )
    signature_key: Mapped[str] = mapped_column(
        String(64), default="", comment="Fingerprint (or key id) that made the signature"
    )
    signature_detail: Mapped[str] = mapped_column(Text, default="", comment="gpg's verdict")
    signer_contact: Mapped[str] = mapped_column(
        String(254), default="", comment="Registry contact whose key made a good signature"
    )
    text: Mapped[str] = mapped_column(Text, default="", comment="Body text, decrypted")
    observables: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, default=list, comment="Candidate observables found in the text"
    )
    outcome: Mapped[str] = mapped_column(
        String(16), default="", comment="threaded, new_case, duplicate or none"
    )
    case_id: Mapped[int | None] = mapped_column(
        Integer, index=True, comment="The case it became or was threaded onto"
    )
    flagged: Mapped[bool] = mapped_column(
        Boolean, default=False, comment="Needs a person's look (forged reference, bad input)"
    )


class InboundAttachmentRow(Base):
    """An attachment of an inbound message, stored by its content hash, never its name."""

    __tablename__ = "inbound_attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_pk: Mapped[int] = mapped_column(
        ForeignKey("inbound_messages.id", ondelete="CASCADE"), index=True, comment="Message"
    )
    position: Mapped[int] = mapped_column(Integer, comment="Order within the message")
    filename: Mapped[str] = mapped_column(String(200), comment="Sanitised name, for display")
    given_name: Mapped[str] = mapped_column(
        String(400), default="", comment="The name as given, escaped (may be hostile)"
    )
    content_type: Mapped[str] = mapped_column(String(200), comment="Declared MIME type")
    size: Mapped[int] = mapped_column(Integer, comment="Decoded bytes")
    sha256: Mapped[str] = mapped_column(String(64), index=True, comment="SHA-256 of the content")
    stored: Mapped[bool] = mapped_column(Boolean, comment="Content kept in inbound_blobs")
    problem: Mapped[str] = mapped_column(Text, default="", comment="Why refused or renamed")


class InboundBlobRow(Base):
    """Attachment content, addressed by its SHA-256 (one copy however often it arrives)."""

    __tablename__ = "inbound_blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True, comment="SHA-256")
    size: Mapped[int] = mapped_column(Integer, comment="Bytes")
    data: Mapped[bytes] = mapped_column(LargeBinary, comment="The content")
