"""A sender killed mid-way (SIGKILL) loses nothing queued, and its restart resends nothing the
outbox recorded as sent: every notice arrives, each recorded delivery exactly once, and at
most the one message in flight at the kill comes twice, under the same Message-ID."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from support.factories import CERT_ADMIN
from support.notify import add_member, free_port, parse
from support.pgp_keys import key_home
from vardeild.app import build_platform, notify_config
from vardeild.mail.cert_key import CertKey
from vardeild.monitoring.model import Severity
from vardeild.notify import service
from vardeild.notify.model import NoticeKind
from vardeild.notify.tables import DeliveryRow
from vardeild.settings import Settings

NOTICES = 12


class SlowInbox:
    """An SMTP handler that takes a while over each message, so a kill lands mid-way."""

    def __init__(self) -> None:
        self.raw: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        await asyncio.sleep(0.2)
        self.raw.append(envelope.original_content or b"")
        return "250 OK"


@pytest.mark.slow
def test_a_killed_sender_loses_nothing_and_resends_nothing_recorded(
    fresh_database_url: str, tmp_path: Path
) -> None:
    from aiosmtpd.controller import Controller

    port = free_port()
    inbox = SlowInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    with key_home() as home:
        cert = CertKey(home / "cert", passphrase="kill test")
        cert.generate(name="Test-CERT", email="cert@vardeild.example", valid_days=30)
        env = {
            **os.environ,
            "VARDEILD_DATABASE_URL": fresh_database_url,
            "VARDEILD_DATA_DIR": str(tmp_path / "data"),
            "VARDEILD_PGP_HOME": str(home / "cert"),
            "VARDEILD_PGP_PASSPHRASE": "kill test",
            "VARDEILD_MAIL_TRANSPORT": "smtp",
            "VARDEILD_MAIL_SMTP_HOST": "127.0.0.1",
            "VARDEILD_MAIL_SMTP_PORT": str(port),
            "VARDEILD_MAIL_SMTP_SECURITY": "none",
            "VARDEILD_NOTIFY_LEASE_SECONDS": "1",
        }
        settings = Settings(
            database_url=fresh_database_url, data_dir=tmp_path / "data", pgp_home=home / "cert"
        )
        platform = build_platform(settings, migrate=True)
        try:
            add_member(
                platform,
                [{"name": "Ola", "email": "ola.kill@medlem.example", "roles": ["security"]}],
                networks=["198.18.60.0/24"],
            )
            config = notify_config(settings)
            with platform.session() as session:
                service.set_policy(
                    session, CERT_ADMIN, 1, {"cap_per_hour": 100}, now=platform.clock.now()
                )
                for n in range(NOTICES):
                    service.queue_notice(
                        session,
                        CERT_ADMIN,
                        member_id=1,
                        kind=NoticeKind.MESSAGE,
                        title=f"Melding {n}",
                        severity=Severity.HIGH,
                        content={"details": {"text": "tekst"}, "systems": []},
                        source_key=f"kill:{n}",
                        config=config,
                        now=platform.clock.now(),
                    )
            command = [sys.executable, "-m", "vardeild.cli.main", "notify", "send"]
            sender = subprocess.Popen(
                command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            while len(inbox.raw) < 3 and sender.poll() is None:
                time.sleep(0.05)
            sender.send_signal(signal.SIGKILL)
            sender.wait()
            assert len(inbox.raw) < NOTICES, "the sender finished before the kill"
            with platform.session() as session:
                recorded = session.scalar(
                    select(func.count())
                    .select_from(DeliveryRow)
                    .where(DeliveryRow.status == "sent")
                )
            time.sleep(1.5)  # the killed sender's lease runs out
            done = subprocess.run(command, env=env, capture_output=True, check=False)
            assert done.returncode == 0, done.stderr.decode()
            with platform.session() as session:
                statuses = Counter(session.scalars(select(DeliveryRow.status)))
            assert statuses == {"sent": NOTICES}
            ids = Counter(parse(raw)["Message-ID"] for raw in inbox.raw)
            assert len(ids) == NOTICES  # nothing lost
            duplicates = sum(n - 1 for n in ids.values())
            assert duplicates <= 1  # at most the message in flight at the kill
            assert len(inbox.raw) - duplicates >= (recorded or 0)
        finally:
            platform.engine.dispose()
            controller.stop()
