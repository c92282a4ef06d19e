"""Alerts: what the monitoring pipeline folded together, per member. A member's token sees its
own organisation's alerts only; another member's alert answers 404, as one that does not
exist."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime, BaseModel, Field

from vardeild.monitoring.alert_actions import (
    NOTE_MAX,
    AlertAction,
    CloseReason,
    act_on_alert,
    alert_history,
)
from vardeild.monitoring.alerts import AlertQuery, AlertStatus, get_alert_or_raise, list_alerts
from vardeild.monitoring.model import Severity
from vardeild.web.deps import ID_MAX, PageDep, PlatformDep, PrincipalDep, SessionDep
from vardeild.web.schemas import Page

router = APIRouter(prefix="/alerts", tags=["alerts"])

AlertId = Annotated[int, Path(ge=1, le=ID_MAX, description="The alert's id.")]


class SeverityName(StrEnum):
    """Severity as the API writes it (monitoring.model.Severity by name)."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Classification(BaseModel):
    """The Reference Security Incident Taxonomy classification, and what exactly."""

    taxonomy: str
    type: str
    identifier: str = Field(description="A signature id (sid:1:2001219), report or indicator.")


class AlertOut(BaseModel):
    """Events folded together: one member, one classification, one external party, one
    time window."""

    id: int
    member_id: int
    classification: Classification
    signature: str
    feed_name: str
    external_party: str = Field(description="The other side's IP address ('' if none).")
    window_start: datetime
    count: int = Field(description="Events folded in.")
    first_seen: datetime
    last_seen: datetime
    severity: SeverityName
    status: AlertStatus
    sample_event_ids: list[int] = Field(description="The first events folded in (at most 10).")
    matched_indicator_ids: list[int]


class EventOut(BaseModel):
    """A stored event: the harmonised fields (IntelMQ names, see docs/events.md) and the raw
    record as received."""

    id: int
    fingerprint: str
    alert_id: int | None
    event: dict[str, Any]
    raw: str


class AlertActionOut(BaseModel):
    """One thing a person did with the alert: who, when, why."""

    id: int
    alert_id: int
    action: AlertAction
    actor: str
    at: datetime
    status_before: AlertStatus
    status_after: AlertStatus
    reason: CloseReason | None = Field(description="Why it was closed (close only).")
    note: str


class AlertDetailOut(AlertOut):
    """An alert with its sample events and what people did with it."""

    events: list[EventOut]
    history: list[AlertActionOut] = Field(description="Acknowledged, closed, ... oldest first.")


class NoteIn(BaseModel):
    """Why, in a few words (optional)."""

    note: str = Field(default="", max_length=NOTE_MAX)


class CloseIn(NoteIn):
    """Why the alert is closed."""

    reason: CloseReason


class CommentIn(BaseModel):
    """A comment on the alert."""

    note: str = Field(min_length=1, max_length=NOTE_MAX)


@router.get("", response_model=Page[AlertOut], summary="List alerts")
def list_alerts_route(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    organisation_id: Annotated[
        int | None, Query(ge=1, le=ID_MAX, description="Only this member's alerts.")
    ] = None,
    status: AlertStatus | None = None,
    since: Annotated[AwareDatetime | None, Query(description="Last seen at or after.")] = None,
    severity: Annotated[
        SeverityName | None,
        Query(description="At least this severe."),
    ] = None,
) -> dict[str, Any]:
    """Alerts, most recently seen first; a member token sees its own organisation's only."""
    query = AlertQuery(
        member_id=organisation_id,
        status=status,
        since=since,
        severity=Severity[severity.value.upper()] if severity is not None else None,
    )
    items, total = list_alerts(
        session, principal, query=query, limit=page.limit, offset=page.offset
    )
    return {"items": items, "total": total, "limit": page.limit, "offset": page.offset}


@router.get("/{alert_id}", response_model=AlertDetailOut, summary="Read an alert")
def get_alert(alert_id: AlertId, session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    """The alert with its sample events, matched indicator ids and history."""
    return _detail(session, principal, alert_id)


def _detail(session: SessionDep, principal: PrincipalDep, alert_id: int) -> dict[str, Any]:
    alert = get_alert_or_raise(session, principal, alert_id)
    alert["history"] = alert_history(session, principal, alert_id)
    return alert


_ACTION_RESPONSES: dict[int | str, dict[str, Any]] = {
    403: {"description": "The role may not take this action (members may not close)."},
    404: {"description": "No such alert, or another member's."},
    409: {"description": "The alert's status does not allow it (e.g. closing a closed one)."},
}


@router.post(
    "/{alert_id}/acknowledge",
    response_model=AlertDetailOut,
    summary="Acknowledge an alert",
    responses=_ACTION_RESPONSES,
)
def acknowledge_alert(
    alert_id: AlertId,
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
    body: NoteIn | None = None,
) -> dict[str, Any]:
    """Say that someone is on it: the alert stays acknowledged as new events arrive. A
    member's token may acknowledge its own organisation's alerts."""
    note = body.note if body is not None else ""
    act_on_alert(
        session, principal, alert_id, AlertAction.ACKNOWLEDGE, clock=platform.clock, note=note
    )
    return _detail(session, principal, alert_id)


@router.post(
    "/{alert_id}/close",
    response_model=AlertDetailOut,
    summary="Close an alert (CERT)",
    responses=_ACTION_RESPONSES,
)
def close_alert(
    alert_id: AlertId,
    body: CloseIn,
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
) -> dict[str, Any]:
    """Close the alert with a reason. New events in its window reopen it."""
    act_on_alert(
        session,
        principal,
        alert_id,
        AlertAction.CLOSE,
        clock=platform.clock,
        note=body.note,
        reason=body.reason,
    )
    return _detail(session, principal, alert_id)


@router.post(
    "/{alert_id}/reopen",
    response_model=AlertDetailOut,
    summary="Reopen an alert (CERT)",
    responses=_ACTION_RESPONSES,
)
def reopen_alert(
    alert_id: AlertId,
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
    body: NoteIn | None = None,
) -> dict[str, Any]:
    """Open a closed or acknowledged alert again."""
    note = body.note if body is not None else ""
    act_on_alert(session, principal, alert_id, AlertAction.REOPEN, clock=platform.clock, note=note)
    return _detail(session, principal, alert_id)


@router.post(
    "/{alert_id}/comments",
    response_model=AlertDetailOut,
    status_code=201,
    summary="Comment on an alert",
    responses=_ACTION_RESPONSES,
)
def comment_on_alert(
    alert_id: AlertId,
    body: CommentIn,
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
) -> dict[str, Any]:
    """Add a comment to the alert's history; its status stays as it is. A member's token may
    comment on its own organisation's alerts."""
    act_on_alert(
        session, principal, alert_id, AlertAction.COMMENT, clock=platform.clock, note=body.note
    )
    return _detail(session, principal, alert_id)
