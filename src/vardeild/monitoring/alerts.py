"""Alerts: events folded together by member, classification, external party and time window.

The pipeline folds each batch's new events into `AlertDraft`s (`fold_event`), and the store
merges them into the stored alerts (`merge_into`). Reading alerts (`list_alerts`,
`get_alert_or_raise`) is member-scoped: a member sees the alerts of its own organisation only,
and another member's alert answers NotFound, as one that does not exist.

Severity rule: the highest severity of the events folded in, raised one step when any event
matched an indicator, and one more when the member's criticality is `critical`; at most
critical. Raising never lowers an alert: a stored alert keeps its highest severity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from hashlib import blake2b
from typing import Any

import msgspec
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from vardeild.access.model import Action, Principal, authorize, list_scope
from vardeild.core.errors import NotFound
from vardeild.monitoring.model import COLUMN_FIELDS, EVENT_POSITION, Event, EventKind, Severity
from vardeild.monitoring.tables import AlertRow, EventRow

ALERT_SAMPLES = 10  # event ids kept per alert: enough to show the pattern, bounded in size
ALERT_INDICATORS = 100  # matched indicator ids kept per alert
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CRITICAL = int(Severity.CRITICAL)


class AlertStatus(StrEnum):
    """Where an alert stands. New events reopen a closed alert; a suppressed one stays so."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    SUPPRESSED = "suppressed"
    CLOSED = "closed"


class AlertDraft:
    """What one batch adds to one alert; merged into the stored alert in the same transaction."""

    __slots__ = (
        "alert_id",
        "count",
        "external_party",
        "feed_name",
        "first_seen",
        "identifier",
        "indicators",
        "key",
        "last_seen",
        "member_id",
        "samples",
        "severity",
        "signature",
        "taxonomy",
        "type",
        "window_start",
    )

    def __init__(
        self,
        key: str,
        member_id: int,
        event: Event,
        identifier: str,
        external: str,
        window: int,
        at: datetime | None = None,
    ) -> None:
        """A draft of event's classification; at is when it was first seen (else event's
        time: the Shadowserver lane gives its report's constant event and each row's time)."""
        at = at or event.time_source or event.time_observation
        self.key = key
        self.member_id = member_id
        self.taxonomy = event.classification_taxonomy
        self.type = event.classification_type
        self.identifier = identifier
        self.signature = event.event_description_text
        self.feed_name = event.feed_name
        self.external_party = external
        self.window_start = _EPOCH + timedelta(seconds=window)
        self.count = 0
        self.first_seen = at
        self.last_seen = at
        self.severity = 0  # raised by fold_event with each event
        self.samples: list[int] = []
        self.indicators: set[int] = set()
        self.alert_id = 0  # set once stored


def alert_key(member_id: int, identifier: str, external: str, window: int) -> str:
    """Return the stable key of an alert: 32 hex digits of blake2b over its grouping values."""
    text = f"{member_id}\x1f{identifier}\x1f{external}\x1f{window}"
    return blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def grouping_identifier(event: Event) -> str:
    """Return what an event's alert groups by: its classification identifier, else its type;
    a protocol record (kept because it matched an indicator) groups by the indicator."""
    if event.kind is EventKind.PROTOCOL and event.matched_indicators:
        return f"indicator:{min(event.matched_indicators)}"
    return event.classification_identifier or event.classification_type


def fold_event(
    drafts: dict[tuple[int, str, str, int], AlertDraft],
    event: Event,
    event_id: int,
    *,
    window_seconds: int,
    critical_members: frozenset[int],
) -> AlertDraft | None:
    """Fold a newly stored event into the drafts of every member it touches; return the draft
    its `alert_id` names (the destination member's, else the source member's)."""
    at = event.time_source or event.time_observation
    window = int(at.timestamp()) // window_seconds * window_seconds
    matched = event.matched_indicators
    if matched and event.kind is EventKind.PROTOCOL:
        identifier = f"indicator:{min(matched)}"  # as grouping_identifier, inlined: per event
    else:
        identifier = event.classification_identifier or event.classification_type
    base = int(event.severity) + (1 if matched else 0)  # raised_severity, inlined
    return _fold(
        drafts,
        event,
        event_id,
        (event.destination_member, event.source_member, event.source_ip, event.destination_ip),
        at,
        window,
        identifier,
        base,
        matched,
        critical_members,
    )


def fold_rows(
    drafts: dict[tuple[int, str, str, int], AlertDraft],
    event: Event,
    rows: Sequence[Sequence[Any]],
    windows: Sequence[int],
    times: Sequence[datetime],
    event_ids: Sequence[int],
    *,
    critical_members: frozenset[int],
) -> list[AlertDraft | None]:
    """Fold newly stored rows of the Shadowserver lane (lists in the events table's column
    order, sharing event's classification, feed and severity, matching no indicator; each
    with its alert window and time) into the drafts, as fold_event folds their events; return
    each row's draft."""
    identifier = event.classification_identifier or event.classification_type
    base = int(event.severity)
    fold = _fold
    return [
        fold(
            drafts,
            event,
            event_id,
            (row[_DESTINATION_MEMBER], row[_SOURCE_MEMBER], row[_SOURCE_IP], row[_DESTINATION_IP]),
            at,
            window,
            identifier,
            base,
            None,
            critical_members,
        )
        for row, window, at, event_id in zip(rows, windows, times, event_ids, strict=True)
    ]


# Where fold_rows reads a lane row.
_SOURCE_IP = EVENT_POSITION["source_ip"]
_DESTINATION_IP = EVENT_POSITION["destination_ip"]
_SOURCE_MEMBER = EVENT_POSITION["source_member_id"]
_DESTINATION_MEMBER = EVENT_POSITION["destination_member_id"]


def _fold(
    drafts: dict[tuple[int, str, str, int], AlertDraft],
    event: Event,
    event_id: int,
    parties: tuple[int | None, int | None, str | None, str | None],
    at: datetime,
    window: int,
    identifier: str,
    base: int,
    matched: list[int] | None,
    critical_members: frozenset[int],
) -> AlertDraft | None:
    """Fold one stored event (its members and addresses in parties: target, origin, source
    and destination address) into the drafts of every member it touches."""
    # The destination side first: for a sensor's alert that is the member under attack. An
    # event inside one member (both sides its own) makes one alert, not two.
    target, origin, source_ip, destination_ip = parties
    sides: tuple[tuple[int, str | None], ...]
    if target is None:
        sides = () if origin is None else ((origin, destination_ip),)
    elif origin is None or origin == target:
        sides = ((target, source_ip),)
    else:
        sides = ((target, source_ip), (origin, destination_ip))
    chosen: AlertDraft | None = None
    for member, external in sides:
        party = external or ""
        group = (member, identifier, party, window)
        draft = drafts.get(group)
        if draft is None:
            key = alert_key(member, identifier, party, window)
            draft = drafts[group] = AlertDraft(key, member, event, identifier, party, window, at)
        draft.count += 1
        if at < draft.first_seen:
            draft.first_seen = at
        if at > draft.last_seen:
            draft.last_seen = at
        severity = base + 1 if member in critical_members else base
        if severity > draft.severity:
            draft.severity = severity if severity < _CRITICAL else _CRITICAL
        if len(draft.samples) < ALERT_SAMPLES:
            draft.samples.append(event_id)
        if matched:
            draft.indicators.update(matched)
        if chosen is None:
            chosen = draft
    return chosen


def raised_severity(base: int, *, matched: bool, critical_member: bool) -> int:
    """Return an event's severity as its alert counts it: raised a step for an indicator match
    and a step for a critical member, at most critical."""
    return min(int(Severity.CRITICAL), base + matched + critical_member)


def merge_into(stored: dict[str, Any], draft: AlertDraft) -> dict[str, Any]:
    """Return the stored alert's values with the draft folded in (count, seen times, highest
    severity, capped samples and indicators; a closed alert reopens). This is the rule; the
    pipeline's write does it in SQL (store_sqlite / store_pg `merge_alerts`), held to this by
    tests/integration/monitoring/test_alert_merge.py."""
    samples = list(stored["sample_event_ids"])
    samples.extend(draft.samples[: max(0, ALERT_SAMPLES - len(samples))])
    indicators = sorted(set(stored["matched_indicator_ids"]) | draft.indicators)
    status = stored["status"]
    return {
        "count": stored["count"] + draft.count,
        "first_seen": min(stored["first_seen"], draft.first_seen),
        "last_seen": max(stored["last_seen"], draft.last_seen),
        "severity": max(stored["severity"], draft.severity),
        "sample_event_ids": samples,
        "matched_indicator_ids": indicators[:ALERT_INDICATORS],
        "status": AlertStatus.OPEN.value if status == AlertStatus.CLOSED.value else status,
    }


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertQuery:
    """Filters for listing alerts; None means any."""

    member_id: int | None = None
    status: AlertStatus | None = None
    since: datetime | None = None  # last seen at or after
    severity: Severity | None = None  # at least
    until: datetime | None = None  # first seen before
    classification: str | None = None  # the identifier or the type, exactly
    text: str | None = None  # in the signature, identifier or external party (any case)


def alert_dict(row: AlertRow) -> dict[str, Any]:
    """Return an alert as JSON-ready data."""
    return {
        "id": row.id,
        "member_id": row.member_id,
        "classification": {
            "taxonomy": row.classification_taxonomy,
            "type": row.classification_type,
            "identifier": row.classification_identifier,
        },
        "signature": row.signature,
        "feed_name": row.feed_name,
        "external_party": row.external_party,
        "window_start": row.window_start,
        "count": row.count,
        "first_seen": row.first_seen,
        "last_seen": row.last_seen,
        "severity": Severity(row.severity).name.lower(),
        "status": row.status,
        "sample_event_ids": list(row.sample_event_ids),
        "matched_indicator_ids": list(row.matched_indicator_ids),
    }


def list_alerts(
    session: Session,
    principal: Principal,
    *,
    query: AlertQuery = AlertQuery(),
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Return a page of alerts, most recently seen first, and how many match. A member
    principal sees its own organisation's only (another member's filter answers nothing)."""
    stmt = select(AlertRow)
    member_id, visible = list_scope(
        principal, query.member_id, cert_action=Action.LIST_ALL, member_action=Action.READ
    )
    if not visible:
        return [], 0
    if member_id is not None:
        stmt = stmt.where(AlertRow.member_id == member_id)
    if query.status is not None:
        stmt = stmt.where(AlertRow.status == query.status.value)
    if query.since is not None:
        stmt = stmt.where(AlertRow.last_seen >= query.since)
    if query.severity is not None:
        stmt = stmt.where(AlertRow.severity >= int(query.severity))
    if query.until is not None:
        stmt = stmt.where(AlertRow.first_seen < query.until)
    if query.classification:
        stmt = stmt.where(
            or_(
                AlertRow.classification_identifier == query.classification,
                AlertRow.classification_type == query.classification,
            )
        )
    if query.text:
        like = f"%{query.text.strip().lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(AlertRow.signature).like(like),
                func.lower(AlertRow.classification_identifier).like(like),
                AlertRow.external_party.like(like),
            )
        )
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.order_by(AlertRow.last_seen.desc(), AlertRow.id.desc()).limit(limit).offset(offset)
    )
    return [alert_dict(row) for row in rows], total


def alerts_first_seen(
    session: Session, principal: Principal, *, since: datetime, until: datetime
) -> list[tuple[datetime, int, str]]:
    """Return (first seen, member id, grouping identifier) of every alert first seen in
    [since, until), for counting alerts over time (CERT staff: all members; a member: its own)."""
    stmt = select(
        AlertRow.first_seen, AlertRow.member_id, AlertRow.classification_identifier
    ).where(AlertRow.first_seen >= since, AlertRow.first_seen < until)
    if principal.is_cert:
        authorize(principal, Action.LIST_ALL)
    else:
        authorize(principal, Action.READ, principal.organisation_id)
        stmt = stmt.where(AlertRow.member_id == principal.organisation_id)
    return [(row[0], row[1], row[2]) for row in session.execute(stmt)]


def get_alert_or_raise(session: Session, principal: Principal, alert_id: int) -> dict[str, Any]:
    """Return the alert with its sample events; NotFound if absent or another member's."""
    row = session.get(AlertRow, alert_id)
    if row is None:
        raise NotFound(f"alert {alert_id} not found")
    authorize(principal, Action.READ, row.member_id)
    result = alert_dict(row)
    events = session.scalars(
        select(EventRow).where(EventRow.id.in_(row.sample_event_ids)).order_by(EventRow.id)
    )
    result["events"] = [event_for(principal, event) for event in events]
    return result


def event_for(principal: Principal, row: EventRow) -> dict[str, Any]:
    """Return a stored event as JSON-ready data, as principal may see it: a member is not told
    which other member owns the other side (as whois does not tell it)."""
    data = stored_event(row)
    own = principal.organisation_id
    if not principal.is_cert:
        for key in ("source_member", "destination_member"):
            if data.get(key) is not None and data[key] != own:
                data[key] = None
    return {
        "id": row.id,
        "fingerprint": row.fingerprint,
        "alert_id": row.alert_id,
        "event": data,
        "raw": row.raw,
    }


_EVENT_FIELDS = tuple(field.name for field in msgspec.structs.fields(Event))
_LOW = int(Severity.LOW)


def stored_event(row: EventRow) -> dict[str, Any]:
    """Return the stored event as the JSON of the whole Event (raw left out): `events.data`
    with the fields kept in columns put back, in the model's order, left out where they hold
    their default, as the encoder leaves them out. Rows written before data left those fields
    out still hold them in data; data's value is taken then."""
    data: dict[str, Any] = msgspec.json.decode(row.data)
    time_source = row.time_source
    columns = {
        "kind": row.kind,
        "time_observation": msgspec.to_builtins(row.time_observation),
        "time_source": None if time_source is None else msgspec.to_builtins(time_source),
        "feed_name": row.feed_name,
        "feed_code": row.feed_code or None,
        "classification_taxonomy": row.classification_taxonomy,
        "classification_type": row.classification_type,
        "classification_identifier": row.classification_identifier or None,
        "severity": None if row.severity == _LOW else row.severity,
        "source_ip": row.source_ip,
        "source_port": row.source_port,
        "destination_ip": row.destination_ip,
        "destination_port": row.destination_port,
        "sensor": row.sensor,
        "source_member": row.source_member_id,
        "destination_member": row.destination_member_id,
        "fingerprint": row.fingerprint or None,
    }
    event: dict[str, Any] = {}
    for name in _EVENT_FIELDS:
        if name in data:
            event[name] = data[name]
        elif name in COLUMN_FIELDS and columns.get(name) is not None:
            event[name] = columns[name]
    return event
