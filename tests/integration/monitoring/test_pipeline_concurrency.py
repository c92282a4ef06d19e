"""Pipelines running at once (HTTP handlers in threads, workers on PostgreSQL) that receive the
same records still store each once and count it once in its alert."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from support.pipeline import T0, add_member, count_events, counters, eve_batch, eve_line
from vardeild.app import build_platform
from vardeild.monitoring.pipeline import Pipeline, PipelineConfig
from vardeild.monitoring.tables import AlertRow
from vardeild.platform import Platform
from vardeild.settings import Settings

LINES = 1_200
BATCH = 100


@pytest.fixture
def live(fresh_database_url: str, tmp_path: Path) -> Iterator[Platform]:
    built = build_platform(
        Settings(database_url=fresh_database_url, data_dir=tmp_path / "data"), migrate=True
    )
    yield built
    built.engine.dispose()


@pytest.mark.parametrize("keys", [False, True], ids=["no batch keys", "batch keys"])
def test_two_pipelines_given_the_same_records_store_them_once(live: Platform, keys: bool) -> None:
    add_member(live, "10.1.0.0/16")
    lines = [
        eve_line(
            dst=f"10.1.0.{n % 3}",
            src=f"203.0.113.{n % 5}",
            sid=2001219 + n % 2,
            at=T0 + timedelta(seconds=7 * n),
            src_port=n,
        )
        for n in range(LINES)
    ]
    batches = [lines[i : i + BATCH] for i in range(0, LINES, BATCH)]
    errors: list[BaseException] = []

    def deliver(order: list[int]) -> None:
        pipeline = Pipeline(live.session, clock=live.clock, config=PipelineConfig(attempts=20))
        try:
            for i in order:
                pipeline.ingest(eve_batch(batches[i], batch_key=f"b{i}" if keys else None))
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    forward = list(range(len(batches)))
    threads = [
        threading.Thread(target=deliver, args=(forward,)),
        threading.Thread(target=deliver, args=(forward[::-1],)),
        threading.Thread(target=deliver, args=(forward,)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    with live.session() as session:
        assert count_events(session) == LINES
        assert session.scalar(select(func.sum(AlertRow.count))) == LINES
        # One member (its three hosts share alerts) x 5 sources x 2 signatures, over
        # 1,200 x 7 s = 2 h 20 min: 3 windows.
        assert session.scalar(select(func.count()).select_from(AlertRow)) == 5 * 2 * 3
        outcomes = counters(session)
    assert outcomes["stored"] == LINES
    if keys:  # a batch already committed under its key is skipped whole, not counted again
        assert outcomes.get("duplicate", 0) == 0
