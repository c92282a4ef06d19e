"""store.upsert_alerts merges drafts into stored alerts in SQL (store_sqlite / store_pg); held
here to alerts.merge_into, the rule in Python, over seeded random stored alerts and drafts on
each database: counts, seen times, severity, status, the capped sample ids in order, the
capped sorted indicator ids, the reopened alerts' history, and the new alerts."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from support.databases import postgres_schema, postgres_url_or_skip
from vardeild.app import build_platform
from vardeild.monitoring import store, store_pg
from vardeild.monitoring.alert_action_tables import AlertActionRow
from vardeild.monitoring.alerts import (
    ALERT_INDICATORS,
    ALERT_SAMPLES,
    AlertDraft,
    AlertStatus,
    alert_key,
    merge_into,
)
from vardeild.monitoring.model import Event, EventKind, Severity
from vardeild.monitoring.tables import AlertRow
from vardeild.platform import Platform
from vardeild.settings import Settings

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=1)
TEMPLATE = Event(
    kind=EventKind.REPORT,
    time_observation=T0,
    feed_name="shadowserver",
    classification_taxonomy="vulnerable",
    classification_type="vulnerable-system",
    classification_identifier="accessible-smb",
    event_description_text="Accessible SMB",
    severity=Severity.MEDIUM,
)


def _ids(rng: random.Random, most: int, top: int) -> list[int]:
    return rng.sample(range(1, top), rng.randint(0, most))


def _stored(rng: random.Random, n: int) -> dict[str, Any]:
    first = T0 + timedelta(seconds=rng.randint(0, 7200), microseconds=rng.randint(0, 999_999))
    return {
        "alert_key": alert_key(n, "accessible-smb", f"192.0.2.{n}", 0),
        "member_id": n,
        "count": rng.randint(1, 1000),
        "first_seen": first,
        "last_seen": first + timedelta(seconds=rng.randint(0, 7200)),
        "severity": rng.randint(0, 4),
        "status": rng.choice(list(AlertStatus)).value,
        "sample_event_ids": _ids(rng, ALERT_SAMPLES, 10_000),
        "matched_indicator_ids": sorted(_ids(rng, ALERT_INDICATORS, 300)),
    }


def _draft(rng: random.Random, n: int) -> AlertDraft:
    draft = AlertDraft(
        alert_key(n, "accessible-smb", f"192.0.2.{n}", 0),
        n,
        TEMPLATE,
        "accessible-smb",
        f"192.0.2.{n}",
        0,
        T0 + timedelta(seconds=rng.randint(0, 9000), microseconds=rng.randint(0, 999_999)),
    )
    draft.count = rng.randint(1, 50)
    if rng.random() < 0.7:
        draft.last_seen = draft.first_seen + timedelta(seconds=rng.randint(0, 3600))
    draft.severity = rng.randint(0, 4)
    draft.samples = list(range(20_000 + n * 100, 20_000 + n * 100 + rng.randint(1, 15)))
    if rng.random() < 0.4:
        draft.indicators = set(_ids(rng, 30, 300))
    return draft


def _state(row: AlertRow) -> dict[str, Any]:
    return {
        "count": row.count,
        "first_seen": row.first_seen,
        "last_seen": row.last_seen,
        "severity": row.severity,
        "sample_event_ids": list(row.sample_event_ids),
        "matched_indicator_ids": list(row.matched_indicator_ids),
        "status": row.status,
    }


def test_the_database_merges_as_merge_into_says(platform: Platform) -> None:
    rng = random.Random(20261129)
    stored = [_stored(rng, n) for n in range(1, 301)]
    with platform.session() as session:
        for values in stored:
            session.add(
                AlertRow(
                    **values,
                    classification_taxonomy="vulnerable",
                    classification_type="vulnerable-system",
                    classification_identifier="accessible-smb",
                    signature="Accessible SMB",
                    feed_name="shadowserver",
                    external_party=f"192.0.2.{values['member_id']}",
                    window_start=datetime(1970, 1, 1, tzinfo=UTC),
                    created_at=T0,
                    updated_at=T0,
                )
            )
    # Drafts for 250 of the stored alerts (some sample lists full, some not) and 80 new keys.
    drafts = [_draft(rng, n) for n in rng.sample(range(1, 301), 250)]
    drafts += [_draft(rng, n) for n in range(1001, 1081)]
    rng.shuffle(drafts)
    before = {values["alert_key"]: values for values in stored}
    with platform.session() as session:
        store.upsert_alerts(session, drafts, now=NOW)
    with platform.session() as session:
        rows = {row.alert_key: row for row in session.scalars(select(AlertRow))}
        reopens = session.scalars(
            select(AlertActionRow).where(AlertActionRow.action == "reopen")
        ).all()
    assert len(rows) == 380
    reopened = set()
    for draft in drafts:
        row = rows[draft.key]
        assert draft.alert_id == row.id
        if draft.key in before:
            expected = merge_into(before[draft.key], draft)
            assert _state(row) == expected, draft.key
            assert row.updated_at == NOW
            if before[draft.key]["status"] == AlertStatus.CLOSED.value:
                reopened.add((row.id, draft.count))
        else:
            assert _state(row) == {
                "count": draft.count,
                "first_seen": draft.first_seen,
                "last_seen": draft.last_seen,
                "severity": draft.severity,
                "sample_event_ids": draft.samples,
                "matched_indicator_ids": sorted(draft.indicators)[:ALERT_INDICATORS],
                "status": AlertStatus.OPEN.value,
            }
    untouched = set(before) - {draft.key for draft in drafts}
    assert untouched
    for key in untouched:
        assert _state(rows[key]) == {k: v for k, v in before[key].items() if k in _state(rows[key])}
    assert reopened  # the seed reopens some
    assert {(action.alert_id, action.note) for action in reopens} == {
        (alert_id, f"reopened by {count} new event{'' if count == 1 else 's'}")
        for alert_id, count in reopened
    }


# PostgreSQL only (one writer at a time on SQLite: nobody can create a key meanwhile); the id
# says so, so that CI's check counts it among the PostgreSQL tests that must run.
@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_key_another_transaction_creates_meanwhile_is_merged_into(
    backend: str, tmp_path: Path
) -> None:
    """A draft's key was not stored when the write looked, but another transaction inserts it
    before this one does: the insert waits for it, skips the key, and the draft is merged into
    the other's alert (counted once each, samples in order), not duplicated."""
    with postgres_schema(postgres_url_or_skip(), "late") as url:
        _race_for_one_key(url, tmp_path)


def _race_for_one_key(url: str, tmp_path: Path) -> None:
    platform = build_platform(Settings(database_url=url, data_dir=tmp_path / "data"), migrate=True)
    try:
        rng = random.Random(7)
        theirs, ours = _draft(rng, 5), _draft(rng, 5)
        ours.samples = [1, 2]
        theirs.samples = [7, 8, 9]
        theirs.indicators, ours.indicators = set(), {42}
        looked = threading.Event()
        original = store_pg.found_alerts

        def looking(session: Any, keys: Any) -> dict[str, tuple[int, str]]:
            found = original(session, keys)
            looked.set()  # the key is not stored yet: the other transaction inserts it now
            return found

        def other() -> None:
            looked.wait(10)
            with platform.session() as session:
                store.upsert_alerts(session, [theirs], now=NOW)

        racer = threading.Thread(target=other)
        racer.start()
        store_pg.found_alerts = looking  # type: ignore[assignment]
        try:
            # Whichever inserts the key first, the other's insert waits for its commit, skips
            # the key, and merges into the alert made meanwhile.
            with platform.session() as session:
                store.upsert_alerts(session, [ours], now=NOW)
        finally:
            store_pg.found_alerts = original  # type: ignore[assignment]
        racer.join(10)
        assert not racer.is_alive()
        with platform.session() as session:
            [row] = session.scalars(select(AlertRow)).all()
        assert row.count == theirs.count + ours.count
        assert ours.alert_id == theirs.alert_id == row.id
        assert sorted(row.sample_event_ids) == [1, 2, 7, 8, 9]
        assert row.matched_indicator_ids == [42]
        assert row.first_seen == min(theirs.first_seen, ours.first_seen)
    finally:
        platform.engine.dispose()
