"""The local listener that receives mail for the CERT: LMTP (behind the CERT's own mail
server) or SMTP, on loopback by default (aiosmtpd).

A message is answered 250 only once it is kept in the database: the sending server holds on
to it until then, so a crash before that loses nothing. A message over the size limit is
answered 552 while it arrives (aiosmtpd stops buffering it) and the refusal is recorded.
Processing happens in one worker thread, after each message and on start (messages kept but
not processed before a crash are taken up again), and signatures by keys that were unknown
are checked again whenever the member registry has changed.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session

from vardeild.mail.inbound import (
    process_pending,
    record_refused_in_transit,
    reverify_unknown,
    store_message,
)
from vardeild.mail.inbound_mime import MailLimits
from vardeild.mail.inbound_open import IntakeParts
from vardeild.members.service import registry_revision
from vardeild.platform import Platform

log = logging.getLogger(__name__)


class _Recording:
    """Mixin for the protocol classes: a refusal the server itself gives (552 message too
    large, 500 line too long) is recorded before it is sent, since the handler never sees
    such a message."""

    event_handler: Any
    envelope: Envelope | None
    session: Session | None

    _mail_from: str = ""

    async def smtp_MAIL(self, arg: str) -> None:  # noqa: N802 - aiosmtpd's command name
        # A sender declaring a SIZE over the limit is refused here, before any envelope
        # exists: remember who it was for the record.
        address = (arg or "").partition(":")[2].strip().split(" ")[0]
        self._mail_from = address.strip("<>")[:500]
        await super().smtp_MAIL(arg)  # type: ignore[misc]

    async def push(self, status: Any) -> None:
        text = status.decode("ascii", "replace") if isinstance(status, bytes) else str(status)
        refusal = text.startswith(("552", "500 Line too long"))
        if refusal and isinstance(self.event_handler, IntakeHandler):
            await self.event_handler.refused(
                self.session, self.envelope, text, mail_from=self._mail_from
            )
        await super().push(status)  # type: ignore[misc]


class _RecordingSMTP(_Recording, SMTP):
    pass


class _RecordingLMTP(_Recording, LMTP):
    pass


class IntakeHandler:
    """aiosmtpd's handler: keep each message, then wake the processing thread."""

    def __init__(
        self, platform: Platform, *, limits: MailLimits, lmtp: bool, wake: threading.Event
    ) -> None:
        self.platform = platform
        self.limits = limits
        self.lmtp = lmtp
        self.wake = wake

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or b""
        try:
            await asyncio.to_thread(
                self._store,
                raw,
                _peer(session),
                # An empty reverse path is a bounce's (RFC 5321 §4.5.5): keep it visible.
                envelope.mail_from or "<>",
                envelope.rcpt_tos,
            )
        except Exception:
            log.exception("an inbound message could not be kept")
            return self._answer("451 4.3.0 Message could not be kept; try again later", envelope)
        self.wake.set()
        return self._answer("250 2.0.0 Message kept", envelope)

    def _answer(self, text: str, envelope: Envelope) -> str:
        # LMTP answers once per recipient (RFC 2033 §4.2); the message is kept once for all.
        if self.lmtp:
            return "\r\n".join([text] * max(1, len(envelope.rcpt_tos)))
        return text

    def _store(self, raw: bytes, peer: str, sender: str, recipients: Sequence[str]) -> None:
        with self.platform.session() as db:
            store_message(
                db,
                raw,
                clock=self.platform.clock,
                limits=self.limits,
                peer=peer,
                envelope_from=sender,
                envelope_to=list(recipients),
            )

    async def refused(
        self,
        session: Session | None,
        envelope: Envelope | None,
        answer: str,
        *,
        mail_from: str = "",
    ) -> None:
        """Record a message the server refused as too large."""
        peer = _peer(session) if session is not None else ""
        sender = (envelope.mail_from if envelope is not None else None) or mail_from
        recipients = list(envelope.rcpt_tos) if envelope is not None else []
        what = (
            "a line longer than SMTP allows (1,000 bytes, RFC 5321 §4.5.3.1.6)"
            if answer.startswith("500")
            else f"mail bomb: larger than {self.limits.max_bytes:,} bytes (mail_inbound_max_bytes)"
        )
        reason = (
            f"{what}; answered {answer.strip()!r}, so the sending server keeps it and tells "
            "its sender"
        )

        def record() -> None:
            with self.platform.session() as db:
                record_refused_in_transit(
                    db,
                    clock=self.platform.clock,
                    reason=reason,
                    peer=peer,
                    envelope_from=sender,
                    envelope_to=recipients,
                )

        try:
            await asyncio.to_thread(record)
        except Exception:
            log.exception("a refused inbound message could not be recorded")


class _IntakeController(Controller):
    def __init__(self, handler: IntakeHandler, *, lmtp: bool, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.lmtp = lmtp

    def factory(self) -> SMTP:
        kind = _RecordingLMTP if self.lmtp else _RecordingSMTP
        return kind(self.handler, **self.SMTP_kwargs)


class InboundListener:
    """The listener and its processing thread; start() and stop(), or use as a context."""

    def __init__(
        self,
        platform: Platform,
        parts: IntakeParts,
        *,
        host: str | None = None,
        port: int | None = None,
        lmtp: bool | None = None,
        interval_seconds: float = 60.0,
    ) -> None:
        settings = platform.settings
        self.platform = platform
        self.parts = parts
        self.host = host or settings.mail_inbound_host
        self.port = port or settings.mail_inbound_port
        self.lmtp = settings.mail_inbound_protocol == "lmtp" if lmtp is None else lmtp
        self.interval_seconds = interval_seconds
        self.wake = threading.Event()
        self._stopping = threading.Event()
        self._worker: threading.Thread | None = None
        self._revision: int | None = None
        self.handler = IntakeHandler(platform, limits=parts.limits, lmtp=self.lmtp, wake=self.wake)
        self.controller = _IntakeController(
            self.handler,
            lmtp=self.lmtp,
            hostname=self.host,
            port=self.port,
            data_size_limit=parts.limits.max_bytes,
            # Bytes as received, never decoded: the message is kept exactly as it came.
            decode_data=False,
            ident="Vardeild intake",
        )

    def start(self) -> None:
        """Start listening and processing (first whatever was kept but not processed)."""
        self.controller.start()
        self._worker = threading.Thread(target=self._work, name="mail-intake", daemon=True)
        self._worker.start()
        self.wake.set()

    def stop(self) -> None:
        """Stop listening; the processing thread finishes the message it is on."""
        self.controller.stop()
        self._stopping.set()
        self.wake.set()
        if self._worker is not None:
            self._worker.join(timeout=60)

    def __enter__(self) -> InboundListener:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _work(self) -> None:
        while not self._stopping.is_set():
            self.wake.wait(self.interval_seconds)
            self.wake.clear()
            try:
                self.run_pass()
            except Exception:  # the loop must outlive a database that is briefly away
                log.exception("mail intake pass failed")

    def run_pass(self) -> None:
        """Process what is pending, and check unknown signatures again if the registry
        changed since the last pass."""
        process_pending(self.platform.session, clock=self.platform.clock, parts=self.parts)
        with self.platform.session() as session:
            revision = registry_revision(session)
            if revision != self._revision:
                reverify_unknown(session, clock=self.platform.clock, parts=self.parts)
                self._revision = revision


def _peer(session: Session) -> str:
    peer: Any = session.peer
    if isinstance(peer, tuple | list) and len(peer) > 1:
        return f"{peer[0]}:{peer[1]}"
    return str(peer or "")
