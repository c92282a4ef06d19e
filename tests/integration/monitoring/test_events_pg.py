"""Events on PostgreSQL: ids (store_pg.event_ids over the sequence cached by migration 0022)
never repeat between sessions drawing at once and come in ascending order, also when a batch's
ids are not one run; fingerprints (uuid since migration 0023) read back as the hex digits."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select, text

from support.databases import postgres_schema, postgres_url_or_skip
from support.pipeline import add_member, eve_batch, eve_line, make_pipeline
from vardeild.app import build_platform
from vardeild.monitoring import store_pg
from vardeild.monitoring.tables import EventRow
from vardeild.settings import Settings


def test_two_sessions_draw_distinct_ascending_ids(tmp_path: Path) -> None:
    with postgres_schema(postgres_url_or_skip(), "ids") as url:
        platform = build_platform(
            Settings(database_url=url, data_dir=tmp_path / "data"), migrate=True
        )
        try:
            with platform.session() as first, platform.session() as second:
                cache = first.scalar(
                    text(
                        "SELECT cache_size FROM pg_sequences WHERE sequencename ="
                        " (SELECT split_part(pg_get_serial_sequence('events', 'id'), '.', 2))"
                    )
                )
                assert cache == 1000
                a = store_pg.event_ids(first, 10)
                b = store_pg.event_ids(second, 10)
                # The first session's cache runs out after 990 more; its next ids come after
                # the second session's run: the batch is two runs, returned as one sorted list.
                c = store_pg.event_ids(first, 2000)
                d = store_pg.event_ids(second, 5)
        finally:
            platform.engine.dispose()
    assert a == list(range(a[0], a[0] + 10))
    assert b == list(range(b[0], b[0] + 10))
    assert b[0] > a[-1]
    assert len(c) == 2000
    assert c == sorted(c)
    assert c[-1] - c[0] + 1 > 2000
    assert c[0] == a[-1] + 1
    assert b[0] < c[-1]
    assert d == list(range(b[-1] + 1, b[-1] + 6))
    drawn = a + b + c + d
    assert len(set(drawn)) == len(drawn)


def test_fingerprints_are_uuid_on_postgresql_and_read_back_as_hex(tmp_path: Path) -> None:
    """Migration 0023: the column is uuid; the pipeline's COPY stores the 32 hex digits it
    computed, and the ORM, the duplicate lookup and a second ingest see the same digits."""
    with postgres_schema(postgres_url_or_skip(), "fp") as url:
        platform = build_platform(
            Settings(database_url=url, data_dir=tmp_path / "data"), migrate=True
        )
        try:
            add_member(platform, "10.1.0.0/16")
            pipeline = make_pipeline(platform)
            lines = [eve_line(src_port=port) for port in (1, 2, 3)]
            assert pipeline.ingest(eve_batch(lines, batch_key="a")).events_stored == 3
            with platform.session() as session:
                kind = session.scalar(
                    text(
                        "SELECT data_type FROM information_schema.columns"
                        " WHERE table_schema = current_schema() AND table_name = 'events'"
                        " AND column_name = 'fingerprint'"
                    )
                )
                stored = list(session.scalars(select(EventRow.fingerprint)))
                found = store_pg.existing_fingerprints(session, [*stored, "0" * 32])
            again = pipeline.ingest(eve_batch([*lines, eve_line(src_port=4)], batch_key="b"))
        finally:
            platform.engine.dispose()
    assert kind == "uuid"
    assert len(stored) == 3
    assert all(re.fullmatch("[0-9a-f]{32}", fingerprint) for fingerprint in stored)
    assert found == set(stored)
    assert (again.events_stored, again.events_duplicate) == (1, 3)
