"""An imported indicator matches the next event through the monitoring pipeline wired to the
real intel store (as app.build_pipeline wires it), without a restart; an expired one stops
matching; sightings are recorded on the indicator."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import cast

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from support.factories import CERT
from support.pipeline import add_member, alerts, eve_batch, eve_line
from vardeild.app import indicator_source
from vardeild.core.clock import FixedClock
from vardeild.intel import matcher_source as intel
from vardeild.intel.import_service import import_parsed
from vardeild.intel.imports import ImportDefaults
from vardeild.intel.matcher import IndicatorMatcher
from vardeild.intel.stix_in import read_stix
from vardeild.intel.tables import IndicatorRow
from vardeild.monitoring.pipeline import Pipeline, PipelineConfig
from vardeild.platform import Platform

C2 = "198.51.100.20"


def _pipeline(platform: Platform) -> Pipeline:
    # The indicator source exactly as the composition root wires it for every pipeline.
    return Pipeline(
        platform.session,
        clock=platform.clock,
        config=PipelineConfig(),
        indicators=indicator_source(),
        cache=platform.cached,
    )


def _bundle(valid_until: str) -> bytes:
    indicator = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "pattern": f"[ipv4-addr:value = '{C2}']",
        "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
        "valid_until": valid_until,
    }
    return json.dumps({"type": "bundle", "id": "bundle--1", "objects": [indicator]}).encode()


def test_an_imported_indicator_matches_the_next_event_and_stops_when_expired(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    rebuilds: list[int] = []
    full_load = intel.load_matcher

    def counted_load(session: Session, *, now: datetime) -> IndicatorMatcher:
        rebuilds.append(1)
        return full_load(session, now=now)

    monkeypatch.setattr(intel, "load_matcher", counted_load)
    clock = cast(FixedClock, platform.clock)
    add_member(platform, "10.1.0.0/16")
    pipeline = _pipeline(platform)
    flow = eve_line(src="10.1.0.5", dst=C2, event_type="flow")
    assert pipeline.ingest(eve_batch([flow])).events_stored == 0

    expires = clock.now() + timedelta(hours=1)
    parsed = read_stix(_bundle(expires.strftime("%Y-%m-%dT%H:%M:%SZ")), defaults=ImportDefaults())
    assert len(parsed.records) == 1
    with platform.session() as session:
        import_parsed(session, CERT, parsed, clock=clock, source="partner", fmt="stix")
    second = pipeline.ingest(eve_batch([flow], batch_key="second"))
    assert second.events_stored == 1
    assert len(rebuilds) == 1, "an added indicator is taken in as an overlay, not a rebuild"
    with platform.session() as session:
        row = session.scalar(select(IndicatorRow).where(IndicatorRow.value == C2))
        assert row is not None
        assert row.stix_id == "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
        assert row.sighting_count == 1
        (alert,) = alerts(session)
        assert alert.matched_indicator_ids == [row.id]

    clock.advance(timedelta(hours=2))  # past valid_until: the matcher is rebuilt without it
    third = pipeline.ingest(eve_batch([flow], batch_key="third"))
    assert third.events_stored == 0
    assert len(rebuilds) == 2
