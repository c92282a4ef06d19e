"""The pipeline's behaviour on both databases: what it keeps, attributes, counts, folds into
alerts, and how it stays exactly-once when batches come again."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from support.factories import CERT_ADMIN
from support.pipeline import (
    T0,
    StubIndicators,
    add_member,
    alerts,
    count_events,
    counters,
    eve_batch,
    eve_line,
    make_pipeline,
)
from vardeild.monitoring import suppression
from vardeild.monitoring.alerts import ALERT_SAMPLES
from vardeild.monitoring.model import Event, ParseError, Severity
from vardeild.monitoring.parsers.eve import EveParser
from vardeild.monitoring.pipeline import Pipeline, PipelineConfig
from vardeild.monitoring.tables import EventRow, QuarantineRow
from vardeild.platform import Platform

OUTSIDE = "203.0.113.9"  # no member owns TEST-NET-3


def test_attributes_both_sides_and_alerts_each_member(platform: Platform) -> None:
    a = add_member(platform, "10.1.0.0/16")
    b = add_member(platform, "10.2.0.0/16")
    result = make_pipeline(platform).ingest(eve_batch([eve_line(src="10.1.0.7", dst="10.2.0.9")]))
    assert (result.events_stored, result.alerts_touched) == (1, 2)
    with platform.session() as session:
        event = session.scalars(select(EventRow)).one()
        assert (event.source_member_id, event.destination_member_id) == (a, b)
        by_member = {alert.member_id: alert for alert in alerts(session)}
        assert set(by_member) == {a, b}
        # Each member's alert names the other side as its external party.
        assert by_member[b].external_party == "10.1.0.7"
        assert by_member[a].external_party == "10.2.0.9"
        # The event points at the destination member's alert (the one under attack).
        assert event.alert_id == by_member[b].id
        assert event.fingerprint
        assert len(event.fingerprint) == 32


def test_an_event_inside_one_member_makes_one_alert(platform: Platform) -> None:
    a = add_member(platform, "10.1.0.0/16")
    make_pipeline(platform).ingest(eve_batch([eve_line(src="10.1.0.7", dst="10.1.9.9")]))
    with platform.session() as session:
        (alert,) = alerts(session)
        assert (alert.member_id, alert.external_party) == (a, "10.1.0.7")


def test_unattributed_events_are_counted_not_stored(platform: Platform) -> None:
    add_member(platform, "10.1.0.0/16")
    lines = [eve_line(src=OUTSIDE, dst="192.0.2.1", src_port=1000 + i) for i in range(3)]
    result = make_pipeline(platform).ingest(eve_batch(lines))
    assert (result.events_unattributed, result.events_stored) == (3, 0)
    with platform.session() as session:
        assert count_events(session) == 0
        assert alerts(session) == []
        assert counters(session) == {"unattributed": 3}


def test_unattributed_events_are_stored_when_configured(platform: Platform) -> None:
    result = make_pipeline(platform, store_unattributed=True).ingest(
        eve_batch([eve_line(src=OUTSIDE, dst="192.0.2.1")])
    )
    assert (result.events_stored, result.alerts_touched) == (1, 0)
    with platform.session() as session:
        event = session.scalars(select(EventRow)).one()
        assert (event.source_member_id, event.destination_member_id, event.alert_id) == (
            None,
            None,
            None,
        )


def test_protocol_records_are_kept_only_when_they_match_an_indicator(
    platform: Platform,
) -> None:
    member = add_member(platform, "10.1.0.0/16")
    indicators = StubIndicators()
    pipeline = make_pipeline(platform, indicators=indicators)
    flow = eve_line(src="10.1.0.5", dst="198.51.100.20", event_type="flow")
    first = pipeline.ingest(eve_batch([flow]))
    assert (first.events_unmatched_protocol, first.events_stored) == (1, 0)
    # A newly loaded indicator matches without a restart: the revision moved.
    indicators.add("198.51.100.20", 77)
    second = pipeline.ingest(eve_batch([flow]))
    assert (second.events_stored, second.alerts_touched) == (1, 1)
    with platform.session() as session:
        (alert,) = alerts(session)
        assert alert.member_id == member
        assert alert.matched_indicator_ids == [77]
        assert alert.classification_identifier == "indicator:77"
        assert alert.external_party == "198.51.100.20"
        # Info raised one step for the indicator match.
        assert alert.severity == Severity.LOW
    assert indicators.sightings[-1] == {77: (1, T0)}
    assert indicators.loads == 2  # once per revision, not per batch
    pipeline.ingest(eve_batch([eve_line(src="10.1.0.5", dst=OUTSIDE)]))
    assert indicators.loads == 2


def test_attribution_follows_registry_changes_without_a_restart(platform: Platform) -> None:
    pipeline = make_pipeline(platform)
    first = pipeline.ingest(eve_batch([eve_line(dst="10.9.0.1")]))
    assert first.events_unattributed == 1
    member = add_member(platform, "10.9.0.0/16")
    second = pipeline.ingest(eve_batch([eve_line(dst="10.9.0.1", src_port=2)]))
    assert second.events_stored == 1
    with platform.session() as session:
        assert alerts(session)[0].member_id == member


def test_repeats_fold_into_one_alert_with_counts_and_times(platform: Platform) -> None:
    member = add_member(platform, "10.1.0.0/16")
    times = [T0 + timedelta(minutes=m) for m in (30, 5, 40, 10)]
    lines = [eve_line(at=at, src_port=1000 + i) for i, at in enumerate(times)]
    pipeline = make_pipeline(platform)
    pipeline.ingest(eve_batch(lines[:2]))
    pipeline.ingest(eve_batch(lines[2:]))
    with platform.session() as session:
        (alert,) = alerts(session)
        assert (alert.member_id, alert.count) == (member, 4)
        assert (alert.first_seen, alert.last_seen) == (min(times), max(times))
        assert alert.classification_identifier == "sid:1:2001219"
        assert alert.signature == "ET SCAN Potential SSH Scan"
        assert alert.window_start == T0
        assert len(alert.sample_event_ids) == 4


def test_a_window_boundary_starts_a_new_alert(platform: Platform) -> None:
    add_member(platform, "10.1.0.0/16")
    edge = T0 + timedelta(hours=1)
    lines = [
        eve_line(at=edge - timedelta(microseconds=1), src_port=1),
        eve_line(at=edge, src_port=2),
        eve_line(at=edge + timedelta(minutes=59), src_port=3),
    ]
    make_pipeline(platform).ingest(eve_batch(lines))
    with platform.session() as session:
        found = sorted((a.window_start, a.count) for a in alerts(session))
    assert found == [(T0, 1), (edge, 2)]


def test_other_keys_split_alerts(platform: Platform) -> None:
    add_member(platform, "10.1.0.0/16")
    lines = [
        eve_line(sid=1, src_port=1),
        eve_line(sid=2, src_port=2),
        eve_line(sid=1, src="203.0.113.10", src_port=3),
        eve_line(sid=1, src_port=4),
    ]
    make_pipeline(platform).ingest(eve_batch(lines))
    with platform.session() as session:
        counts = sorted(
            (a.classification_identifier, a.external_party, a.count) for a in alerts(session)
        )
    assert counts == [
        ("sid:1:1", "203.0.113.10", 1),
        ("sid:1:1", OUTSIDE, 2),
        ("sid:1:2", OUTSIDE, 1),
    ]


def test_samples_are_capped(platform: Platform) -> None:
    add_member(platform, "10.1.0.0/16")
    lines = [eve_line(src_port=i) for i in range(ALERT_SAMPLES + 5)]
    pipeline = make_pipeline(platform)
    pipeline.ingest(eve_batch(lines[:7]))
    pipeline.ingest(eve_batch(lines[7:]))
    with platform.session() as session:
        (alert,) = alerts(session)
        ids = list(session.scalars(select(EventRow.id).order_by(EventRow.id)))
    assert alert.count == ALERT_SAMPLES + 5
    assert alert.sample_event_ids == ids[:ALERT_SAMPLES]


def test_severity_is_raised_by_member_criticality(platform: Platform) -> None:
    add_member(platform, "10.1.0.0/16", criticality="critical")
    add_member(platform, "10.2.0.0/16", criticality="low")
    lines = [eve_line(dst="10.1.0.1", severity=2), eve_line(dst="10.2.0.1", severity=2)]
    make_pipeline(platform).ingest(eve_batch(lines))
    with platform.session() as session:
        severities = sorted(a.severity for a in alerts(session))
    # Suricata severity 2 is medium; the critical member's alert is one step higher.
    assert severities == [Severity.MEDIUM, Severity.HIGH]


def test_a_batch_key_seen_before_is_skipped_whole(platform: Platform) -> None:
    add_member(platform, "10.1.0.0/16")
    pipeline = make_pipeline(platform)
    batch = eve_batch([eve_line(src_port=1), b"not json", eve_line(src_port=2)], batch_key="k1")
    first = pipeline.ingest(batch)
    assert (first.events_stored, first.quarantined, first.skipped_batch) == (2, 1, False)
    with platform.session() as session:
        before = (count_events(session), counters(session), _alert_state(session))
    again = pipeline.ingest(batch)
    assert again.skipped_batch
    assert (again.events_stored, again.quarantined) == (0, 0)
    with platform.session() as session:
        assert (count_events(session), counters(session), _alert_state(session)) == before
        assert len(session.scalars(select(QuarantineRow)).all()) == 1


def test_several_batches_commit_together_each_with_its_own_key(platform: Platform) -> None:
    add_member(platform, "10.1.0.0/16")
    pipeline = make_pipeline(platform)
    seen = eve_batch([eve_line(src_port=1)], batch_key="m1")
    pipeline.ingest(seen)
    fresh = eve_batch([eve_line(src_port=2), b"not json"], batch_key="m2")
    repeat = eve_batch([eve_line(src_port=2), eve_line(src_port=3)], batch_key="m3")
    results = pipeline.ingest_many([seen, fresh, repeat, fresh])
    # m1 was committed before and m2 is skipped the second time; m3 repeats an event of m2.
    assert [r.skipped_batch for r in results] == [True, False, False, True]
    assert [(r.events_stored, r.events_duplicate, r.quarantined) for r in results] == [
        (0, 0, 0),
        (1, 0, 1),
        (1, 1, 0),
        (0, 0, 0),
    ]
    # Both batches grew the one alert, written once for the group.
    assert results[1].alert_ids == results[2].alert_ids != []
    assert [r.alerts_touched for r in results] == [0, 1, 1, 0]
    with platform.session() as session:
        assert count_events(session) == 3
        assert alerts(session)[0].count == 3
        assert counters(session)["duplicate"] == 1
    assert pipeline.ingest_many([]) == []


def test_the_same_records_under_a_new_key_are_not_stored_twice(platform: Platform) -> None:
    add_member(platform, "10.1.0.0/16")
    pipeline = make_pipeline(platform)
    lines = [eve_line(src_port=i) for i in range(5)]
    pipeline.ingest(eve_batch(lines, batch_key="a"))
    with platform.session() as session:
        before = _alert_state(session)
    again = pipeline.ingest(eve_batch([*lines, lines[0]], batch_key="b"))
    assert (again.events_stored, again.events_duplicate, again.alerts_touched) == (0, 6, 0)
    with platform.session() as session:
        assert count_events(session) == 5
        assert _alert_state(session) == before
        assert counters(session)["duplicate"] == 6


def test_a_write_that_meets_stored_events_looks_again_without_using_an_attempt(
    platform: Platform,
) -> None:
    """Writes do not look for stored fingerprints first; one that meets them (the insert
    refuses them) is tried again looking, which does not count against `attempts`, and the
    writes after a batch holding no stored event stop looking again."""
    add_member(platform, "10.1.0.0/16")
    pipeline = Pipeline(
        platform.session, clock=platform.clock, config=PipelineConfig(attempts=1),
        cache=platform.cached,
    )  # fmt: skip
    lines = [eve_line(src_port=i) for i in range(4)]
    first = pipeline.ingest(eve_batch(lines[:3], batch_key="a"))
    assert (first.events_stored, pipeline._careful) == (3, False)
    mixed = pipeline.ingest(eve_batch(lines, batch_key="b"))
    assert (mixed.events_stored, mixed.events_duplicate) == (1, 3)
    assert pipeline._careful  # the stored ones were found by looking
    fresh = pipeline.ingest(eve_batch([eve_line(src_port=9)], batch_key="c"))
    assert (fresh.events_stored, fresh.events_duplicate) == (1, 0)
    assert not pipeline._careful
    with platform.session() as session:
        assert count_events(session) == 5
        assert counters(session)["duplicate"] == 3
        assert sum(a.count for a in alerts(session)) == 5


def test_one_record_twice_in_a_batch_is_stored_once(platform: Platform) -> None:
    add_member(platform, "10.1.0.0/16")
    line = eve_line()
    result = make_pipeline(platform).ingest(eve_batch([line, line]))
    assert (result.events_stored, result.events_duplicate) == (1, 1)
    with platform.session() as session:
        assert alerts(session)[0].count == 1


def test_bad_lines_are_quarantined_with_position_and_reason(platform: Platform) -> None:
    add_member(platform, "10.1.0.0/16")
    lines = [
        eve_line(src_port=1),
        b'{"timestamp": "2026-11-28T10:00:00Z", "event_type": "alert"',
        eve_line(src_port=2),
        b"[" * 5000 + b"]" * 5000,
        eve_line(src_port=3),
    ]
    batch = eve_batch(lines, source="file:/var/log/eve.json")
    result = make_pipeline(platform).ingest(batch)
    assert (result.events_stored, result.quarantined) == (3, 2)
    with platform.session() as session:
        held = session.scalars(select(QuarantineRow).order_by(QuarantineRow.position)).all()
    assert [q.position for q in held] == [batch.records[1].position, batch.records[3].position]
    assert [bytes(q.raw) for q in held] == [lines[1], lines[3]]
    assert all(q.source == "file:/var/log/eve.json" and q.status == "held" for q in held)
    assert all(q.feed == "eve" and q.sensor == "sensor-1" and q.reason for q in held)
    assert "nest" in held[1].reason.lower() or "array" in held[1].reason.lower()


def test_a_nul_byte_record_is_quarantined_alone(platform: Platform) -> None:
    add_member(platform, "10.1.0.0/16")
    bad = eve_line(src_port=2).replace(b"Potential", b"Pot\x00ential")
    result = make_pipeline(platform).ingest(
        eve_batch([eve_line(src_port=1), bad, eve_line(src_port=3)])
    )
    assert (result.events_stored, result.quarantined) == (2, 1)
    with platform.session() as session:
        (held,) = session.scalars(select(QuarantineRow)).all()
        assert bytes(held.raw) == bad
        assert count_events(session) == 2


def test_an_event_that_storage_would_refuse_is_quarantined_alone(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever a parser lets through, a NUL in a column never reaches (and fails) the
    batch's insert: the pipeline checks each event before the write."""

    class Leaky(EveParser):
        def parse_line(self, line: bytes, **kwargs: Any) -> Any:
            event = super().parse_line(line, **kwargs)
            if b"LEAK" in line and isinstance(event, Event):
                event.classification_identifier = "sid\x00leak"
            return event

    monkeypatch.setattr("vardeild.monitoring.batch.EveParser", Leaky)
    add_member(platform, "10.1.0.0/16")
    lines = [eve_line(src_port=1), eve_line(src_port=2, signature="LEAK"), eve_line(src_port=3)]
    result = make_pipeline(platform).ingest(eve_batch(lines))
    assert (result.events_stored, result.quarantined) == (2, 1)
    with platform.session() as session:
        (held,) = session.scalars(select(QuarantineRow)).all()
    assert "NUL" in held.reason
    assert "classification_identifier" in held.reason


def test_counters_account_for_every_record(platform: Platform) -> None:
    add_member(platform, "10.1.0.0/16")
    lines = [
        eve_line(src_port=1),
        eve_line(src_port=1),
        eve_line(dst="192.0.2.1"),
        eve_line(event_type="dns"),
        b"garbage",
    ]
    result = make_pipeline(platform).ingest(eve_batch(lines))
    with platform.session() as session:
        assert counters(session) == {
            "stored": 1,
            "duplicate": 1,
            "unattributed": 1,
            "unmatched_protocol": 1,
            "quarantined": 1,
        }
    assert result.records == 5


def test_sensor_hooks_hear_of_records_and_stats(platform: Platform) -> None:
    add_member(platform, "10.1.0.0/16")
    seen: list[tuple[str, int]] = []
    stats: list[Any] = []
    pipeline = make_pipeline(
        platform,
        on_sensor_seen=lambda _s, name, count, at: seen.append((name, count)),
        on_sensor_stats=lambda _s, item: stats.append(item),
    )
    stats_line = (
        b'{"timestamp": "2026-11-28T10:00:00Z", "event_type": "stats", "stats": '
        b'{"uptime": 60, "capture": {"kernel_packets": 10, "kernel_drops": 1}}}'
    )
    result = pipeline.ingest(eve_batch([eve_line(), stats_line, b"bad"], sensor="oslo-1"))
    assert result.sensor_stats == 1
    assert seen == [("oslo-1", 3)]
    assert len(stats) == 1
    assert stats[0].uptime_seconds == 60


def _alert_state(session: Any) -> list[tuple[Any, ...]]:
    return [
        (a.id, a.count, a.first_seen, a.last_seen, a.severity, a.sample_event_ids)
        for a in alerts(session)
    ]


def test_a_reason_quoting_a_nul_does_not_fail_the_batch(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Quoting(EveParser):
        def parse_line(self, line: bytes, **kwargs: Any) -> Any:
            if b"QUOTE" in line:
                raise ParseError("timestamp 'x\x00y\ud800' is not a time")
            return super().parse_line(line, **kwargs)

    monkeypatch.setattr("vardeild.monitoring.batch.EveParser", Quoting)
    add_member(platform, "10.1.0.0/16")
    lines = [eve_line(src_port=1), eve_line(src_port=2, signature="QUOTE")]
    result = make_pipeline(platform).ingest(eve_batch(lines))
    assert (result.events_stored, result.quarantined) == (1, 1)
    with platform.session() as session:
        (held,) = session.scalars(select(QuarantineRow)).all()
    assert held.reason == "timestamp 'x\\x00y\\ud800' is not a time"


def test_suppression_needs_every_condition_of_a_rule_and_ignores_expired_rules(
    platform: Platform,
) -> None:
    a = add_member(platform, "10.1.0.0/16")
    b = add_member(platform, "10.2.0.0/16")
    indicators = StubIndicators()
    indicators.add(OUTSIDE, 9)
    clock = platform.clock
    with platform.session() as session:
        by_sid_and_net = suppression.add_rule(
            session,
            CERT_ADMIN,
            clock=clock,
            reason="scanner",
            member_id=a,
            identifier="2001219",
            network="10.1.1.0/24",
        )
        by_indicator = suppression.add_rule(
            session, CERT_ADMIN, clock=clock, reason="sinkhole", member_id=b, indicator_id=9
        )
        expiring = suppression.add_rule(
            session,
            CERT_ADMIN,
            clock=clock,
            reason="for an hour",
            identifier="sid:1:7",
            expires_at=clock.now() + timedelta(hours=1),
        )
    lines = [
        eve_line(dst="10.1.1.5", src_port=1),  # A, sid and network: suppressed
        eve_line(dst="10.1.2.5", src_port=2),  # A, sid, other network: kept
        eve_line(dst="10.1.1.5", sid=5, src_port=3),  # A, network, other sid: kept
        eve_line(dst="10.2.0.5", src_port=4),  # B, from a listed indicator: suppressed
        eve_line(dst="10.2.0.5", src="203.0.113.99", src_port=5),  # B, no indicator: kept
        eve_line(dst="10.2.0.5", sid=7, src="203.0.113.99", src_port=6),  # any member: suppressed
    ]
    pipeline = make_pipeline(platform, indicators=indicators)
    result = pipeline.ingest(eve_batch(lines))
    assert (result.events_suppressed, result.events_stored) == (3, 3)
    clock.advance(timedelta(hours=2))  # type: ignore[attr-defined]
    later = pipeline.ingest(eve_batch([eve_line(dst="10.2.0.5", sid=7, src="203.0.113.99")]))
    assert (later.events_suppressed, later.events_stored) == (0, 1)
    with platform.session() as session:
        hits = {r["id"]: r["hit_count"] for r in suppression.list_rules(session, CERT_ADMIN)}
        assert counters(session)["suppressed"] == 3
    assert hits == {by_sid_and_net["id"]: 1, by_indicator["id"]: 1, expiring["id"]: 1}


def test_stored_text_and_lists_come_back_as_given(platform: Platform) -> None:
    """The bulk writes (PostgreSQL's binary COPY, SQLite's executemany) keep text exactly:
    tabs, newlines, backslashes, the text `\\N` that COPY's text format means NULL by, and
    letters outside ASCII; and the alerts' id lists read back as lists."""
    add_member(platform, "10.1.0.0/16")
    awkward = 'Tab\there, line\nbreak, back\\slash, \\N, «Ålesund» 病院 "quoted"'
    line = eve_line(dst="10.1.0.5", signature=awkward)
    again = eve_line(dst="10.1.0.5", signature=awkward, src_port=40001)
    pipeline = make_pipeline(platform)
    pipeline.ingest(eve_batch([line]))
    pipeline.ingest(eve_batch([again], batch_key="second"))  # merged into the stored alert
    with platform.session() as session:
        events = list(session.scalars(select(EventRow).order_by(EventRow.id)))
        stored = alerts(session)
    assert [event.raw for event in events] == [line.decode(), again.decode()]
    assert [json.loads(event.data)["event_description_text"] for event in events] == [awkward] * 2
    assert [(a.signature, a.count, a.sample_event_ids) for a in stored] == [
        (awkward, 2, [events[0].id, events[1].id])
    ]


def test_a_batch_larger_than_one_statement_is_stored_and_merged_whole(
    platform: Platform,
) -> None:
    """SQLite takes a batch's events and alerts in statements of up to 512 rows (then 256,
    128, ... for the rest): 1,300 new events and alerts, then 700 of those alerts again and
    600 new ones, must all be stored once and merged where they repeat."""
    add_member(platform, "10.1.0.0/16")

    def lines(first: int, count: int, port: int) -> list[bytes]:
        # One alert per external party: 198.18.0.0/15 has room for all of them.
        return [
            eve_line(src=f"198.18.{n // 250}.{n % 250 + 1}", src_port=port)
            for n in range(first, first + count)
        ]

    pipeline = make_pipeline(platform)
    first = pipeline.ingest(eve_batch(lines(0, 1300, 40000)))
    second = pipeline.ingest(eve_batch(lines(600, 1300, 40001), batch_key="second"))
    assert (first.events_stored, second.events_stored) == (1300, 1300)
    with platform.session() as session:
        assert count_events(session) == 2600
        stored = alerts(session)
        events = {event.id: event for event in session.scalars(select(EventRow))}
    assert len(stored) == 1900
    assert sorted(alert.count for alert in stored) == [1] * 1200 + [2] * 700
    for alert in stored:
        assert len(alert.sample_event_ids) == alert.count
        assert {events[i].alert_id for i in alert.sample_event_ids} == {alert.id}
        assert {events[i].source_ip for i in alert.sample_event_ids} == {alert.external_party}
