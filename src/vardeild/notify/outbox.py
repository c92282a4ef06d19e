"""Sending the outbox: claim due deliveries, protect (sign, encrypt) and hand each to the
transport, record the answer with retries and exponential backoff.

A claim is committed before anything is sent and lasts a lease; a sender killed mid-way leaves
its claims to run out and be taken again, so nothing queued is lost. What was recorded as sent
is never taken again. The one window left, a message accepted by the server but killed before
the answer was recorded, sends that message again under the same Message-ID, which receiving
systems use to drop the duplicate (the maildir transport drops it itself).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vardeild.access.model import SYSTEM
from vardeild.core.clock import Clock
from vardeild.core.errors import NotFound, ValidationFailed
from vardeild.members import service as members
from vardeild.members.model import KeyInfo, Language
from vardeild.members.openpgp import key_matches_email
from vardeild.notify.message import build_message
from vardeild.notify.model import (
    DeliveryDeferred,
    DeliveryRejected,
    DeliveryStatus,
    Protection,
    retry_delay,
)
from vardeild.notify.ports import MailTransport, MessageProtector, is_key_unusable
from vardeild.notify.records import notice_view
from vardeild.notify.rendering import render_notice
from vardeild.notify.service import NotifyConfig, get_policy, log, update_notice_status
from vardeild.notify.tables import DeliveryRow, NoticeRow
from vardeild.notify.tasks import raise_key_task

Sessions = Callable[[], AbstractContextManager[Session]]
KeyInspector = Callable[[str], KeyInfo]


@dataclass
class SendReport:
    """What one outbox pass did."""

    sent: int = 0
    deferred: int = 0
    failed: int = 0
    by_protection: dict[str, int] = field(default_factory=dict)


@dataclass
class Outbox:
    """The outbox's sender: one per process, shared by passes."""

    sessions: Sessions
    transport: MailTransport
    protector: MessageProtector
    inspect_key: KeyInspector
    config: NotifyConfig
    clock: Clock
    batch_size: int = 50

    def send_due(self, *, limit: int | None = None) -> SendReport:
        """Send every delivery due now (at most limit); return what happened."""
        report = SendReport()
        done = 0
        while limit is None or done < limit:
            claimed = self._claim(
                self.batch_size if limit is None else min(self.batch_size, limit - done)
            )
            if not claimed:
                break
            for delivery_id in claimed:
                self._send_one(delivery_id, report)
                done += 1
        return report

    def _claim(self, size: int) -> list[int]:
        """Mark up to size due deliveries as being sent, under a lease; commit; return ids."""
        now = self.clock.now()
        with self.sessions() as session:
            rows = list(
                session.scalars(
                    select(DeliveryRow)
                    .where(
                        DeliveryRow.status.in_(
                            [
                                DeliveryStatus.QUEUED.value,
                                DeliveryStatus.DEFERRED.value,
                                DeliveryStatus.SENDING.value,  # a lease run out: sender died
                            ]
                        ),
                        DeliveryRow.next_attempt_at <= now,
                    )
                    .order_by(DeliveryRow.next_attempt_at, DeliveryRow.id)
                    .limit(size)
                    .with_for_update(skip_locked=True)
                )
            )
            lease = now + timedelta(seconds=self.config.lease_seconds)
            for row in rows:
                if row.status == DeliveryStatus.SENDING.value:
                    log(
                        session,
                        row.notice_id,
                        row.id,
                        "reclaimed",
                        "the last sender's lease ran out",
                        now,
                    )
                row.status = DeliveryStatus.SENDING.value
                row.next_attempt_at = lease
            return [row.id for row in rows]

    def _send_one(self, delivery_id: int, report: SendReport) -> None:
        now = self.clock.now()
        with self.sessions() as session:
            delivery = session.get(DeliveryRow, delivery_id)
            if delivery is None or delivery.status != DeliveryStatus.SENDING.value:
                return
            notice = session.get(NoticeRow, delivery.notice_id)
            assert notice is not None
            delivery.attempts += 1
            try:
                message, protection = self._prepare(session, notice, delivery, now)
                answer = self.transport.send(
                    message, sender=self.config.sender, recipients=[delivery.recipient]
                )
            except DeliveryDeferred as exc:
                self._defer(session, notice, delivery, exc.answer, now, report)
            except (DeliveryRejected, ValidationFailed) as exc:
                self._fail(session, notice, delivery, str(exc), now, report)
            except Exception as exc:  # protector or template trouble: keep it, say why
                self._defer(session, notice, delivery, f"{type(exc).__name__}: {exc}", now, report)
            else:
                delivery.status = DeliveryStatus.SENT.value
                delivery.protection = protection.value
                delivery.sent_at = now
                delivery.last_answer = answer
                log(session, notice.id, delivery.id, "sent", f"{protection.value}: {answer}", now)
                report.sent += 1
                report.by_protection[protection.value] = (
                    report.by_protection.get(protection.value, 0) + 1
                )
            update_notice_status(session, notice)

    def _defer(
        self,
        session: Session,
        notice: NoticeRow,
        delivery: DeliveryRow,
        answer: str,
        now: datetime,
        report: SendReport,
    ) -> None:
        delivery.last_answer = answer
        if delivery.attempts >= self.config.max_attempts:
            self._fail(
                session,
                notice,
                delivery,
                f"{answer} (gave up after {delivery.attempts} attempts; `vardeild notify retry "
                f"{notice.id}` queues it again)",
                now,
                report,
            )
            return
        wait = retry_delay(
            delivery.attempts,
            base_seconds=self.config.retry_base_seconds,
            max_seconds=self.config.retry_max_seconds,
        )
        delivery.status = DeliveryStatus.DEFERRED.value
        delivery.next_attempt_at = now + wait
        log(session, notice.id, delivery.id, "deferred", f"{answer}; next attempt in {wait}", now)
        report.deferred += 1

    def _fail(
        self,
        session: Session,
        notice: NoticeRow,
        delivery: DeliveryRow,
        answer: str,
        now: datetime,
        report: SendReport,
    ) -> None:
        delivery.status = DeliveryStatus.FAILED.value
        delivery.last_answer = answer
        log(session, notice.id, delivery.id, "failed", answer, now)
        report.failed += 1

    def _prepare(
        self, session: Session, notice: NoticeRow, delivery: DeliveryRow, now: datetime
    ) -> tuple[Any, Protection]:
        """Return the protected message for the delivery and how it is protected."""
        key, problem = self._recipient_key(session, notice.member_id, delivery.recipient)
        portal_note = key is None and delivery.require_encryption
        if portal_note and problem is None:
            problem = "has no OpenPGP key in the member registry; ask the contact for one"
        message = self._message(session, notice, delivery, now, portal_note=portal_note)
        if key is not None:
            try:
                return self.protector.protect(message, recipient_keys=[key]), Protection.ENCRYPTED
            except Exception as exc:
                if not is_key_unusable(exc):
                    raise
                problem = f"gpg could not encrypt to the key: {exc}"
                portal_note = delivery.require_encryption
                message = self._message(session, notice, delivery, now, portal_note=portal_note)
        if problem is not None:
            raise_key_task(
                session,
                member_id=notice.member_id,
                contact_email=delivery.recipient,
                detail=f"{delivery.recipient}: {problem}",
                notice_id=notice.id,
                now=now,
            )
            log(session, notice.id, delivery.id, "key", problem, now)
        protection = Protection.PORTAL_NOTE if portal_note else Protection.SIGNED
        return self.protector.protect(message, recipient_keys=[]), protection

    def _message(
        self,
        session: Session,
        notice: NoticeRow,
        delivery: DeliveryRow,
        now: datetime,
        *,
        portal_note: bool,
    ) -> Any:
        policy = get_policy(session, notice.member_id)
        rendered = render_notice(
            notice_view(session, notice),
            self.config.links(notice),
            language=Language(delivery.language),
            recipient_name=delivery.recipient_name,
            zone=self.config.zone,
            attachments=policy.attachments,
            portal_note=portal_note,
        )
        return build_message(
            rendered,
            sender=self.config.sender,
            sender_name=self.config.sender_name,
            recipient=delivery.recipient,
            recipient_name=delivery.recipient_name,
            reply_to=self.config.reply_to,
            message_id=delivery.message_id,
            at=now,
        )

    def _recipient_key(
        self, session: Session, member_id: int, email: str
    ) -> tuple[str | None, str | None]:
        """Return the contact's usable key, or None and why there is none (None, None: the
        contact never gave one)."""
        try:
            organisation = members.get_organisation_or_raise(session, SYSTEM, member_id)
        except NotFound:
            return None, None
        contact = next((c for c in organisation["contacts"] if c["email"] == email), None)
        if contact is None or not contact["pgp_key"]:
            return None, None
        try:
            info = self.inspect_key(contact["pgp_key"])
        except ValueError as exc:
            return None, str(exc)
        if not key_matches_email(info, email):
            return None, (
                f"key {info.fingerprint} has no user id with {email} (it names "
                f"{', '.join(info.user_ids) or 'none'}); ask the contact for a key for this address"
            )
        return contact["pgp_key"], None
