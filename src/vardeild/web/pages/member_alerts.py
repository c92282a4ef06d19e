"""The members' alerts: the list (status, severity, classification and time filters, paging)
and one alert with its sample events, matched indicators and history, with the actions the API
allows a member (acknowledge, comment) as forms.

Everything is read through the monitoring services the API calls, with the signed-in user's
principal: another member's alert answers NotFound, the same 404 page as one that does not
exist. Matched indicators are shown only as far as TLP lets the reader receive them (the one
rule of `intel.sharing`): the ids of the others are counted, never shown.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import Form
from fastapi.responses import HTMLResponse, Response

from vardeild.access.model import Principal
from vardeild.core.errors import ValidationFailed
from vardeild.core.taxonomy import TAXONOMY
from vardeild.intel.sharing import SharedIndicator, SharedQuery, default_audience, list_shared
from vardeild.monitoring.alert_actions import NOTE_MAX, AlertAction, act_on_alert, alert_history
from vardeild.monitoring.alerts import AlertQuery, AlertStatus, get_alert_or_raise, list_alerts
from vardeild.monitoring.model import Severity
from vardeild.web.pages import member_texts
from vardeild.web.pages.console_base import parse_day
from vardeild.web.pages.context import Page, PageDep, page_router
from vardeild.web.pages.member_scope import (
    ItemId,
    OrganisationParam,
    Paging,
    chosen_organisation,
    not_found_as,
    optional,
    page_number,
)

assert member_texts  # imported for its words

router = page_router()

Note = Annotated[str, Form(max_length=NOTE_MAX)]
SEVERITIES = [severity.name.lower() for severity in Severity]
TYPES = sorted(kind for kinds in TAXONOMY.values() for kind in kinds)  # RSIT types


def _choice(value: str, allowed: list[str], field: str) -> str | None:
    chosen = optional(value)
    if chosen is not None and chosen not in allowed:
        raise ValidationFailed.one("filter", field, f"choose one of {', '.join(allowed)}")
    return chosen


@router.get("/portal/alerts", response_class=HTMLResponse)
def alerts_page(
    page: PageDep,
    organisation: OrganisationParam = None,
    status: str = "",
    severity: str = "",
    classification: str = "",
    since: str = "",
    until: str = "",
) -> Response:
    """The organisation's alerts, most recently seen first (CERT staff: every member's, or
    the one named)."""
    if page.user is None:
        return page.to_signin()
    principal = page.user.principal
    chosen = chosen_organisation(principal, organisation)
    wanted_status = _choice(status, [s.value for s in AlertStatus], "status")
    wanted_severity = _choice(severity, SEVERITIES, "severity")
    wanted_class = _choice(classification, TYPES, "classification")
    last_day = parse_day(until, "until")
    query = AlertQuery(
        member_id=chosen,
        status=AlertStatus(wanted_status) if wanted_status else None,
        severity=Severity[wanted_severity.upper()] if wanted_severity else None,
        since=parse_day(since, "since"),
        until=last_day + timedelta(days=1) if last_day else None,
        classification=wanted_class,
    )
    filters = {"organisation": str(organisation or ""), "status": status, "severity": severity,
               "classification": classification, "since": since, "until": until}  # fmt: skip
    number = page_number(page)
    paging = Paging(number=number, total=0, path="/portal/alerts", filters=filters)
    items, total = list_alerts(
        page.db, principal, query=query, limit=paging.limit, offset=paging.offset
    )
    return page.render(
        "member/alerts.html",
        alerts=items,
        paging=Paging(number=number, total=total, path="/portal/alerts", filters=filters),
        filters=filters,
        statuses=[s.value for s in AlertStatus],
        severities=SEVERITIES,
        taxonomy=TAXONOMY,
    )


def visible_indicators(
    page: Page, principal: Principal, matched: list[int]
) -> tuple[list[SharedIndicator], int]:
    """Return the matched indicators the reader may receive under TLP (what the member API's
    shared indicators would give it), and how many others matched."""
    if not matched:
        return [], 0
    shown = list_shared(
        page.db, principal, default_audience(principal), now=page.platform.clock.now(),
        query=SharedQuery(ids=matched),
    )  # fmt: skip
    return shown, len(set(matched)) - len(shown)


def _alert_page(page: Page, alert_id: int, *, status: int = 200, **context: Any) -> HTMLResponse:
    assert page.user is not None
    principal = page.user.principal
    with not_found_as("alert", alert_id):
        alert = get_alert_or_raise(page.db, principal, alert_id)
    indicators, hidden = visible_indicators(page, principal, alert["matched_indicator_ids"])
    return page.render(
        "member/alert.html",
        status=status,
        alert=alert,
        history=alert_history(page.db, principal, alert_id),
        indicators=indicators,
        hidden_indicators=hidden,
        may_acknowledge=alert["status"] in (AlertStatus.OPEN, AlertStatus.SUPPRESSED),
        done=page.request.query_params.get("done", "") in set(AlertAction),
        **context,
    )


@router.get("/portal/alerts/{alert_id}", response_class=HTMLResponse)
def alert_page(page: PageDep, alert_id: ItemId) -> Response:
    """One alert: what happened, sample events (the reader's side), matched indicators as TLP
    allows, its history, and the forms to acknowledge and comment."""
    if page.user is None:
        return page.to_signin()
    return _alert_page(page, alert_id)


def _act(page: Page, alert_id: int, action: AlertAction, note: str) -> Response:
    assert page.user is not None
    try:
        with not_found_as("alert", alert_id):
            act_on_alert(
                page.db, page.user.principal, alert_id, action, clock=page.platform.clock,
                note=note,
            )  # fmt: skip
    except ValidationFailed as exc:
        return _alert_page(
            page, alert_id, status=422, errors=[problem.message for problem in exc.problems]
        )
    return page.redirect(f"/portal/alerts/{alert_id}?done={action.value}")


@router.post("/portal/alerts/{alert_id}/acknowledge", response_class=HTMLResponse)
def acknowledge_alert(page: PageDep, alert_id: ItemId, note: Note = "") -> Response:
    """Acknowledge the alert (someone is on it), as the API's acknowledge does."""
    if page.user is None:
        return page.to_signin()
    return _act(page, alert_id, AlertAction.ACKNOWLEDGE, note)


@router.post("/portal/alerts/{alert_id}/comment", response_class=HTMLResponse)
def comment_on_alert(page: PageDep, alert_id: ItemId, note: Note = "") -> Response:
    """Add a comment to the alert's history; its status stays."""
    if page.user is None:
        return page.to_signin()
    return _act(page, alert_id, AlertAction.COMMENT, note)
