"""The analysts' console: the dashboard (charts of alerts by member and classification, open
items, sensor health), the member registry (search, detail, change requests to approve), alerts
(filters, detail, suppress, escalate) and the audit log. CERT staff only.

This module holds the dashboard and the console's header links; the registry is in
console_members.py, the alerts and suppression rules in console_alerts.py, the audit log in
console_audit.py, what they share in console_base.py and their words in console_texts.py.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import Query
from fastapi.responses import HTMLResponse, Response

from vardeild.core.charts import Frame, Series, bar_chart, colour_for
from vardeild.members.changes import ChangeStatus, list_change_requests
from vardeild.monitoring.alerts import AlertQuery, AlertStatus, alerts_first_seen, list_alerts
from vardeild.monitoring.sensors import list_sensors
from vardeild.notify.model import NoticeStatus
from vardeild.notify.records import list_notices
from vardeild.web.pages import console_texts, nav
from vardeild.web.pages.console_base import (
    member_names,
    principal_of,
    render,
    require_cert,
    signed_in,
)
from vardeild.web.pages.context import PageDep, page_router

__all__ = ["console_texts", "router"]

router = page_router()

for _order, (_path, _key) in enumerate(
    (
        ("/console", "dashboard"),
        ("/console/members", "members"),
        ("/console/change-requests", "requests"),
        ("/console/alerts", "alerts"),
        ("/console/suppressions", "suppressions"),
        ("/console/audit", "audit"),
    )
):
    nav.add_link(nav.NavLink(_path, f"console.nav.{_key}", nav.Audience.CERT, 10 + _order))

PERIODS = (7, 30, 90)
TOP = 6  # series drawn by name; the rest are summed as "other"
OPEN_ITEMS = 10  # rows shown of each open-item list


def day_labels(start: datetime, days: int) -> list[str]:
    """Return the labels of the days from start (DD.MM)."""
    return [(start + timedelta(days=i)).strftime("%d.%m") for i in range(days)]


def daily_series(
    rows: list[tuple[datetime, Any]],
    *,
    start: datetime,
    days: int,
    name_of: Callable[[Any], str],
    other: str,
) -> list[Series]:
    """Return a series per key of rows ((first seen, key) pairs) with a count per day: the
    TOP keys with the most alerts by name, the rest summed as one series named other."""
    totals = Counter(key for _, key in rows)
    top = [key for key, _ in totals.most_common(TOP)]
    counts: dict[Any, list[int]] = {key: [0] * days for key in [*top, None]}
    for at, key in rows:
        index = (at.astimezone(UTC) - start).days
        if 0 <= index < days:
            counts[key if key in top else None][index] += 1
    series = [
        Series(name_of(key), counts[key], colour_for(n), f"series-{n}") for n, key in enumerate(top)
    ]
    if any(counts[None]):
        series.append(Series(other, counts[None], "#9e9e9e", "series-other"))
    return series


@router.get("/console", response_class=HTMLResponse)
def dashboard(page: PageDep, days: Annotated[int, Query(ge=1, le=366)] = 30) -> Response:
    """Alerts per day by member and by classification, open items, and sensor health."""
    if (away := signed_in(page)) is not None:
        return away
    principal = require_cert(principal_of(page))
    if days not in PERIODS:
        days = 30
    now = page.platform.clock.now().astimezone(UTC)
    start = datetime.combine(now.date() - timedelta(days=days - 1), time(0, 0), tzinfo=UTC)
    found = alerts_first_seen(page.db, principal, since=start, until=start + timedelta(days=days))
    names = member_names(page, principal)
    labels = day_labels(start, days)
    other = page.t("console.other")
    by_member = daily_series(
        [(at, member) for at, member, _ in found],
        start=start,
        days=days,
        name_of=lambda key: names.get(key, f"#{key}"),
        other=other,
    )
    by_class = daily_series(
        [(at, identifier) for at, _, identifier in found],
        start=start,
        days=days,
        name_of=str,
        other=other,
    )
    frame = Frame(width=720, height=220, bottom=20)
    every = 1 if days <= 14 else 7
    # core.charts escapes every text it draws (member names, signatures), so the template
    # puts its SVG into the page as markup.
    charts = [
        (key, series, bar_chart(labels, series, frame=frame, label_every=every,
                                label=page.t(f"console.{key}"), legend=False))
        for key, series in (("by_member", by_member), ("by_classification", by_class))
    ]  # fmt: skip
    open_alerts, open_total = list_alerts(
        page.db, principal, query=AlertQuery(status=AlertStatus.OPEN), limit=OPEN_ITEMS
    )
    pending, pending_total = list_change_requests(
        page.db, principal, status=ChangeStatus.PENDING, limit=OPEN_ITEMS
    )
    failed, failed_total = list_notices(
        page.db, principal, status=NoticeStatus.FAILED, limit=OPEN_ITEMS
    )
    sensors = list_sensors(page.db, principal, clock=page.platform.clock)
    return render(
        page,
        "console/dashboard.html",
        title=page.t("console.dashboard.title"),
        days=days,
        periods=PERIODS,
        charts=charts,
        total=len(found),
        names=names,
        open_alerts=open_alerts,
        open_total=open_total,
        pending=pending,
        pending_total=pending_total,
        failed=failed,
        failed_total=failed_total,
        sensors=sensors,
    )
