"""Alerts become notices: a new alert at or above the member's threshold makes a notice, and
so does an alert that has grown since its last notice (severity raised, or count doubled).

Exactly once: the notice's source key names the alert's state (id, count, severity), and the
mark that remembers the state is written in the same transaction as the notice. A pass run
twice finds the mark; a pass killed before its commit left neither, and the next pass makes it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from vardeild.access.model import SYSTEM
from vardeild.core.errors import NotFound
from vardeild.monitoring import alerts as alert_service
from vardeild.monitoring.alerts import AlertQuery, AlertStatus
from vardeild.monitoring.model import Severity
from vardeild.notify.model import NoticeKind
from vardeild.notify.service import NotifyConfig, get_policy, queue_notice
from vardeild.notify.tables import AlertMarkRow

PAGE = 500


def has_grown(mark: AlertMarkRow | None, count: int, severity: int) -> bool:
    """Return True if an alert in this state deserves a (new) notice given its mark."""
    if mark is None:
        return True
    return severity > mark.severity or count >= 2 * mark.count


def notice_alerts(session: Session, *, config: NotifyConfig, now: datetime) -> list[int]:
    """Queue a notice for every open alert seen within the lookback that is new or has grown
    and reaches its member's threshold; return the ids of the notices made."""
    made: list[int] = []
    offset = 0
    while True:
        page, _ = alert_service.list_alerts(
            session,
            SYSTEM,
            query=AlertQuery(status=AlertStatus.OPEN, since=now - config.alert_lookback),
            limit=PAGE,
            offset=offset,
        )
        for alert in page:
            notice_id = _notice_alert(session, alert, config=config, now=now)
            if notice_id is not None:
                made.append(notice_id)
        if len(page) < PAGE:
            return made
        offset += PAGE


def _notice_alert(
    session: Session, alert: dict[str, Any], *, config: NotifyConfig, now: datetime
) -> int | None:
    severity = int(Severity[alert["severity"].upper()])
    mark = session.get(AlertMarkRow, alert["id"])
    if not has_grown(mark, alert["count"], severity):
        return None
    policy = get_policy(session, alert["member_id"])
    if severity < policy.min_severity:
        return None
    try:
        detail = alert_service.get_alert_or_raise(session, SYSTEM, alert["id"])
    except NotFound:
        return None
    content = alert_content(detail)
    classification = alert["classification"]
    title = alert["signature"] or classification["identifier"] or classification["type"]
    notice, created = queue_notice(
        session,
        SYSTEM,
        member_id=alert["member_id"],
        kind=NoticeKind.ALERT,
        title=title if mark is None else f"{title} (grown: {alert['count']} events)",
        severity=Severity(severity),
        content=content,
        source_key=f"alert:{alert['id']}:{alert['count']}:{severity}",
        config=config,
        now=now,
    )
    if not created:
        # Another pass queued this state first; it wrote the mark in the same transaction.
        return None
    if mark is None:
        session.add(
            AlertMarkRow(
                alert_id=alert["id"], count=alert["count"], severity=severity, notice_id=notice.id
            )
        )
    else:
        mark.count, mark.severity, mark.notice_id = alert["count"], severity, notice.id
    session.flush()
    return notice.id


def alert_content(alert: dict[str, Any]) -> dict[str, Any]:
    """Return what a notice of the alert says: details, the member's systems, sample events."""
    member = alert["member_id"]
    systems: set[str] = set()
    events = []
    for item in alert.get("events", []):
        event = item["event"]
        for side in ("destination", "source"):
            if event.get(f"{side}_member") == member and event.get(f"{side}_ip"):
                systems.add(event[f"{side}_ip"])
        events.append({k: v for k, v in event.items() if k not in ("extra", "raw")})
    classification = alert["classification"]
    return {
        "alert_id": alert["id"],
        "details": {
            "count": alert["count"],
            "signature": alert["signature"],
            "identifier": classification["identifier"],
            "taxonomy": classification["taxonomy"],
            "type": classification["type"],
            "first_seen": _iso(alert["first_seen"]),
            "last_seen": _iso(alert["last_seen"]),
            "external_party": alert["external_party"],
            "feed_name": alert["feed_name"],
            "indicator_match": bool(alert["matched_indicator_ids"]),
        },
        "systems": sorted(systems),
        "events": events,
    }


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)
