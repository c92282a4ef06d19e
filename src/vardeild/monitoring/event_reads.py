"""Stored events read whole, for other domains: every event of a member from one feed, where an
alert hands out only its samples (`ALERT_SAMPLES`).

The exposure domain reads Shadowserver scan reports this way: one report folds all of a
member's hosts into one alert per report type and hour, so its samples would name ten hosts of
perhaps hundreds.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from vardeild.access.model import Action, Principal, authorize
from vardeild.monitoring.alerts import event_for
from vardeild.monitoring.tables import EventRow

CHUNK = 1000  # rows read per query: bounded memory, few round trips


def iter_member_events(
    session: Session,
    principal: Principal,
    member_id: int,
    *,
    feed_name: str,
    since: datetime | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield every stored event of feed_name that touches member_id (either side), oldest
    first, as `event_for` shows it to principal; observed at or after since when given.
    PermissionDenied/NotFound as the alert service answers for another member's.

    The events table has no index by member (writes at line rate come first, docs/monitoring.md):
    this reads the feed's events in id order, a chunk at a time, and suits a periodic import,
    not a page view."""
    authorize(principal, Action.READ, member_id)
    last = 0
    while True:
        query = select(EventRow).where(
            EventRow.id > last,
            EventRow.feed_name == feed_name,
            or_(
                EventRow.source_member_id == member_id, EventRow.destination_member_id == member_id
            ),
        )
        if since is not None:
            query = query.where(EventRow.time_observation >= since)
        rows = session.scalars(query.order_by(EventRow.id).limit(CHUNK)).all()
        if not rows:
            return
        for row in rows:
            yield event_for(principal, row)["event"]
        last = rows[-1].id
