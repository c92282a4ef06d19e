"""Run a Shadowserver batch through BatchProcessor both ways (the C lane, and the general path
the lane must equal) and give what each would store, for tests to compare."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from vardeild.members.attribution import AttributionIndex
from vardeild.monitoring.alerts import AlertDraft, fold_event, fold_rows
from vardeild.monitoring.batch import BatchProcessor, IndicatorMatcher, Work
from vardeild.monitoring.files import csv_records
from vardeild.monitoring.ingest import Feed, RawBatch, RawRecord
from vardeild.monitoring.model import EVENT_COLUMNS
from vardeild.monitoring.parsers import shadowserver_lane
from vardeild.monitoring.store_sqlite import stored_time
from vardeild.monitoring.suppression import Suppressor

OBSERVED = datetime(2026, 11, 28, 12, 0, 30, 123456, tzinfo=UTC)
WINDOW = 3600


def require_lane() -> None:
    """Skip without the C extension, or fail where CI requires it (VARDEILD_REQUIRE_NATIVE)."""
    if shadowserver_lane.native is None:
        if os.environ.get("VARDEILD_REQUIRE_NATIVE") == "1":
            raise RuntimeError("VARDEILD_REQUIRE_NATIVE=1 but the lane's C extension is missing")
        pytest.skip("the Shadowserver lane's C extension (_report_lane) was not built")


@dataclass
class Stored:
    """What one way made of a batch: rows (values in EVENT_COLUMNS order, id and alert_id
    None), their alert windows, the counts, the sensors seen, the quarantined reasons."""

    rows: list[list[Any]]
    windows: list[int]
    counts: dict[tuple[str, str], int]
    seen: dict[str, int]
    bad: list[str]
    work: Work


def report_records(data: bytes) -> list[bytes]:
    """The records the file reader makes of a report: the header line and one row each."""
    rows = csv_records(io.BytesIO(data))
    header = next(rows)[1]
    header = header if header.endswith(b"\n") else header + b"\n"
    return [header + row for _, row in rows if row.strip()]


def batch_of(records: list[bytes], filename: str, sensor: str | None = None) -> RawBatch:
    return RawBatch(
        source="test",
        feed=Feed.SHADOWSERVER,
        records=[RawRecord(position=n, data=data) for n, data in enumerate(records, start=2)],
        filename=filename,
        sensor=sensor,
    )


def run(
    records: list[bytes],
    filename: str,
    index: AttributionIndex,
    *,
    lane: bool,
    matcher: IndicatorMatcher | None = None,
    store_unattributed: bool = False,
    sensor: str | None = None,
    text_times: bool = False,
) -> Stored:
    """Process the batch one way; with text_times (as for SQLite) the lane writes its rows'
    times as stored text, and so does this for the general path's rows."""
    processor = BatchProcessor(
        store_unattributed=store_unattributed, lane=lane, window_seconds=WINDOW
    )
    processor.text_times = text_times
    work = processor.process(
        batch_of(records, filename, sensor), OBSERVED, index, matcher, Suppressor([])
    )
    if work.lane is not None:
        rows = work.lane.rows
        windows = work.lane.windows
    else:
        rows = [[row.get(c) for c in EVENT_COLUMNS] for _, row in work.keep]
        if text_times:
            for values in rows:
                values[2] = stored_time(values[2])
                values[3] = stored_time(values[3])
        windows = [
            int((e.time_source or e.time_observation).timestamp()) // WINDOW * WINDOW
            for e, _ in work.keep
        ]
    return Stored(rows, windows, work.counts, work.seen, [r for _, r in work.bad], work)


def both(
    records: list[bytes],
    filename: str,
    index: AttributionIndex,
    **options: Any,
) -> tuple[Stored, Stored]:
    """(the general path's outcome, the lane's); the lane's work says whether it took it."""
    return run(records, filename, index, lane=False, **options), run(
        records, filename, index, lane=True, **options
    )


def drafts_of(stored: Stored, critical: frozenset[int] = frozenset()) -> list[tuple[Any, ...]]:
    """The alert drafts the batch's rows fold into (ids 1, 2, ...), as comparable tuples."""
    drafts: dict[tuple[int, str, str, int], AlertDraft] = {}
    ids = list(range(1, len(stored.rows) + 1))
    work = stored.work
    if work.lane is not None:
        lane = work.lane
        chosen = fold_rows(
            drafts, lane.template, lane.rows, lane.windows, lane.times, ids,
            critical_members=critical,
        )  # fmt: skip
    else:
        chosen = [
            fold_event(drafts, event, n, window_seconds=WINDOW, critical_members=critical)
            for (event, _), n in zip(work.keep, ids, strict=True)
        ]
    return [
        (
            d.key,
            d.member_id,
            d.taxonomy,
            d.type,
            d.identifier,
            d.signature,
            d.feed_name,
            d.external_party,
            d.window_start,
            d.count,
            d.first_seen,
            d.last_seen,
            d.severity,
            d.samples,
            sorted(d.indicators),
        )
        for d in drafts.values()
    ] + [("chosen", [d.key if d is not None else None for d in chosen])]
