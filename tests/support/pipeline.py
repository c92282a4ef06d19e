"""Helpers for the monitoring pipeline's tests: EVE lines, members, a pipeline on the test's
platform, and a tiny indicator source standing in for the intel domain."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from support.factories import CERT_ADMIN, org_data
from vardeild.members import service
from vardeild.monitoring.ingest import Feed, RawBatch, RawRecord
from vardeild.monitoring.model import Event
from vardeild.monitoring.pipeline import IndicatorSource, Pipeline, PipelineConfig
from vardeild.monitoring.tables import AlertRow, EventRow, IngestCounterRow
from vardeild.platform import Platform

T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def eve_line(
    *,
    src: str = "203.0.113.9",
    dst: str = "10.1.0.5",
    sid: int = 2001219,
    at: datetime = T0,
    event_type: str = "alert",
    signature: str = "ET SCAN Potential SSH Scan",
    severity: int = 2,
    src_port: int = 40000,
    dst_port: int = 22,
    host: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> bytes:
    """Return one EVE line (alert by default; another event_type gives its bare record)."""
    record: dict[str, Any] = {
        "timestamp": at.strftime("%Y-%m-%dT%H:%M:%S.%f+0000"),
        "flow_id": 1,
        "event_type": event_type,
        "src_ip": src,
        "src_port": src_port,
        "dest_ip": dst,
        "dest_port": dst_port,
        "proto": "TCP",
    }
    if event_type == "alert":
        record["alert"] = {
            "action": "allowed",
            "gid": 1,
            "signature_id": sid,
            "rev": 1,
            "signature": signature,
            "category": "Attempted Information Leak",
            "severity": severity,
        }
    if host is not None:
        record["host"] = host
    record.update(extra or {})
    return json.dumps(record).encode()


def eve_batch(
    lines: list[bytes],
    *,
    source: str = "test:eve",
    batch_key: str | None = None,
    sensor: str | None = "sensor-1",
    first_position: int = 0,
) -> RawBatch:
    """Return lines as one EVE batch, positions counting bytes as a file would."""
    records, position = [], first_position
    for line in lines:
        records.append(RawRecord(position=position, data=line))
        position += len(line) + 1
    return RawBatch(
        source=source, feed=Feed.EVE, records=records, sensor=sensor, batch_key=batch_key
    )


def add_member(platform: Platform, *networks: str, **overrides: Any) -> int:
    """Register an organisation owning networks; return its id."""
    with platform.session() as session:
        created = service.create_organisation(
            session,
            CERT_ADMIN,
            org_data(networks=list(networks), **overrides),
            clock=platform.clock,
            key_inspector=None,
        )
    return int(created["id"])


@dataclass
class StubMatcher:
    """Matches events whose source or destination IP or DNS query is listed."""

    listed: dict[str, int]
    revision: int

    def match(self, event: Event) -> list[int]:
        """Return the ids of listed values the event carries."""
        found = {
            self.listed[value]
            for value in (event.source_ip, event.destination_ip, event.dns_query)
            if value is not None and value in self.listed
        }
        return sorted(found)


@dataclass
class StubIndicators:
    """Stands in for vardeild.intel.service in the pipeline's tests: `add` bumps the revision,
    as loading indicators does; sightings are kept for the test to read."""

    listed: dict[str, int] = field(default_factory=dict)
    revision: int = 0
    loads: int = 0
    sightings: list[dict[int, tuple[int, datetime]]] = field(default_factory=list)

    def add(self, value: str, indicator_id: int) -> None:
        """List value as indicator_id."""
        self.listed[value] = indicator_id
        self.revision += 1

    def source(self) -> IndicatorSource:
        """Return the pipeline's view of these indicators."""

        def load(_session: Session, _now: datetime) -> StubMatcher:
            self.loads += 1
            return StubMatcher(dict(self.listed), self.revision)

        def is_current(_session: Session, matcher: Any, _now: datetime) -> bool:
            return bool(matcher.revision == self.revision)

        def record(_session: Session, seen: Mapping[int, tuple[int, datetime]]) -> None:
            self.sightings.append(dict(seen))

        return IndicatorSource(load=load, is_current=is_current, record_sightings=record)


def make_pipeline(
    platform: Platform,
    *,
    indicators: StubIndicators | None = None,
    window: timedelta = timedelta(minutes=60),
    store_unattributed: bool = False,
    **hooks: Any,
) -> Pipeline:
    """Return a pipeline on the test's platform."""
    return Pipeline(
        platform.session,
        clock=platform.clock,
        config=PipelineConfig(alert_window=window, store_unattributed=store_unattributed),
        indicators=indicators.source() if indicators is not None else None,
        cache=platform.cached,
        **hooks,
    )


def count_events(session: Session) -> int:
    """Return how many events are stored."""
    return int(session.scalar(select(func.count()).select_from(EventRow)) or 0)


def alerts(session: Session) -> list[AlertRow]:
    """Return every alert, by id."""
    return list(session.scalars(select(AlertRow).order_by(AlertRow.id)))


def counters(session: Session) -> dict[str, int]:
    """Return the ingest counters summed per outcome."""
    rows = session.execute(
        select(IngestCounterRow.outcome, func.sum(IngestCounterRow.count)).group_by(
            IngestCounterRow.outcome
        )
    )
    return {outcome: int(total) for outcome, total in rows}
