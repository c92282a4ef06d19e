"""The sensor registry: register, list, show and retire sensors, issue their tokens, take in
what the pipeline learns about them (records seen, EVE `stats`), and find the silent ones.

A sensor token is not an API token: it stands for one sensor, may only ingest, and lives in
its own table, so no role of `vardeild.access` can ever be given to it by mistake. Its secret
starts with `vds_` (API tokens with `vdt_`) so that a leaked one is recognisable, and only its
SHA-256 is stored.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from vardeild.access.model import Action, Principal, authorize
from vardeild.audit.service import record_change
from vardeild.core.clock import Clock
from vardeild.core.errors import Conflict, FieldProblem, NotFound, PermissionDenied, collect
from vardeild.core.secrets import secret_digest
from vardeild.core.text import clean_text
from vardeild.members.service import get_organisation_row
from vardeild.monitoring.model import SensorStats
from vardeild.monitoring.sensor_model import (
    DEFAULT_SILENCE_AFTER_MINUTES,
    Sensor,
    SensorHealth,
    SensorStatus,
    SilentSensor,
    hour_of,
    is_silent,
    validate_sensor_name,
    validate_silence_after,
)
from vardeild.monitoring.sensor_tables import (
    SensorAlertRow,
    SensorEventCountRow,
    SensorRow,
    SensorTokenRow,
)

SENSOR_TOKEN_PREFIX = "vds_"  # noqa: S105 - a marker that makes leaked tokens greppable
# Hearing from a sensor would otherwise write on every request; a minute's precision is all a
# silence threshold (at least a minute) needs.
_SEEN_PRECISION = timedelta(minutes=1)
# Hourly counts older than this are deleted by the silence check; rates look back 24 hours.
COUNT_RETENTION = timedelta(days=30)


@dataclass(frozen=True)
class SensorIdentity:
    """Who a sensor token stands for."""

    id: int
    name: str
    organisation_id: int | None

    @property
    def actor(self) -> str:
        """Return the actor name the sensor's deliveries are recorded under."""
        return f"sensor:{self.name}"


@dataclass(frozen=True)
class IssuedSensorToken:
    """A newly issued sensor token: the secret is shown this once and never stored."""

    token_id: int
    sensor: str
    prefix: str
    secret: str
    revoked: int  # how many older tokens of the sensor were revoked with it (replace=True)


# --- reading ------------------------------------------------------------------------------


def _visible(principal: Principal) -> Select[SensorRow]:
    """Return the query of the sensors principal may see: all for CERT staff, its own else."""
    query = select(SensorRow)
    if principal.is_cert:
        authorize(principal, Action.READ)
        return query
    authorize(principal, Action.READ, principal.organisation_id)
    return query.where(SensorRow.organisation_id == principal.organisation_id)


def _counts(
    session: Session, sensor_ids: list[int], now: datetime
) -> dict[int, tuple[int, int, int]]:
    """Return sensor id -> (this hour, previous hour, last 24 hours) record counts."""
    this_hour = hour_of(now)
    previous = this_hour - timedelta(hours=1)
    found: dict[int, tuple[int, int, int]] = {}
    if not sensor_ids:
        return found
    rows = session.execute(
        select(SensorEventCountRow.sensor_id, SensorEventCountRow.hour, SensorEventCountRow.count)
        .where(SensorEventCountRow.sensor_id.in_(sensor_ids))
        .where(SensorEventCountRow.hour >= this_hour - timedelta(hours=23))
        .where(SensorEventCountRow.hour <= this_hour)
    )
    for sensor_id, hour, count in rows:
        now_count, prev_count, day_count = found.get(sensor_id, (0, 0, 0))
        found[sensor_id] = (
            now_count + (count if hour == this_hour else 0),
            prev_count + (count if hour == previous else 0),
            day_count + count,
        )
    return found


def _sensor(row: SensorRow, now: datetime, counts: tuple[int, int, int]) -> Sensor:
    health = None
    if row.stats_at is not None:
        health = SensorHealth(
            at=row.stats_at,
            uptime_seconds=row.stats_uptime_seconds,
            packets=row.stats_packets,
            drops=row.stats_drops,
            alerts=row.stats_alerts,
        )
    status = SensorStatus(row.status)
    return Sensor(
        id=row.id,
        name=row.name,
        location=row.location,
        organisation_id=row.organisation_id,
        description=row.description,
        status=status,
        silence_after_minutes=row.silence_after_minutes,
        created_by=row.created_by,
        created_at=row.created_at,
        retired_at=row.retired_at,
        last_seen_at=row.last_seen_at,
        silent=is_silent(
            status=status,
            last_seen_at=row.last_seen_at,
            silence_after_minutes=row.silence_after_minutes,
            now=now,
        ),
        silence_alerted_at=row.silence_alerted_at,
        events_this_hour=counts[0],
        events_previous_hour=counts[1],
        events_last_24h=counts[2],
        health=health,
    )


def _one(session: Session, row: SensorRow, now: datetime) -> Sensor:
    return _sensor(row, now, _counts(session, [row.id], now).get(row.id, (0, 0, 0)))


def list_sensors(
    session: Session, principal: Principal, *, clock: Clock, include_retired: bool = False
) -> list[Sensor]:
    """Return the sensors principal may see, by name: all for CERT staff, a member's own else;
    retired ones only with include_retired."""
    query = _visible(principal).order_by(SensorRow.name)
    if not include_retired:
        query = query.where(SensorRow.status == SensorStatus.ACTIVE.value)
    rows = list(session.scalars(query))
    now = clock.now()
    counts = _counts(session, [row.id for row in rows], now)
    return [_sensor(row, now, counts.get(row.id, (0, 0, 0))) for row in rows]


def _row_or_raise(session: Session, principal: Principal, sensor_id: int) -> SensorRow:
    row = session.scalar(_visible(principal).where(SensorRow.id == sensor_id))
    if row is None:
        raise NotFound(f"sensor {sensor_id} not found")
    return row


def _named_row_or_raise(session: Session, principal: Principal, reference: str) -> SensorRow:
    text = reference.strip()
    row = session.scalar(_visible(principal).where(SensorRow.name == text))
    if row is None and text.isdigit() and len(text) < 10:
        row = session.scalar(_visible(principal).where(SensorRow.id == int(text)))
    if row is None:
        raise NotFound(f"no sensor has the name or id {reference!r}")
    return row


def get_sensor_or_raise(
    session: Session, principal: Principal, sensor_id: int, *, clock: Clock
) -> Sensor:
    """Return the sensor; NotFound if absent or not the principal's to see."""
    return _one(session, _row_or_raise(session, principal, sensor_id), clock.now())


def find_sensor_or_raise(
    session: Session, principal: Principal, reference: str, *, clock: Clock
) -> Sensor:
    """Return the sensor with this name (or id); NotFound if none is the principal's to see."""
    return _one(session, _named_row_or_raise(session, principal, reference), clock.now())


def hourly_counts(
    session: Session, principal: Principal, sensor_id: int, *, clock: Clock, hours: int = 24
) -> list[tuple[datetime, int]]:
    """Return (hour, records) for the last `hours` hours, oldest first, hours without records
    included as 0; NotFound as get_sensor_or_raise."""
    _row_or_raise(session, principal, sensor_id)
    this_hour = hour_of(clock.now())
    first = this_hour - timedelta(hours=hours - 1)
    rows = session.execute(
        select(SensorEventCountRow.hour, SensorEventCountRow.count)
        .where(SensorEventCountRow.sensor_id == sensor_id)
        .where(SensorEventCountRow.hour >= first)
    )
    held: dict[datetime, int] = {}
    for hour, count in rows:
        held[hour] = count
    asked = [first + timedelta(hours=i) for i in range(hours)]
    return [(hour, held.get(hour, 0)) for hour in asked]


# --- changing -----------------------------------------------------------------------------


def _require_cert(principal: Principal, action: Action, what: str) -> None:
    if not principal.is_cert:
        raise PermissionDenied(f"only CERT staff {what}")
    authorize(principal, action)


def _audit(
    session: Session,
    principal: Principal,
    row: SensorRow,
    *,
    clock: Clock,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    record_change(
        session,
        clock=clock,
        actor=principal.actor,
        action=action,
        entity_type="sensor",
        entity_id=row.id,
        organisation_id=row.organisation_id,
        before=before,
        after=after,
    )


def create_sensor(
    session: Session,
    principal: Principal,
    *,
    clock: Clock,
    name: str,
    location: str,
    organisation_id: int | None = None,
    description: str = "",
    silence_after_minutes: int = DEFAULT_SILENCE_AFTER_MINUTES,
) -> Sensor:
    """Register an active sensor and return it; organisation_id makes it that member's own.

    Raises PermissionDenied unless CERT staff who edit the registry, ValidationFailed for bad
    fields or an unknown owner, Conflict if the name is taken (by a retired sensor too).
    """
    _require_cert(principal, Action.EDIT, "register sensors")
    record = f"sensor {name.strip()[:70]!r}"
    problems: list[FieldProblem] = []

    def check(field: str, value: Any, validate: Any) -> Any:
        try:
            return validate(value)
        except ValueError as exc:
            problems.append(FieldProblem(record, field, str(exc)))
            return value

    name = check("name", name, validate_sensor_name)
    location = check("location", location, lambda v: clean_text(v, max_length=200))
    description = check(
        "description", description, lambda v: clean_text(v, max_length=2000, multiline=True)
    )
    silence_after_minutes = check(
        "silence_after_minutes", silence_after_minutes, validate_silence_after
    )
    if isinstance(location, str) and not location.strip():
        problems.append(FieldProblem(record, "location", "is required: where the sensor is"))
    if organisation_id is not None and get_organisation_row(session, organisation_id) is None:
        problems.append(
            FieldProblem(record, "organisation_id", f"no organisation has the id {organisation_id}")
        )
    collect(problems)
    if session.scalar(select(SensorRow.id).where(SensorRow.name == name)) is not None:
        raise Conflict(f"a sensor named {name!r} is registered already (names are never reused)")
    row = SensorRow(
        name=name,
        location=location,
        organisation_id=organisation_id,
        description=description,
        status=SensorStatus.ACTIVE.value,
        silence_after_minutes=silence_after_minutes,
        created_by=principal.actor,
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    _audit(
        session,
        principal,
        row,
        clock=clock,
        action="sensor.create",
        before=None,
        after={
            "name": name,
            "location": location,
            "organisation_id": organisation_id,
            "description": description,
            "silence_after_minutes": silence_after_minutes,
        },
    )
    return _one(session, row, clock.now())


def _revoke_tokens(session: Session, row: SensorRow, now: datetime) -> list[str]:
    """Revoke the sensor's live tokens; return their prefixes."""
    live = list(
        session.scalars(
            select(SensorTokenRow)
            .where(SensorTokenRow.sensor_id == row.id)
            .where(SensorTokenRow.revoked_at.is_(None))
        )
    )
    for token in live:
        token.revoked_at = now
    return [token.prefix for token in live]


def retire_sensor(
    session: Session, principal: Principal, reference: str, *, clock: Clock
) -> Sensor:
    """Retire the sensor named by reference (name or id) and revoke its tokens; return it.
    Retiring a retired sensor changes nothing. NotFound, PermissionDenied as usual."""
    row = _named_row_or_raise(session, principal, reference)
    _require_cert(principal, Action.EDIT, "retire sensors")
    if row.status != SensorStatus.RETIRED.value:
        now = clock.now()
        revoked = _revoke_tokens(session, row, now)
        row.status = SensorStatus.RETIRED.value
        row.retired_at = now
        _audit(
            session,
            principal,
            row,
            clock=clock,
            action="sensor.retire",
            before={"status": SensorStatus.ACTIVE.value},
            after={"status": row.status, "revoked_tokens": revoked},
        )
    return _one(session, row, clock.now())


def issue_sensor_token(
    session: Session,
    principal: Principal,
    reference: str,
    *,
    clock: Clock,
    replace: bool = False,
) -> IssuedSensorToken:
    """Issue a token for the sensor named by reference; with replace, revoke its others.

    Raises PermissionDenied unless a CERT principal who manages tokens, NotFound for an
    unknown sensor, Conflict for a retired one.
    """
    row = _named_row_or_raise(session, principal, reference)
    _require_cert(principal, Action.MANAGE_TOKENS, "issue sensor tokens")
    if row.status != SensorStatus.ACTIVE.value:
        raise Conflict(f"sensor {row.name!r} is retired; register a new sensor instead")
    now = clock.now()
    revoked = _revoke_tokens(session, row, now) if replace else []
    secret = SENSOR_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = SensorTokenRow(
        sensor_id=row.id,
        prefix=secret[:12],
        secret_hash=secret_digest(secret),
        created_by=principal.actor,
        created_at=now,
    )
    session.add(token)
    session.flush()
    _audit(
        session,
        principal,
        row,
        clock=clock,
        action="sensor.token.issue",
        before=None,
        after={"token_id": token.id, "prefix": token.prefix, "revoked_tokens": revoked},
    )
    return IssuedSensorToken(
        token_id=token.id,
        sensor=row.name,
        prefix=token.prefix,
        secret=secret,
        revoked=len(revoked),
    )


# --- sensors reporting --------------------------------------------------------------------


def looks_like_sensor_token(secret: str) -> bool:
    """Return True if secret has the form of a sensor token (it may still be unknown)."""
    return secret.startswith(SENSOR_TOKEN_PREFIX) and len(secret) <= 200


def authenticate_sensor(
    session: Session, secret: str, *, clock: Clock, mark_heard: bool = True
) -> SensorIdentity | None:
    """Return the sensor a bearer secret stands for, or None if unknown, revoked or retired.
    With mark_heard, the sensor counts as heard from now (its delivery is proof of life)."""
    if not looks_like_sensor_token(secret):
        return None
    digest = secret_digest(secret)
    found = session.execute(
        select(SensorTokenRow.secret_hash, SensorRow)
        .join(SensorRow, SensorRow.id == SensorTokenRow.sensor_id)
        .where(SensorTokenRow.secret_hash == digest)
        .where(SensorTokenRow.revoked_at.is_(None))
        .where(SensorRow.status == SensorStatus.ACTIVE.value)
    ).first()
    if found is None or not hmac.compare_digest(found[0], digest):
        return None
    row: SensorRow = found[1]
    if mark_heard:
        _heard(
            session,
            row.id,
            clock.now(),
            last_seen_at=row.last_seen_at,
            silence_alerted_at=row.silence_alerted_at,
        )
    return SensorIdentity(id=row.id, name=row.name, organisation_id=row.organisation_id)


def _heard(
    session: Session,
    sensor_id: int,
    at: datetime,
    *,
    last_seen_at: datetime | None,
    silence_alerted_at: datetime | None,
) -> None:
    """Mark the sensor heard from at `at`, ending its silence if one was alerted. Within a
    minute of the last time this writes nothing, so that a busy sensor's deliveries do not
    each become another write."""
    recently = last_seen_at is not None and at - last_seen_at < _SEEN_PRECISION
    if silence_alerted_at is None and recently:
        return
    session.execute(
        update(SensorRow)
        .where(SensorRow.id == sensor_id)
        .where(or_(SensorRow.last_seen_at.is_(None), SensorRow.last_seen_at < at))
        .values(last_seen_at=at, silence_alerted_at=None)
    )
    if silence_alerted_at is not None:
        session.execute(
            update(SensorAlertRow)
            .where(SensorAlertRow.sensor_id == sensor_id)
            .where(SensorAlertRow.ended_at.is_(None))
            .values(ended_at=at)
        )


def record_sensor_seen(session: Session, sensor_name: str, count: int, at: datetime) -> None:
    """Count `count` records from the named sensor in the hour of `at` and mark it heard from
    (the pipeline's on_sensor_seen hook, in the batch's transaction). An unregistered name
    is ignored: files may carry events of sensors the registry does not know."""
    found = session.execute(
        select(SensorRow.id, SensorRow.last_seen_at, SensorRow.silence_alerted_at).where(
            SensorRow.name == sensor_name
        )
    ).first()
    if found is None:
        return
    sensor_id, last_seen_at, silence_alerted_at = found
    _heard(
        session,
        sensor_id,
        at,
        last_seen_at=last_seen_at,
        silence_alerted_at=silence_alerted_at,
    )
    if count <= 0:
        return
    values = {"sensor_id": sensor_id, "hour": hour_of(at), "count": count}
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(SensorEventCountRow).values(**values)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[SensorEventCountRow.sensor_id, SensorEventCountRow.hour],
            set_={"count": SensorEventCountRow.count + statement.excluded.count},
        )
    )


def record_sensor_stats(session: Session, stats: SensorStats) -> None:
    """Keep the sensor's latest EVE `stats` (the pipeline's on_sensor_stats hook). Stats of
    an unnamed or unregistered sensor, or older than those held, are ignored."""
    if stats.sensor is None:
        return
    session.execute(
        update(SensorRow)
        .where(SensorRow.name == stats.sensor)
        .where(or_(SensorRow.stats_at.is_(None), SensorRow.stats_at <= stats.time_source))
        .values(
            stats_at=stats.time_source,
            stats_uptime_seconds=stats.uptime_seconds,
            stats_packets=stats.packets,
            stats_drops=stats.drops,
            stats_alerts=stats.alerts,
        )
    )


# --- silence ------------------------------------------------------------------------------


def check_silent_sensors(session: Session, clock: Clock) -> list[SilentSensor]:
    """Raise an alert for each active sensor not heard from for longer than its threshold,
    once per silence, and return those newly found silent. Also forgets hourly counts older
    than COUNT_RETENTION. Safe to run from several processes at once."""
    now = clock.now()
    candidates = session.scalars(
        select(SensorRow)
        .where(SensorRow.status == SensorStatus.ACTIVE.value)
        .where(SensorRow.last_seen_at.is_not(None))
        .where(SensorRow.silence_alerted_at.is_(None))
        .order_by(SensorRow.name)
    ).all()
    found: list[SilentSensor] = []
    for row in candidates:
        last_seen = row.last_seen_at
        assert last_seen is not None
        if not is_silent(
            status=SensorStatus.ACTIVE,
            last_seen_at=last_seen,
            silence_after_minutes=row.silence_after_minutes,
            now=now,
        ):
            continue
        # Claimed by a conditional update, so two checkers never both alert one silence.
        claimed = session.execute(
            update(SensorRow)
            .where(SensorRow.id == row.id)
            .where(SensorRow.silence_alerted_at.is_(None))
            .where(SensorRow.last_seen_at == last_seen)
            .values(silence_alerted_at=now)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            continue
        silent_for = now - last_seen
        alert = SensorAlertRow(
            sensor_id=row.id,
            organisation_id=row.organisation_id,
            kind="silent",
            raised_at=now,
            last_seen_at=last_seen,
            message=(
                f"Sensor {row.name} ({row.location}) has not reported since "
                f"{last_seen.isoformat(timespec='seconds')}, {_minutes(silent_for)} minutes; "
                f"its threshold is {row.silence_after_minutes}."
            ),
        )
        session.add(alert)
        session.flush()
        found.append(
            SilentSensor(
                sensor_id=row.id,
                name=row.name,
                organisation_id=row.organisation_id,
                last_seen_at=last_seen,
                silent_for=silent_for,
                alert_id=alert.id,
            )
        )
    session.execute(
        delete(SensorEventCountRow).where(SensorEventCountRow.hour < now - COUNT_RETENTION)
    )
    return found


def _minutes(span: timedelta) -> int:
    return int(span.total_seconds() // 60)


def sensor_dict(sensor: Sensor) -> dict[str, Any]:
    """Return the sensor as JSON-ready data (the API's and `--json`'s shape)."""
    data = asdict(sensor)
    data["status"] = sensor.status.value
    if sensor.health is not None:
        data["health"]["drop_ratio"] = sensor.health.drop_ratio
    return data
