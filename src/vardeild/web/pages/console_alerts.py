"""The analysts' console: alerts (filters, one alert with its events, matched indicators and
history; acknowledge, close, reopen and comment through monitoring.alert_actions) and
suppression rules (made from an alert, listed, ended; through monitoring.suppression, audited
there). Escalating an alert to an incident case is another page module's: the alert's template
includes console/_alert_escalate.html for it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form
from fastapi.responses import HTMLResponse, Response

from vardeild.access.model import Action, Principal, may
from vardeild.core.errors import NotFound
from vardeild.intel.service import get_indicator_or_raise
from vardeild.monitoring import suppression
from vardeild.monitoring.alert_actions import (
    NOTE_MAX,
    AlertAction,
    CloseReason,
    act_on_alert,
    alert_history,
)
from vardeild.monitoring.alerts import AlertQuery, AlertStatus, get_alert_or_raise, list_alerts
from vardeild.monitoring.model import Severity
from vardeild.web.pages.console_base import (
    Filter,
    PageNo,
    back,
    member_names,
    pager,
    parse_day,
    parse_id,
    principal_of,
    render,
    require_cert,
    signed_in,
    with_total,
)
from vardeild.web.pages.context import Page, PageDep, page_router

router = page_router()

Note = Annotated[str, Form(max_length=NOTE_MAX)]
SUPPRESS_DAYS = (1, 7, 30, 90)
SEVERITIES = [s.name.lower() for s in Severity]


@router.get("/console/alerts", response_class=HTMLResponse)
def alerts(
    page: PageDep,
    member: Filter = "",
    classification: Filter = "",
    severity: Filter = "",
    status: AlertStatus | None = None,
    since: Filter = "",
    until: Filter = "",
    q: Filter = "",
    number: PageNo = 1,
) -> Response:
    """Alerts, most recently seen first: by member, classification (identifier or type),
    least severity, status, days last seen from and first seen until, and text."""
    if (away := signed_in(page)) is not None:
        return away
    principal = require_cert(principal_of(page))
    chosen = severity.strip().lower()
    query = AlertQuery(
        member_id=parse_id(member, "member"),
        status=status,
        since=parse_day(since, "since"),
        until=parse_day(until, "until", end=True),
        severity=Severity[chosen.upper()] if chosen in SEVERITIES else None,
        classification=classification.strip() or None,
        text=q.strip() or None,
    )
    filters = {
        "member": member, "classification": classification, "severity": chosen,
        "status": status.value if status else "", "since": since, "until": until, "q": q,
    }  # fmt: skip
    paging = pager(number, filters)
    found, total = list_alerts(
        page.db, principal, query=query, limit=paging.per_page, offset=paging.offset
    )
    return render(
        page, "console/alerts.html", title=page.t("console.alerts.title"), alerts=found,
        filters=filters, names=member_names(page, principal), statuses=list(AlertStatus),
        severities=SEVERITIES, pager=with_total(paging, total),
    )  # fmt: skip


def _alert_for_staff(page: Page, alert_id: int) -> tuple[Principal, dict[str, Any]]:
    # With the user's own principal first: another member's alert answers 404, as the API's.
    principal = principal_of(page)
    alert = get_alert_or_raise(page.db, principal, alert_id)
    return require_cert(principal), alert


def _indicators(page: Page, principal: Principal, ids: list[int]) -> list[Any]:
    found = []
    for indicator_id in ids:
        try:
            found.append(get_indicator_or_raise(page.db, principal, indicator_id))
        except NotFound:
            continue  # deleted since it matched: the id alone is shown
    return found


@router.get("/console/alerts/{alert_id}", response_class=HTMLResponse)
def alert(page: PageDep, alert_id: int, done: str = "") -> Response:
    """One alert: its sample events, the indicators they matched, its history, and what the
    analyst can do with it (acknowledge, close, reopen, comment, suppress alerts like it)."""
    if (away := signed_in(page)) is not None:
        return away
    principal, found = _alert_for_staff(page, alert_id)
    ids = found["matched_indicator_ids"]
    indicators = _indicators(page, principal, ids)
    known = {indicator.id for indicator in indicators}
    member = member_names(page, principal).get(found["member_id"], f"#{found['member_id']}")
    return render(
        page, "console/alert.html", title=f"{page.t('console.alert.title')} {alert_id}",
        alert=found, member_name=member, history=alert_history(page.db, principal, alert_id),
        indicators=indicators, unknown_indicators=[i for i in ids if i not in known],
        may_act=may(principal, Action.EDIT, found["member_id"]), reasons=list(CloseReason),
        suppress_days=SUPPRESS_DAYS, done=done,
    )  # fmt: skip


def _act(page: Page, alert_id: int, action: AlertAction, **given: Any) -> Response:
    if (away := signed_in(page)) is not None:
        return away
    principal, _ = _alert_for_staff(page, alert_id)
    act_on_alert(page.db, principal, alert_id, action, clock=page.platform.clock, **given)
    return back(page, f"/console/alerts/{alert_id}", action.value)


@router.post("/console/alerts/{alert_id}/acknowledge", response_class=HTMLResponse)
def acknowledge(page: PageDep, alert_id: int, note: Note = "") -> Response:
    """Acknowledge the alert: someone is on it."""
    return _act(page, alert_id, AlertAction.ACKNOWLEDGE, note=note)


@router.post("/console/alerts/{alert_id}/close", response_class=HTMLResponse)
def close(
    page: PageDep, alert_id: int, reason: Annotated[CloseReason, Form()], note: Note = ""
) -> Response:
    """Close the alert with a reason."""
    return _act(page, alert_id, AlertAction.CLOSE, note=note, reason=reason)


@router.post("/console/alerts/{alert_id}/reopen", response_class=HTMLResponse)
def reopen(page: PageDep, alert_id: int, note: Note = "") -> Response:
    """Open a closed or acknowledged alert again."""
    return _act(page, alert_id, AlertAction.REOPEN, note=note)


@router.post("/console/alerts/{alert_id}/comment", response_class=HTMLResponse)
def comment(page: PageDep, alert_id: int, note: Note = "") -> Response:
    """Add a comment to the alert's history."""
    return _act(page, alert_id, AlertAction.COMMENT, note=note)


@router.post("/console/alerts/{alert_id}/suppress", response_class=HTMLResponse)
def suppress(
    page: PageDep,
    alert_id: int,
    days: Annotated[int, Form(ge=1, le=suppression.SUPPRESS_DAYS_MAX)] = 30,
    reason: Annotated[str, Form(max_length=1000)] = "",
    same_party: Annotated[bool, Form()] = False,
) -> Response:
    """Suppress alerts like this one, at its member, for days days (a rule, audited)."""
    if (away := signed_in(page)) is not None:
        return away
    principal, _ = _alert_for_staff(page, alert_id)
    rule = suppression.suppress_like_alert(
        page.db, principal, alert_id, clock=page.platform.clock, days=days, reason=reason,
        same_party=same_party,
    )  # fmt: skip
    return back(page, "/console/suppressions", f"created:{rule['id']}")


# --- suppression rules ------------------------------------------------------------------------


@router.get("/console/suppressions", response_class=HTMLResponse)
def suppressions(page: PageDep, ended: bool = False, done: str = "") -> Response:
    """The suppression rules in force (and, on asking, the ended ones), newest first, with
    how many events each has suppressed."""
    if (away := signed_in(page)) is not None:
        return away
    principal = require_cert(principal_of(page))
    now = page.platform.clock.now()
    rules = [
        {**rule, "active": suppression.is_active(rule, now)}
        for rule in suppression.list_rules(page.db, principal)
    ]
    shown = rules if ended else [rule for rule in rules if rule["active"]]
    return render(
        page, "console/suppressions.html", title=page.t("console.suppressions.title"),
        rules=shown, ended=ended, names=member_names(page, principal),
        may_edit=may(principal, Action.EDIT), done=done,
    )  # fmt: skip


@router.post("/console/suppressions/{rule_id}/end", response_class=HTMLResponse)
def end(page: PageDep, rule_id: int, note: Note = "") -> Response:
    """End the rule now: from the next batch on, its events are stored and alerted on again."""
    if (away := signed_in(page)) is not None:
        return away
    principal = require_cert(principal_of(page))
    suppression.end_rule(page.db, principal, rule_id, clock=page.platform.clock, note=note)
    return back(page, "/console/suppressions", f"ended:{rule_id}")
