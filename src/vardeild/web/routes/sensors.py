"""The sensor registry: list, register and read sensors. A member's token sees the member's
own sensors only; CERT staff see all and register them. Tokens are issued on the command line
(`vardeild sensors token NAME`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from vardeild.monitoring import sensors as service
from vardeild.monitoring.sensor_model import (
    DEFAULT_SILENCE_AFTER_MINUTES,
    SILENCE_AFTER_MAX_MINUTES,
    SensorStatus,
)
from vardeild.web.deps import ID_MAX, PageDep, PlatformDep, PrincipalDep, SessionDep
from vardeild.web.schemas import Page

router = APIRouter(prefix="/sensors", tags=["sensors"])

SensorId = Annotated[int, Path(ge=1, le=ID_MAX, description="The sensor's id.")]


class SensorIn(BaseModel):
    """A sensor to register (CERT staff). Its name is how events name it, and is never reused."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(examples=["osl-dc1-ids"], description="a-z, 0-9 and inner hyphens.")
    location: str = Field(examples=["Oslo DC1, core switch SPAN"])
    organisation_id: int | None = Field(
        default=None, description="The member whose own sensor it is; empty for the CERT's."
    )
    description: str = ""
    silence_after_minutes: int = Field(
        default=DEFAULT_SILENCE_AFTER_MINUTES,
        ge=1,
        le=SILENCE_AFTER_MAX_MINUTES,
        description="Not heard from this long while active raises an alert.",
    )


class SensorHealthOut(BaseModel):
    """The sensor's latest EVE stats: counters since Suricata started."""

    at: datetime
    uptime_seconds: int | None
    packets: int | None
    drops: int | None
    alerts: int | None
    drop_ratio: float | None = Field(description="drops / (packets + drops)")


class SensorOut(BaseModel):
    """A sensor, how it last reported, and its rates."""

    id: int
    name: str
    location: str
    organisation_id: int | None = Field(description="The owner member; empty for the CERT.")
    description: str
    status: SensorStatus
    silence_after_minutes: int
    created_by: str
    created_at: datetime
    retired_at: datetime | None
    last_seen_at: datetime | None = Field(description="When it last delivered; empty: never.")
    silent: bool = Field(description="Active, and not heard from for silence_after_minutes.")
    silence_alerted_at: datetime | None = Field(description="When its current silence was alerted.")
    events_this_hour: int
    events_previous_hour: int = Field(description="Records in the whole previous hour.")
    events_last_24h: int
    health: SensorHealthOut | None


@router.get("", response_model=Page[SensorOut], summary="List sensors")
def list_sensors(
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
    page: PageDep,
    include_retired: Annotated[bool, Query(description="Also retired sensors.")] = False,
) -> dict[str, Any]:
    """Sensors by name, with last seen, rates and silence: all for CERT staff, a member's
    own for a member token."""
    found = service.list_sensors(
        session, principal, clock=platform.clock, include_retired=include_retired
    )
    return {
        "items": [service.sensor_dict(s) for s in found[page.offset : page.offset + page.limit]],
        "total": len(found),
        "limit": page.limit,
        "offset": page.offset,
    }


@router.post(
    "",
    response_model=SensorOut,
    status_code=status.HTTP_201_CREATED,
    summary="Register a sensor",
)
def create_sensor(
    body: SensorIn,
    response: Response,
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
) -> dict[str, Any]:
    """Register an active sensor (CERT staff who edit the registry). Issue its token with
    `vardeild sensors token NAME`."""
    created = service.create_sensor(
        session,
        principal,
        clock=platform.clock,
        name=body.name,
        location=body.location,
        organisation_id=body.organisation_id,
        description=body.description,
        silence_after_minutes=body.silence_after_minutes,
    )
    response.headers["Location"] = f"/api/v1/sensors/{created.id}"
    return service.sensor_dict(created)


@router.get("/{sensor_id}", response_model=SensorOut, summary="Read a sensor")
def get_sensor(
    sensor_id: SensorId, session: SessionDep, principal: PrincipalDep, platform: PlatformDep
) -> dict[str, Any]:
    """The sensor, if the caller may see it (another member's answers 404)."""
    return service.sensor_dict(
        service.get_sensor_or_raise(session, principal, sensor_id, clock=platform.clock)
    )
