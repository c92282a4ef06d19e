"""Notify helpers for tests: a real SMTP server on loopback (aiosmtpd), a member with
contacts, and reading what arrived."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from support.factories import CERT_ADMIN, org_data
from support.pgp_keys import gpg
from vardeild.access.model import SYSTEM
from vardeild.members import service
from vardeild.monitoring.model import Severity
from vardeild.notify import service as notify_service
from vardeild.notify.config import config_from_settings
from vardeild.notify.model import NoticeKind
from vardeild.platform import Platform


@dataclass
class Inbox:
    """What the SMTP server received, and how it answers RCPT TO for given addresses."""

    messages: list[tuple[Envelope, bytes]] = field(default_factory=list)
    reject: dict[str, str] = field(default_factory=dict)  # address -> SMTP answer
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.reject:
            return self.reject[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or b""
        with self.lock:
            self.messages.append((envelope, raw))
        return "250 Message accepted for delivery"

    def raw_to(self, address: str) -> list[bytes]:
        """Return the messages delivered to address, as received."""
        with self.lock:
            return [raw for e, raw in self.messages if address in e.rcpt_tos]

    def to(self, address: str) -> list[EmailMessage]:
        """Return the messages delivered to address, parsed."""
        return [parse(raw) for raw in self.raw_to(address)]


def free_port() -> int:
    """Return a loopback TCP port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def smtp_server(**kwargs: Any) -> Iterator[tuple[Inbox, int]]:
    """Run an aiosmtpd server on a free loopback port; yield its inbox and port."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def add_member(platform: Platform, contacts: list[dict[str, Any]], **overrides: Any) -> int:
    """Create an organisation with these contacts (networks 10.x from org_data); return its
    id."""
    with platform.session() as session:
        created = service.create_organisation(
            session,
            CERT_ADMIN,
            org_data(contacts=contacts, **overrides),
            clock=platform.clock,
            key_inspector=platform.key_inspector,
        )
    return int(created["id"])


def queue_message(
    platform: Platform,
    member: int,
    key: str,
    *,
    title: str = "Melding",
    content: dict[str, Any] | None = None,
) -> int:
    """Queue a high-severity message notice to the member (once per key); return its id."""
    with platform.session() as session:
        row, _ = notify_service.queue_notice(
            session,
            SYSTEM,
            member_id=member,
            kind=NoticeKind.MESSAGE,
            title=title,
            severity=Severity.HIGH,
            content=content or {"details": {"text": "Detaljer"}},
            source_key=key,
            config=config_from_settings(platform.settings),
            now=platform.clock.now(),
        )
        return row.id


def parse(raw: bytes) -> EmailMessage:
    """Return raw parsed as an e-mail message."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def signed_part(raw: bytes) -> tuple[bytes, bytes]:
    """Return the canonical (CRLF) first part of a multipart/signed message and its
    signature, split at the boundary as RFC 1847 says."""
    canonical = re.sub(rb"\r?\n", b"\r\n", raw)
    parsed = email.message_from_bytes(canonical, policy=email.policy.SMTP)
    boundary = parsed.get_boundary()
    assert boundary is not None
    delimiter = b"\r\n--" + boundary.encode()
    _, _, after_first = canonical.partition(b"--" + boundary.encode() + b"\r\n")
    data, _, _ = after_first.partition(delimiter)
    signature = parsed.get_payload()[1].get_payload(decode=True)
    return data, signature


def verify(home: Path, raw: bytes) -> str:
    """Return gpg's status lines verifying a multipart/signed message with the keys in home."""
    data, signature = signed_part(raw)
    with tempfile.TemporaryDirectory() as scratch:
        data_file, sig_file = Path(scratch, "data"), Path(scratch, "data.asc")
        data_file.write_bytes(data)
        sig_file.write_bytes(signature)
        return gpg(
            home, "--status-fd", "1", "--verify", str(sig_file), str(data_file), check=False
        ).decode()


def decrypt(home: Path, raw: bytes) -> bytes:
    """Return the decrypted inner entity of a multipart/encrypted message, with the secret
    key in home."""
    parsed = parse(raw)
    assert parsed.get_content_type() == "multipart/encrypted", parsed.get_content_type()
    payload = parsed.get_payload()[1].get_payload(decode=True)
    return gpg(home, "--decrypt", input=payload)


def body_text(message: EmailMessage) -> str:
    """Return the text/plain body of a (decrypted, unsigned) message."""
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())
