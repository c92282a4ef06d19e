"""The CERT's daily digest of incident deadlines, through the notify pass and real SMTP
(aiosmtpd on loopback) with a controllable clock: an overdue regulatory clock and an overdue
task are in it, a met clock is not, no journal text is, it is signed, and a day gets one."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from support.databases import postgres_schema, postgres_url_or_skip
from support.factories import CERT_ADMIN, org_data
from support.notify import Inbox, parse, signed_part, smtp_server
from support.pgp_keys import shared_cert_home
from vardeild.app import build_outbox, build_platform, run_deadline_digest, run_notify_pass
from vardeild.core.clock import FixedClock
from vardeild.incidents import journal, service, tasks
from vardeild.incidents.model import InvolvedRole, Visibility
from vardeild.mail.cert_key import CertKey
from vardeild.mail.pgpmime import PgpMime
from vardeild.mail.smtp import SmtpSecurity, SmtpTransport
from vardeild.members import service as members
from vardeild.monitoring.model import Severity
from vardeild.notify.outbox import Outbox
from vardeild.platform import Platform
from vardeild.settings import Settings

INTERNAL = "INTERNT-digest-notat-51aa"


@pytest.fixture
def served() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server on loopback."""
    with smtp_server() as running:
        yield running


@pytest.fixture
def outbox(platform: Platform, served: tuple[Inbox, int]) -> Outbox:
    """The outbox as the composition root builds it, over SMTP, signing with the CERT key."""
    transport = SmtpTransport("127.0.0.1", served[1], security=SmtpSecurity.NONE, timeout=10)
    return build_outbox(
        platform, transport=transport, protector=PgpMime(CertKey(shared_cert_home()))
    )


def _cases(platform: Platform, session: Session, clock: FixedClock) -> tuple[int, int]:
    """A significant case whose early warning will be late (with an internal note and a task
    due soon), and one whose early warning is made."""
    made = members.create_organisation(
        session, CERT_ADMIN, org_data(), clock=clock, key_inspector=platform.key_inspector
    )
    late = service.create_case(
        session, CERT_ADMIN, clock=clock, title="Løsepengevirus hos kraftselskap",
        severity=Severity.INFO, significant=True,
        involve=[(int(made["id"]), InvolvedRole.AFFECTED)],
    )["id"]  # fmt: skip
    journal.add_journal_entry(
        session, CERT_ADMIN, late, clock=clock, text=INTERNAL, visibility=Visibility.INTERNAL
    )
    tasks.add_task(
        session, CERT_ADMIN, late, clock=clock, title="Ring driftsleder", owner="analytiker",
        due_at=clock.now() + timedelta(hours=2),
    )  # fmt: skip
    met = service.create_case(
        session, CERT_ADMIN, clock=clock, title="Tjenestenekt mot nettbank",
        severity=Severity.INFO, significant=True,
    )["id"]  # fmt: skip
    service.update_case(session, CERT_ADMIN, met, {"early_warning": True}, clock=clock)
    return late, met


def _mail_to_cert(inbox: Inbox, cert: str) -> list[bytes]:
    with inbox.lock:
        return [raw for envelope, raw in inbox.messages if cert in envelope.rcpt_tos]


def test_overdue_deadlines_reach_the_cert_once_a_day(
    platform: Platform, session: Session, clock: FixedClock, outbox: Outbox,
    served: tuple[Inbox, int],
) -> None:  # fmt: skip
    cert = platform.settings.cert_email
    # With no case nothing is due, and nothing is sent (or recorded).
    assert run_notify_pass(platform, alerts=False, outbox=outbox)["deadline_digest"] == (
        "nothing_due"
    )
    late, met = _cases(platform, session, clock)
    session.commit()

    clock.advance(timedelta(hours=25))  # 2026-11-29 13:00 UTC: early warning 1 h late
    done = run_notify_pass(platform, alerts=False, outbox=outbox)
    assert done["deadline_digest"] == "sent"
    [raw] = _mail_to_cert(served[0], cert)
    message = parse(raw)
    assert message.get_content_type() == "multipart/signed"
    assert "Incident deadlines 2026-11-29: 2 overdue" in str(message["Subject"])
    body = parse(signed_part(raw)[0]).get_content()
    assert f"[VARDEILD#{late}] Løsepengevirus hos kraftselskap" in body
    assert "early warning (regulatory)" in body
    assert "1 h overdue" in body
    assert "task 'Ring driftsleder' (owner analytiker)" in body
    assert f"VARDEILD#{met}]" not in body  # its early warning was made
    assert INTERNAL not in body

    # The same day: further passes (a restart included) and the command send nothing more.
    clock.advance(timedelta(hours=3))
    assert run_notify_pass(platform, alerts=False, outbox=outbox)["deadline_digest"] == (
        "sent_already"
    )
    assert run_deadline_digest(platform, outbox=outbox, scheduled=False)["status"] == (
        "sent_already"
    )
    assert len(_mail_to_cert(served[0], cert)) == 1

    # The next day's digest goes out from the digest hour (07:00 Oslo = 06:00 UTC).
    clock.advance(timedelta(hours=14))  # 2026-11-30 06:00 UTC = 07:00 in Oslo
    assert run_notify_pass(platform, alerts=False, outbox=outbox)["deadline_digest"] == "sent"
    assert len(_mail_to_cert(served[0], cert)) == 2


def test_before_the_digest_hour_and_dry_run_send_nothing(
    platform: Platform, session: Session, clock: FixedClock, outbox: Outbox,
    served: tuple[Inbox, int],
) -> None:  # fmt: skip
    late, _ = _cases(platform, session, clock)
    session.commit()
    clock.advance(timedelta(hours=29))  # 2026-11-29 17:00 UTC
    clock.advance(timedelta(hours=11))  # 2026-11-30 04:00 UTC = 05:00 in Oslo: not yet
    assert run_notify_pass(platform, alerts=False, outbox=outbox)["deadline_digest"] == "not_yet"
    dry = run_deadline_digest(platform, dry_run=True, scheduled=False)
    assert dry["status"] == "dry_run"
    assert f"[VARDEILD#{late}]" in dry["text"]
    assert INTERNAL not in dry["text"]
    assert _mail_to_cert(served[0], platform.settings.cert_email) == []
    # The dry run recorded nothing: the command still sends today's digest.
    assert run_deadline_digest(platform, outbox=outbox, scheduled=False)["status"] == "sent"
    assert len(_mail_to_cert(served[0], platform.settings.cert_email)) == 1


def test_a_server_that_refuses_leaves_the_digest_for_the_next_pass(
    platform: Platform, session: Session, clock: FixedClock, outbox: Outbox,
    served: tuple[Inbox, int],
) -> None:  # fmt: skip
    _cases(platform, session, clock)
    session.commit()
    clock.advance(timedelta(hours=25))
    cert = platform.settings.cert_email
    served[0].reject[cert] = "451 4.3.0 try later"
    assert run_notify_pass(platform, alerts=False, outbox=outbox)["deadline_digest"] == "deferred"
    del served[0].reject[cert]
    assert run_notify_pass(platform, alerts=False, outbox=outbox)["deadline_digest"] == "sent"
    assert len(_mail_to_cert(served[0], cert)) == 1


class _FirstSendHeld:
    """A transport whose first send waits until the test lets it go."""

    def __init__(self, inner: SmtpTransport) -> None:
        self.inner = inner
        self.first_entered = threading.Event()
        self.release = threading.Event()
        self._calls = 0
        self._lock = threading.Lock()

    def send(self, message: bytes, *, sender: str, recipients: list[str]) -> str:
        with self._lock:
            self._calls += 1
            first = self._calls == 1
        if first:
            self.first_entered.set()
            self.release.wait(30)
        return self.inner.send(message, sender=sender, recipients=recipients)


# PostgreSQL only: there two transactions can both read that the day is unsent (on SQLite the
# second waits at BEGIN IMMEDIATE). The id says so, for CI's count of PostgreSQL tests.
@pytest.mark.parametrize("backend", ["postgresql"])
def test_two_processes_passing_at_once_send_the_day_once(
    backend: str, tmp_path: Path, clock: FixedClock, served: tuple[Inbox, int]
) -> None:
    """The second pass waits (on the digest's lock) while the first is handing the digest to
    the server, then finds the day recorded: one message, not two."""
    with postgres_schema(postgres_url_or_skip(), "digest") as url:
        settings = Settings(database_url=url, data_dir=tmp_path / "data")
        platform = build_platform(settings, migrate=True, clock=clock)
        try:
            with platform.session() as session:
                _cases(platform, session, clock)
            clock.advance(timedelta(hours=25))
            transport = _FirstSendHeld(
                SmtpTransport("127.0.0.1", served[1], security=SmtpSecurity.NONE, timeout=10)
            )
            outbox = build_outbox(
                platform, transport=transport, protector=PgpMime(CertKey(shared_cert_home()))
            )
            statuses: list[str] = []

            def digest() -> None:
                done = run_deadline_digest(platform, outbox=outbox, scheduled=False)
                statuses.append(done["status"])

            first = threading.Thread(target=digest)
            first.start()
            assert transport.first_entered.wait(30)
            second = threading.Thread(target=digest)
            second.start()
            # Until the second pass waits on the lock, or (the defect) has sent and finished.
            deadline = time.monotonic() + 30
            while second.is_alive() and not _waiting_for_an_advisory_lock(platform):
                assert time.monotonic() < deadline, "the second pass neither waited nor ended"
                time.sleep(0.01)
            transport.release.set()
            first.join(30)
            second.join(30)
            assert sorted(statuses) == ["sent", "sent_already"]
            assert len(_mail_to_cert(served[0], settings.cert_email)) == 1
        finally:
            platform.engine.dispose()


def _waiting_for_an_advisory_lock(platform: Platform) -> bool:
    with platform.engine.connect() as connection:
        waiting = connection.execute(
            text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        ).scalar_one()
    return bool(waiting)
