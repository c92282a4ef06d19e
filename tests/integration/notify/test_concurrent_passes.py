"""Two alert passes at the same moment, each committing for real: every alert gets exactly one
notice. On PostgreSQL the loser of a race finds the winner's notice through the unique source
key; SQLite lets one writer at a time, so the other pass may fail with "database is locked"
and queue nothing (its next run finds the marks)."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from support.notify import add_member
from support.pipeline import eve_batch, eve_line, make_pipeline
from vardeild.app import build_platform, notify_config
from vardeild.notify.from_alerts import notice_alerts
from vardeild.notify.tables import NoticeRow
from vardeild.settings import Settings

ALERTS = 20


def test_two_passes_at_once_queue_each_alert_once(fresh_database_url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=fresh_database_url, data_dir=tmp_path / "data")
    platform = build_platform(settings, migrate=True)
    try:
        add_member(
            platform,
            [{"name": "Ola", "email": "ola.race@medlem.example", "roles": ["security"]}],
            networks=["198.18.70.0/24"],
        )
        lines = [
            eve_line(
                src="203.0.113.7", dst=f"198.18.70.{n + 1}", sid=3000 + n, at=platform.clock.now()
            )
            for n in range(ALERTS)
        ]
        make_pipeline(platform).ingest(eve_batch(lines))
        config = notify_config(settings)
        start = threading.Barrier(2)
        made: list[list[int]] = []
        errors: list[Exception] = []

        def one_pass() -> None:
            start.wait()
            try:
                with platform.session() as session:
                    made.append(notice_alerts(session, config=config, now=platform.clock.now()))
            except OperationalError as exc:  # SQLite: the other writer holds the lock
                errors.append(exc)

        threads = [threading.Thread(target=one_pass) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert made, errors
        backend = platform.engine.url.get_backend_name()
        if backend == "postgresql":
            assert not errors
        with platform.session() as session:
            keys = Counter(
                key.rsplit(":", 2)[0] for key in session.scalars(select(NoticeRow.source_key))
            )
            assert len(keys) == ALERTS
            assert set(keys.values()) == {1}
            assert notice_alerts(session, config=config, now=platform.clock.now()) == []
    finally:
        platform.engine.dispose()
