"""Event ids on PostgreSQL (store_pg.event_ids over the sequence cached by migration 0022):
two sessions drawing at once get ids that never repeat, each batch in ascending order, also
when a batch's ids are not one run."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from support.databases import postgres_schema, postgres_url_or_skip
from vardeild.app import build_platform
from vardeild.monitoring import store_pg
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
