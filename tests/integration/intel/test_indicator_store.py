"""The indicator store on a real database (SQLite and PostgreSQL): loading is checked whole,
idempotent and audited; the revision moves with every change; the matcher sees only valid
indicators; sightings accumulate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from support.factories import CERT, member
from vardeild.access.model import Principal, Role
from vardeild.audit.model import AuditFilter
from vardeild.audit.service import list_entries
from vardeild.core.clock import FixedClock
from vardeild.core.errors import NotFound, PermissionDenied, ValidationFailed
from vardeild.core.tlp import Tlp
from vardeild.intel.loaders import LoadFormat
from vardeild.intel.matcher_source import (
    indicator_revision,
    load_matcher,
    matcher_is_current,
    record_sightings,
)
from vardeild.intel.model import IndicatorFilter, IndicatorType, LoadResult
from vardeild.intel.service import (
    delete_indicators,
    expire_indicators,
    get_indicator_or_raise,
    indicator_stats,
    list_indicators,
    load_indicators,
)
from vardeild.intel.tables import IndicatorRow
from vardeild.monitoring.model import Event, EventKind

T = IndicatorType
READONLY = Principal(actor="reader@cert.test", role=Role.CERT_READONLY)
MD5 = "44d88612fea8a8f36de82e1278abb02f"
FEED = b"# feed\n192.0.2.1\n10.0.0.0/8\nEvil.Example.NO\nhttp://evil.no/gate.php\n"


def load(session: Session, clock: FixedClock, data: bytes = FEED, **options: object) -> LoadResult:
    options.setdefault("source", "feodo")
    return load_indicators(session, CERT, data, clock=clock, **options)  # type: ignore[arg-type]


def stored(session: Session) -> list[tuple[str, str, str, str, int]]:
    rows = session.execute(
        select(
            IndicatorRow.type,
            IndicatorRow.value,
            IndicatorRow.source,
            IndicatorRow.tlp,
            IndicatorRow.confidence,
        ).order_by(IndicatorRow.type, IndicatorRow.value, IndicatorRow.source)
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


def event(**fields: object) -> Event:
    return Event(
        kind=EventKind.PROTOCOL,
        time_observation=datetime(2026, 11, 28, 12, tzinfo=UTC),
        feed_name="suricata",
        classification_taxonomy="other",
        classification_type="other",
        **fields,  # type: ignore[arg-type]
    )


def load_audits(session: Session) -> list[dict[str, object]]:
    entries, _ = list_entries(session, filters=AuditFilter(action="indicator.load"))
    return [entry.after or {} for entry in entries]


def test_a_list_is_stored_canonical_with_one_audit_entry_and_one_revision_step(
    session: Session, clock: FixedClock
) -> None:
    before = indicator_revision(session)
    result = load(session, clock, tlp=Tlp.GREEN, confidence=80)
    assert (result.created, result.updated, result.unchanged) == (4, 0, 0)
    assert result.by_type == {"cidr": 1, "domain": 1, "ipv4": 1, "url": 1}
    assert stored(session) == [
        ("cidr", "10.0.0.0/8", "feodo", "GREEN", 80),
        ("domain", "evil.example.no", "feodo", "GREEN", 80),
        ("ipv4", "192.0.2.1", "feodo", "GREEN", 80),
        ("url", "http://evil.no/gate.php", "feodo", "GREEN", 80),
    ]
    assert indicator_revision(session) == before + 1 == result.revision
    (audit,) = load_audits(session)
    assert audit["created"] == 4
    assert audit["source"] == "feodo"


def test_loading_the_same_file_again_changes_nothing_but_last_seen(
    session: Session, clock: FixedClock
) -> None:
    load(session, clock)
    revision = indicator_revision(session)
    clock.advance(timedelta(hours=1))
    again = load(session, clock)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert indicator_revision(session) == revision
    seen = session.execute(select(IndicatorRow.first_seen, IndicatorRow.last_seen)).all()
    assert all(last - first == timedelta(hours=1) for first, last in seen)
    assert len(load_audits(session)) == 2  # every load is recorded, also one that changed nothing


def test_a_reload_with_other_attributes_updates_and_moves_the_revision(
    session: Session, clock: FixedClock
) -> None:
    load(session, clock)
    revision = indicator_revision(session)
    csv = b"value,tlp,tags\n192.0.2.1,RED,emotet\n10.0.0.0/8,,\n"
    result = load(session, clock, data=csv, fmt=LoadFormat.CSV)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    assert indicator_revision(session) == revision + 1
    found, _ = list_indicators(session, CERT, IndicatorFilter(text="192.0.2.1"))
    assert (found[0].tlp, found[0].tags) == (Tlp.RED, ("emotet",))
    # Tags and all read back equal: the same file again changes nothing.
    again = load(session, clock, data=csv, fmt=LoadFormat.CSV)
    assert (again.updated, again.unchanged) == (0, 2)


def test_the_same_value_from_two_sources_is_two_indicators(
    session: Session, clock: FixedClock
) -> None:
    load(session, clock, data=b"evil.no\n", source="feodo")
    load(session, clock, data=b"evil.no\n", source="partner")
    assert [row[2] for row in stored(session)] == ["feodo", "partner"]


def test_a_later_row_with_the_same_value_wins(session: Session, clock: FixedClock) -> None:
    csv = b"value,confidence\nevil.no,10\nEVIL.NO.,90\n"
    result = load(session, clock, data=csv, fmt="csv")
    assert (result.records, result.created, result.duplicates) == (2, 1, 1)
    assert stored(session)[0][4] == 90


def test_a_file_with_a_bad_line_loads_nothing(session: Session, clock: FixedClock) -> None:
    revision = indicator_revision(session)
    with pytest.raises(ValidationFailed) as raised:
        load(session, clock, data=b"192.0.2.1\n192.0.2.256\n" + MD5.encode() + b"\n")
    assert [str(p) for p in raised.value.problems] == [
        "line 2: value: '192.0.2.256' is not a valid IP address",
        f"line 3: value: '{MD5}' is 32 hex digits: an MD5 hash, a JA3 or a JA3S fingerprint; "
        "give the type (md5, ja3 or ja3s)",
    ]
    assert stored(session) == []
    assert indicator_revision(session) == revision
    assert load_audits(session) == []


def test_skip_invalid_loads_the_good_rows_and_reports_the_bad(
    session: Session, clock: FixedClock
) -> None:
    result = load(session, clock, data=b"192.0.2.1\n192.0.2.256\nevil.no\n", skip_invalid=True)
    assert (result.created, result.skipped) == (2, 1)
    assert [str(p) for p in result.problems] == [
        "line 2: value: '192.0.2.256' is not a valid IP address"
    ]
    assert load_audits(session)[0]["skipped"] == 1


def test_an_oversized_file_is_refused_even_with_skip_invalid(
    session: Session, clock: FixedClock
) -> None:
    with pytest.raises(ValidationFailed, match="is larger than 10 bytes"):
        load(session, clock, skip_invalid=True, max_bytes=10)


def test_a_dry_run_counts_and_writes_nothing(session: Session, clock: FixedClock) -> None:
    revision = indicator_revision(session)
    result = load(session, clock, dry_run=True)
    assert (result.dry_run, result.created) == (True, 4)
    assert stored(session) == []
    assert indicator_revision(session) == revision
    assert load_audits(session) == []


def test_bad_options_are_refused(session: Session, clock: FixedClock) -> None:
    with pytest.raises(ValidationFailed) as raised:
        load(session, clock, source=" ", confidence=101)
    assert [str(p) for p in raised.value.problems] == [
        "options: source: is empty; name where the indicators come from, e.g. feodotracker",
        "options: confidence: must be from 0 to 100",
    ]


def test_members_can_neither_load_nor_read_indicators(session: Session, clock: FixedClock) -> None:
    load(session, clock)
    for principal in (member(1), member(1, Role.MEMBER_USER)):
        with pytest.raises(PermissionDenied):
            load_indicators(session, principal, FEED, clock=clock)
        with pytest.raises(PermissionDenied):
            list_indicators(session, principal)
        with pytest.raises(PermissionDenied):
            indicator_stats(session, principal, now=clock.now())
        with pytest.raises(PermissionDenied):
            get_indicator_or_raise(session, principal, 1)
    with pytest.raises(PermissionDenied):
        load_indicators(session, READONLY, FEED, clock=clock)
    with pytest.raises(PermissionDenied):
        expire_indicators(session, READONLY, clock=clock, source="feodo")
    assert list_indicators(session, READONLY)[1] == 4


def test_the_matcher_holds_only_indicators_valid_now(session: Session, clock: FixedClock) -> None:
    now = clock.now()
    csv = (
        b"value,valid_until\n"
        b"past.no,2026-11-27T12:00:00Z\n"
        b"soon.no,2026-11-29\n"
        b"later.no,2027-06-01\n"
        b"always.no,\n"
    )
    load(session, clock, data=csv, fmt=LoadFormat.CSV)
    matcher = load_matcher(session, now=now)
    ids = {i.value: i.id for i in list_indicators(session, CERT)[0]}
    assert matcher.match(event(dns_query="x.past.no")) == []
    assert matcher.match(event(dns_query="x.soon.no")) == [ids["soon.no"]]
    assert matcher.match(event(dns_query="always.no")) == [ids["always.no"]]
    assert matcher.expires_at == datetime(2026, 11, 30, tzinfo=UTC)
    assert matcher.revision == indicator_revision(session)
    assert matcher_is_current(session, matcher, now=now)
    assert not matcher_is_current(session, matcher, now=datetime(2026, 11, 30, tzinfo=UTC))


def test_a_newly_loaded_indicator_matches_once_the_revision_is_noticed(
    session: Session, clock: FixedClock
) -> None:
    load(session, clock)
    matcher = load_matcher(session, now=clock.now())
    late = event(dns_query="late.evil.no")
    assert matcher.match(late) == []
    load(session, clock, data=b"evil.no\n", source="partner")
    assert not matcher_is_current(session, matcher, now=clock.now())
    matcher = load_matcher(session, now=clock.now())
    (partner,) = list_indicators(session, CERT, IndicatorFilter(source="partner"))[0]
    assert matcher.match(late) == [partner.id]


def test_expiring_stops_matching_moves_the_revision_and_a_reload_revives(
    session: Session, clock: FixedClock
) -> None:
    load(session, clock)
    (ip,) = list_indicators(session, CERT, IndicatorFilter(type=T.IPV4))[0]
    revision = indicator_revision(session)
    assert expire_indicators(session, CERT, clock=clock, ids=[ip.id]) == 1
    assert indicator_revision(session) == revision + 1
    assert load_matcher(session, now=clock.now()).match(event(source_ip="192.0.2.1")) == []
    assert get_indicator_or_raise(session, CERT, ip.id).valid_until == clock.now()
    # Expiring again changes nothing and does not move the revision.
    assert expire_indicators(session, CERT, clock=clock, ids=[ip.id]) == 0
    assert indicator_revision(session) == revision + 1
    result = load(session, clock)
    assert result.updated == 1
    assert load_matcher(session, now=clock.now()).match(event(source_ip="192.0.2.1")) == [ip.id]


def test_delete_by_id_and_by_source(session: Session, clock: FixedClock) -> None:
    load(session, clock)
    load(session, clock, data=b"evil.no\n", source="partner")
    ids = [i.id for i in list_indicators(session, CERT, IndicatorFilter(source="feodo"))[0]]
    revision = indicator_revision(session)
    assert delete_indicators(session, CERT, clock=clock, ids=ids[:1]) == 1
    assert delete_indicators(session, CERT, clock=clock, source="feodo") == 3
    assert indicator_revision(session) == revision + 2
    assert [row[2] for row in stored(session)] == ["partner"]
    with pytest.raises(NotFound, match=f"indicator {ids[0]} not found"):
        delete_indicators(session, CERT, clock=clock, ids=[ids[0]])
    with pytest.raises(NotFound, match="no indicators from source 'feodo'"):
        expire_indicators(session, CERT, clock=clock, source="feodo")
    entries, _ = list_entries(session, filters=AuditFilter(action="indicator.delete"))
    assert [e.after["count"] for e in entries if e.after] == [3, 1]


def test_sightings_accumulate_and_keep_the_latest_time(session: Session, clock: FixedClock) -> None:
    load(session, clock)
    a, b = (i.id for i in list_indicators(session, CERT, limit=2)[0])
    t1 = datetime(2026, 11, 28, 12, tzinfo=UTC)
    t2 = t1 + timedelta(minutes=5)
    revision = indicator_revision(session)
    record_sightings(session, {a: (3, t2), b: (1, t1)})
    record_sightings(session, {a: (2, t1), 999_999: (5, t2)})  # older time; an unknown id
    record_sightings(session, {})
    first = get_indicator_or_raise(session, CERT, a)
    second = get_indicator_or_raise(session, CERT, b)
    assert (first.sighting_count, first.last_sighted_at) == (5, t2)
    assert (second.sighting_count, second.last_sighted_at) == (1, t1)
    assert indicator_revision(session) == revision  # sightings change no indicator
    with pytest.raises(ValueError, match="must be positive"):
        record_sightings(session, {a: (0, t1)})


def test_listing_filters_pages_and_counts(session: Session, clock: FixedClock) -> None:
    load(session, clock)
    load(session, clock, data=b"192.0.2.9\n", source="partner", valid_until=clock.now())
    found, total = list_indicators(session, CERT, limit=2, offset=1)
    assert total == 5
    assert [i.value for i in found] == ["evil.example.no", "192.0.2.1"]
    assert list_indicators(session, CERT, IndicatorFilter(type=T.IPV4))[1] == 2
    assert list_indicators(session, CERT, IndicatorFilter(text="EVIL"))[1] == 2
    assert list_indicators(session, CERT, IndicatorFilter(text="%"))[1] == 0
    valid = IndicatorFilter(valid_at=clock.now())
    assert list_indicators(session, CERT, valid)[1] == 4
    stats = indicator_stats(session, CERT, now=clock.now())
    assert (stats.total, stats.valid, stats.expired) == (5, 4, 1)
    assert stats.by_type == {"cidr": 1, "domain": 1, "ipv4": 2, "url": 1}
    assert stats.by_source == {"feodo": 4, "partner": 1}
    assert stats.to_dict()["revision"] == indicator_revision(session)
    with pytest.raises(NotFound):
        get_indicator_or_raise(session, CERT, 999_999)


def test_a_load_tells_its_progress_by_phase(session: Session, clock: FixedClock) -> None:
    told: list[tuple[str, int, int]] = []
    lines = b"".join(f"10.{i // 256}.{i % 256}.1\n".encode() for i in range(25_000))
    load(session, clock, data=lines, progress=lambda *phase: told.append(phase))
    reading = [t for t in told if t[0] == "reading"]
    assert reading[0] == ("reading", 10_000, 25_000)
    assert reading[-1] == ("reading", 25_000, 25_000)
    assert ("comparing", 25_000, 25_000) in told
    assert told[-1] == ("writing", 25_000, 25_000)
    csv = b"value\n" + lines
    told.clear()
    load(
        session,
        clock,
        data=csv,
        fmt=LoadFormat.CSV,
        source="other",
        progress=lambda *p: told.append(p),
    )
    assert ("reading", 25_001, 25_001) in told
