"""The sensor registry's services: registering, tenancy, tokens, retiring, what the pipeline
tells it (records seen, EVE stats) and silence, all against a real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from support.factories import CERT, CERT_ADMIN, member, org_data
from vardeild.access.model import Principal, Role
from vardeild.audit.model import AuditFilter
from vardeild.audit.service import list_entries
from vardeild.core.clock import FixedClock
from vardeild.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from vardeild.members import service as members
from vardeild.monitoring import sensors
from vardeild.monitoring.model import SensorStats
from vardeild.monitoring.sensor_model import SensorStatus
from vardeild.monitoring.sensor_tables import SensorAlertRow, SensorEventCountRow, SensorTokenRow

READONLY = Principal(actor="reader@cert.test", role=Role.CERT_READONLY)


def _org(session: Session, clock: FixedClock) -> int:
    created = members.create_organisation(
        session, CERT_ADMIN, org_data(), clock=clock, key_inspector=_no_keys
    )
    return int(created["id"])


def _no_keys(_armoured: str) -> object:
    raise AssertionError("no keys in these tests")


def _sensor(
    session: Session,
    clock: FixedClock,
    name: str = "osl-dc1-ids",
    organisation_id: int | None = None,
    **extra: object,
) -> sensors.Sensor:
    return sensors.create_sensor(
        session,
        CERT,
        clock=clock,
        name=name,
        location="Oslo DC1",
        organisation_id=organisation_id,
        **extra,  # type: ignore[arg-type]
    )


def test_register_and_read_a_sensor(session: Session, clock: FixedClock) -> None:
    org = _org(session, clock)
    created = _sensor(session, clock, organisation_id=org, description="Kjernesvitsj")
    assert created.status is SensorStatus.ACTIVE
    assert created.silence_after_minutes == 15
    assert created.last_seen_at is None
    assert not created.silent
    assert (created.events_this_hour, created.events_last_24h, created.health) == (0, 0, None)
    read = sensors.get_sensor_or_raise(session, CERT, created.id, clock=clock)
    assert read == created
    assert sensors.find_sensor_or_raise(session, CERT, "osl-dc1-ids", clock=clock) == created
    assert sensors.find_sensor_or_raise(session, CERT, str(created.id), clock=clock) == created
    entries, _ = list_entries(session, filters=AuditFilter(entity_type="sensor"))
    assert [(e.action, e.organisation_id, e.actor) for e in entries] == [
        ("sensor.create", org, CERT.actor)
    ]
    assert entries[0].after is not None
    assert entries[0].after["location"] == "Oslo DC1"


def test_registering_checks_every_field(session: Session, clock: FixedClock) -> None:
    with pytest.raises(ValidationFailed) as raised:
        sensors.create_sensor(
            session,
            CERT,
            clock=clock,
            name="Oslo DC1",
            location=" ",
            organisation_id=999_999,
            description="a\x00b",
            silence_after_minutes=0,
        )
    assert sorted(p.field for p in raised.value.problems) == [
        "description",
        "location",
        "name",
        "organisation_id",
        "silence_after_minutes",
    ]


def test_names_are_never_reused(session: Session, clock: FixedClock) -> None:
    _sensor(session, clock)
    sensors.retire_sensor(session, CERT, "osl-dc1-ids", clock=clock)
    with pytest.raises(Conflict, match="never reused"):
        _sensor(session, clock)


def test_only_cert_staff_who_edit_register_and_retire(session: Session, clock: FixedClock) -> None:
    org = _org(session, clock)
    for principal in (member(org), member(org, Role.MEMBER_USER), READONLY):
        with pytest.raises(PermissionDenied):
            sensors.create_sensor(
                session,
                principal,
                clock=clock,
                name="x",
                location="y",
                organisation_id=org,
            )
    _sensor(session, clock, organisation_id=org)
    for principal in (member(org), READONLY):
        with pytest.raises(PermissionDenied):
            sensors.retire_sensor(session, principal, "osl-dc1-ids", clock=clock)


def test_a_member_sees_its_own_sensors_only(session: Session, clock: FixedClock) -> None:
    a, b = _org(session, clock), _org(session, clock)
    own = _sensor(session, clock, "a-ids", organisation_id=a)
    other = _sensor(session, clock, "b-ids", organisation_id=b)
    cert_own = _sensor(session, clock, "cert-ids")
    for role in (Role.MEMBER_ADMIN, Role.MEMBER_USER):
        principal = member(a, role)
        assert [s.name for s in sensors.list_sensors(session, principal, clock=clock)] == ["a-ids"]
        assert sensors.get_sensor_or_raise(session, principal, own.id, clock=clock) == own
        for hidden in (other, cert_own):
            with pytest.raises(NotFound):
                sensors.get_sensor_or_raise(session, principal, hidden.id, clock=clock)
            with pytest.raises(NotFound):
                sensors.find_sensor_or_raise(session, principal, hidden.name, clock=clock)
            with pytest.raises(NotFound):
                sensors.hourly_counts(session, principal, hidden.id, clock=clock)
    everything = sensors.list_sensors(session, READONLY, clock=clock)
    assert [s.name for s in everything] == ["a-ids", "b-ids", "cert-ids"]


def test_tokens_authenticate_are_hashed_and_replaceable(
    session: Session, clock: FixedClock
) -> None:
    created = _sensor(session, clock)
    first = sensors.issue_sensor_token(session, CERT_ADMIN, "osl-dc1-ids", clock=clock)
    second = sensors.issue_sensor_token(session, CERT_ADMIN, "osl-dc1-ids", clock=clock)
    assert first.secret.startswith("vds_")
    stored = session.scalars(select(SensorTokenRow.secret_hash)).all()
    assert first.secret not in stored
    assert len(stored) == 2
    for issued in (first, second):
        identity = sensors.authenticate_sensor(session, issued.secret, clock=clock)
        assert identity == sensors.SensorIdentity(created.id, "osl-dc1-ids", None)
    assert sensors.authenticate_sensor(session, first.secret + "x", clock=clock) is None
    assert sensors.authenticate_sensor(session, "vdt_" + first.secret[4:], clock=clock) is None
    third = sensors.issue_sensor_token(
        session, CERT_ADMIN, "osl-dc1-ids", clock=clock, replace=True
    )
    assert third.revoked == 2
    assert sensors.authenticate_sensor(session, first.secret, clock=clock) is None
    assert sensors.authenticate_sensor(session, second.secret, clock=clock) is None
    assert sensors.authenticate_sensor(session, third.secret, clock=clock) is not None
    actions = [
        e.action for e in list_entries(session, filters=AuditFilter(entity_type="sensor"))[0]
    ]
    assert actions.count("sensor.token.issue") == 3


def test_replacing_revokes_every_other_token(session: Session, clock: FixedClock) -> None:
    _sensor(session, clock)
    old = sensors.issue_sensor_token(session, CERT_ADMIN, "osl-dc1-ids", clock=clock)
    new = sensors.issue_sensor_token(session, CERT_ADMIN, "osl-dc1-ids", clock=clock, replace=True)
    assert sensors.authenticate_sensor(session, old.secret, clock=clock) is None
    assert sensors.authenticate_sensor(session, new.secret, clock=clock) is not None


def test_only_token_managers_issue_sensor_tokens(session: Session, clock: FixedClock) -> None:
    org = _org(session, clock)
    _sensor(session, clock, organisation_id=org)
    for principal in (CERT, READONLY, member(org)):
        with pytest.raises(PermissionDenied):
            sensors.issue_sensor_token(session, principal, "osl-dc1-ids", clock=clock)


def test_retiring_revokes_tokens_and_refuses_new_ones(session: Session, clock: FixedClock) -> None:
    _sensor(session, clock)
    issued = sensors.issue_sensor_token(session, CERT_ADMIN, "osl-dc1-ids", clock=clock)
    clock.advance(timedelta(hours=1))
    retired = sensors.retire_sensor(session, CERT, "osl-dc1-ids", clock=clock)
    assert retired.status is SensorStatus.RETIRED
    assert retired.retired_at == clock.now()
    assert sensors.authenticate_sensor(session, issued.secret, clock=clock) is None
    with pytest.raises(Conflict, match="retired"):
        sensors.issue_sensor_token(session, CERT_ADMIN, "osl-dc1-ids", clock=clock)
    assert sensors.list_sensors(session, CERT, clock=clock) == []
    assert [s.name for s in sensors.list_sensors(session, CERT, clock=clock, include_retired=True)]
    again = sensors.retire_sensor(session, CERT, "osl-dc1-ids", clock=clock)
    assert again.retired_at == retired.retired_at
    retires = list_entries(session, filters=AuditFilter(action="sensor.retire"))[1]
    assert retires == 1


def test_records_seen_are_counted_per_hour(session: Session, clock: FixedClock) -> None:
    created = _sensor(session, clock)
    start = clock.now()  # 12:00
    sensors.record_sensor_seen(session, "osl-dc1-ids", 100, start - timedelta(minutes=30))
    sensors.record_sensor_seen(session, "osl-dc1-ids", 20, start - timedelta(minutes=10))
    sensors.record_sensor_seen(session, "osl-dc1-ids", 3, start + timedelta(minutes=5))
    sensors.record_sensor_seen(session, "osl-dc1-ids", 7, start - timedelta(days=2))
    sensors.record_sensor_seen(session, "no-such-sensor", 5, start)  # ignored
    clock.advance(timedelta(minutes=6))
    read = sensors.get_sensor_or_raise(session, CERT, created.id, clock=clock)
    assert (read.events_this_hour, read.events_previous_hour, read.events_last_24h) == (3, 120, 123)
    assert read.last_seen_at == start + timedelta(minutes=5)
    hours = sensors.hourly_counts(session, CERT, created.id, clock=clock, hours=3)
    assert hours == [
        (datetime(2026, 11, 28, 10, tzinfo=UTC), 0),
        (datetime(2026, 11, 28, 11, tzinfo=UTC), 120),
        (datetime(2026, 11, 28, 12, tzinfo=UTC), 3),
    ]


def test_last_seen_never_moves_back(session: Session, clock: FixedClock) -> None:
    created = _sensor(session, clock)
    sensors.record_sensor_seen(session, "osl-dc1-ids", 1, clock.now())
    sensors.record_sensor_seen(session, "osl-dc1-ids", 1, clock.now() - timedelta(hours=5))
    read = sensors.get_sensor_or_raise(session, CERT, created.id, clock=clock)
    assert read.last_seen_at == clock.now()


def test_stats_update_the_sensors_health(session: Session, clock: FixedClock) -> None:
    created = _sensor(session, clock)

    def stats(at: datetime, packets: int, sensor: str | None = "osl-dc1-ids") -> SensorStats:
        return SensorStats(
            sensor=sensor, time_source=at, uptime_seconds=60, packets=packets, drops=10, alerts=2
        )

    now = clock.now()
    sensors.record_sensor_stats(session, stats(now, 990))
    sensors.record_sensor_stats(session, stats(now - timedelta(minutes=1), 5))  # older: ignored
    sensors.record_sensor_stats(session, stats(now, 1, sensor=None))  # unnamed: ignored
    sensors.record_sensor_stats(session, stats(now, 1, sensor="unknown"))  # unknown: ignored
    health = sensors.get_sensor_or_raise(session, CERT, created.id, clock=clock).health
    assert health is not None
    assert (health.at, health.packets, health.drops, health.alerts) == (now, 990, 10, 2)
    assert health.drop_ratio == pytest.approx(0.01)


def _alerts(session: Session) -> list[SensorAlertRow]:
    return list(session.scalars(select(SensorAlertRow).order_by(SensorAlertRow.id)))


def test_a_silent_sensor_is_alerted_once_per_silence(session: Session, clock: FixedClock) -> None:
    org = _org(session, clock)
    created = _sensor(session, clock, organisation_id=org, silence_after_minutes=10)
    _sensor(session, clock, "never-seen")
    issued = sensors.issue_sensor_token(session, CERT_ADMIN, "osl-dc1-ids", clock=clock)
    assert sensors.authenticate_sensor(session, issued.secret, clock=clock) is not None
    heard = clock.now()
    clock.advance(timedelta(minutes=10))
    assert sensors.check_silent_sensors(session, clock) == []
    clock.advance(timedelta(seconds=1))
    [silent] = sensors.check_silent_sensors(session, clock)
    assert (silent.name, silent.organisation_id, silent.last_seen_at) == ("osl-dc1-ids", org, heard)
    assert silent.silent_for == timedelta(minutes=10, seconds=1)
    read = sensors.get_sensor_or_raise(session, CERT, created.id, clock=clock)
    assert read.silent
    assert read.silence_alerted_at == clock.now()
    for _ in range(3):
        clock.advance(timedelta(minutes=30))
        assert sensors.check_silent_sensors(session, clock) == []
    [alert] = _alerts(session)
    assert (alert.id, alert.kind, alert.ended_at) == (silent.alert_id, "silent", None)
    assert "osl-dc1-ids" in alert.message
    # Heard again: the silence ends, and the next one is alerted anew.
    back = clock.now()
    assert sensors.authenticate_sensor(session, issued.secret, clock=clock) is not None
    read = sensors.get_sensor_or_raise(session, CERT, created.id, clock=clock)
    assert (read.silent, read.silence_alerted_at, read.last_seen_at) == (False, None, back)
    assert _alerts(session)[0].ended_at == back
    assert sensors.check_silent_sensors(session, clock) == []
    clock.advance(timedelta(minutes=11))
    [again] = sensors.check_silent_sensors(session, clock)
    assert again.alert_id != silent.alert_id
    assert [a.ended_at for a in _alerts(session)] == [back, None]


def test_retired_sensors_are_not_checked(session: Session, clock: FixedClock) -> None:
    _sensor(session, clock)
    sensors.record_sensor_seen(session, "osl-dc1-ids", 1, clock.now())
    sensors.retire_sensor(session, CERT, "osl-dc1-ids", clock=clock)
    clock.advance(timedelta(days=1))
    assert sensors.check_silent_sensors(session, clock) == []


def test_the_pipeline_hook_ends_a_silence_too(session: Session, clock: FixedClock) -> None:
    created = _sensor(session, clock)
    sensors.record_sensor_seen(session, "osl-dc1-ids", 1, clock.now())
    clock.advance(timedelta(hours=1))
    assert len(sensors.check_silent_sensors(session, clock)) == 1
    sensors.record_sensor_seen(session, "osl-dc1-ids", 5, clock.now())
    read = sensors.get_sensor_or_raise(session, CERT, created.id, clock=clock)
    assert (read.silent, read.silence_alerted_at) == (False, None)
    assert _alerts(session)[0].ended_at == clock.now()


def test_the_check_forgets_old_hourly_counts(session: Session, clock: FixedClock) -> None:
    _sensor(session, clock)
    sensors.record_sensor_seen(session, "osl-dc1-ids", 1, clock.now() - timedelta(days=31))
    sensors.record_sensor_seen(session, "osl-dc1-ids", 1, clock.now() - timedelta(days=29))
    sensors.check_silent_sensors(session, clock)
    assert session.scalar(select(func.count()).select_from(SensorEventCountRow)) == 1
