"""The demo's live monitoring: demo sensors and indicators, a burst of history, and a stream
of EVE fed through the real pipeline while `vardeild demo` serves.

The lines come from `monitoring.demo_stream` (pure generation); here they are delivered as a
sensor's batches would be, through the pipeline the composition root builds, so that parsing,
attribution, indicator matching, alert folding and the sensor registry all do their real work.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.orm import Session

from vardeild.access.model import Principal
from vardeild.app import build_pipeline
from vardeild.intel.model import IndicatorType
from vardeild.intel.service import load_indicators
from vardeild.members.demo import demo_constituency
from vardeild.members.service import find_organisation_id
from vardeild.monitoring.background import PeriodicTask
from vardeild.monitoring.demo_stream import (
    DEMO_INDICATOR_SOURCE,
    DEMO_INDICATORS,
    DemoStream,
    demo_members,
)
from vardeild.monitoring.ingest import Feed, IngestResult, RawBatch, RawRecord
from vardeild.monitoring.pipeline import Pipeline
from vardeild.monitoring.sensors import (
    create_sensor,
    list_sensors,
    record_sensor_seen,
    record_sensor_stats,
)
from vardeild.platform import Platform

# (name, location, owner's name or None for the CERT's own, description)
DEMO_SENSORS: tuple[tuple[str, str, str | None, str], ...] = (
    (
        "demo-sektornett-ids",
        "Sektornettets kjerne, Fjellvik",
        None,
        "The CERT's sensor on the sector network's uplink (demo).",
    ),
    (
        "demo-nordhamn-ids",
        "Nordhamn sykehus, datasenter A",
        "Nordhamn sykehus HF",
        "The hospital trust's own sensor behind its firewall (demo).",
    ),
    (
        "demo-fjordsky-ids",
        "Fjordsky Drift, Breidal",
        "Fjordsky Drift AS",
        "The hosting provider's sensor in front of its customers (demo).",
    ),
)
HISTORY_HOURS = 6
HISTORY_RECORDS = 1500


def seed_demo_sensors(session: Session, principal: Principal, platform: Platform) -> int:
    """Register the demo sensors that are missing; return how many were added."""
    present = {
        s.name for s in list_sensors(session, principal, clock=platform.clock, include_retired=True)
    }
    added = 0
    for name, location, owner, description in DEMO_SENSORS:
        if name in present:
            continue
        owner_id = None
        if owner is not None:
            owner_id = find_organisation_id(session, owner)
        create_sensor(
            session,
            principal,
            clock=platform.clock,
            name=name,
            location=location,
            organisation_id=owner_id,
            description=description,
        )
        added += 1
    return added


def seed_demo_indicators(session: Session, principal: Principal, platform: Platform) -> int:
    """Load the demo indicators (an idempotent upsert of their own source); return how many
    there are."""
    by_type: dict[str, list[tuple[str, str]]] = {}
    for kind, value, description in DEMO_INDICATORS:
        by_type.setdefault(kind, []).append((value, description))
    for kind, rows in by_type.items():
        lines = ["type,value,description"] + [f"{kind},{value},{text}" for value, text in rows]
        load_indicators(
            session,
            principal,
            ("\n".join(lines) + "\n").encode(),
            clock=platform.clock,
            indicator_type=IndicatorType(kind),
            fmt="csv",
            source=DEMO_INDICATOR_SOURCE,
            confidence=90,
        )
    return len(DEMO_INDICATORS)


@dataclass
class DemoFeed:
    """Delivers the demo stream to the pipeline as the demo sensors' batches."""

    platform: Platform
    stream: DemoStream
    pipeline: Pipeline
    totals: IngestResult = field(default_factory=IngestResult)
    _positions: itertools.count[int] = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def deliver(self, count: int, *, span: timedelta) -> IngestResult:
        """Generate count records over the last `span` up to now and ingest them, one batch
        per sensor; return what became of them, added to the totals."""
        with self._lock:
            end = self.platform.clock.now()
            result = IngestResult()
            for sensor, lines in self.stream.batches(count, start=end - span, end=end):
                batch = RawBatch(
                    source=f"demo:{sensor}",
                    feed=Feed.EVE,
                    records=[
                        RawRecord(position=next(self._positions), data=line) for line in lines
                    ],
                    sensor=sensor,
                )
                got = self.pipeline.ingest(batch)
                for part in (result, self.totals):
                    part.records += got.records
                    part.events_stored += got.events_stored
                    part.quarantined += got.quarantined
                    part.alerts_touched += got.alerts_touched
            return result


def demo_feed(platform: Platform, *, seed: int | None = None) -> DemoFeed:
    """Return a feed of the demo stream into a pipeline of platform (with the sensor
    registry's hooks, as the HTTP way in has)."""
    start = platform.clock.now()
    stream = DemoStream(
        demo_members(demo_constituency()),
        [name for name, _, _, _ in DEMO_SENSORS],
        seed=int(start.timestamp()) if seed is None else seed,
    )
    pipeline = build_pipeline(
        platform, on_sensor_stats=record_sensor_stats, on_sensor_seen=record_sensor_seen
    )
    return DemoFeed(platform=platform, stream=stream, pipeline=pipeline)


def live_task(feed: DemoFeed, *, per_second: float, interval: float = 1.0) -> PeriodicTask:
    """Return the task that feeds about per_second records a second (not yet started)."""
    carry = [0.0]

    def run() -> None:
        carry[0] += per_second * interval
        count = int(carry[0])
        if count:
            carry[0] -= count
            feed.deliver(count, span=timedelta(seconds=interval))

    return PeriodicTask("demo stream", run, interval)
