"""Alerts: what the monitoring pipeline folded together, per member. A member's token sees its
own organisation's alerts only; another member's alert answers 404, as one that does not
exist."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime, BaseModel, Field

from vardeild.monitoring.alerts import AlertQuery, AlertStatus, get_alert_or_raise, list_alerts
from vardeild.monitoring.model import Severity
from vardeild.web.deps import ID_MAX, PageDep, PrincipalDep, SessionDep
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


class AlertDetailOut(AlertOut):
    """An alert with its sample events."""

    events: list[EventOut]


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
    """The alert with its sample events and matched indicator ids."""
    return get_alert_or_raise(session, principal, alert_id)
