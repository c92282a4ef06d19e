"""What routes receive: the platform, one database session per request, the principal its
bearer token stands for, and the page of a list it asks for."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator
from sqlalchemy.orm import Session

from vardeild.access.model import Principal
from vardeild.access.service import authenticate
from vardeild.core.errors import PermissionDenied, ValidationFailed
from vardeild.core.text import clean_text
from vardeild.monitoring.sensors import authenticate_sensor, looks_like_sensor_token
from vardeild.platform import Platform
from vardeild.web.errors import Unauthenticated

# Ids are 32-bit integer columns; larger values could only answer 404 and would overflow
# SQLite's and PostgreSQL's integer parameters on the way.
ID_MAX = 2_147_483_647

_bearer = HTTPBearer(
    auto_error=False,
    description="An API token: `Authorization: Bearer vdt_…`. Only this header is read.",
)


def get_platform(request: Request) -> Platform:
    """Return the platform the app was created for."""
    platform = request.app.state.platform
    assert isinstance(platform, Platform)
    return platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


def get_session(platform: PlatformDep) -> Iterator[Session]:
    """Yield the request's session: committed when the route returns, rolled back if it
    raises. Scoped to the route function so the commit happens before the answer is sent."""
    with platform.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_principal(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    session: SessionDep,
    platform: PlatformDep,
) -> Principal:
    """Return who the bearer token stands for; Unauthenticated (401) if missing or unusable."""
    if credentials is None:
        raise Unauthenticated(
            "This endpoint needs an API token. Send it as 'Authorization: Bearer <token>'; "
            "your CERT contact or your organisation's member admin can issue one.",
            invalid=False,
        )
    secret = credentials.credentials.strip()
    principal = authenticate(session, secret, clock=platform.clock)
    if (
        principal is None
        and looks_like_sensor_token(secret)
        and authenticate_sensor(session, secret, clock=platform.clock, mark_heard=False)
    ):
        # A sensor's token can only ever deliver its events: nothing else answers to it.
        raise PermissionDenied("a sensor token may only deliver events (POST /api/v1/ingest/eve)")
    if principal is None:
        raise Unauthenticated(
            "The API token is unknown, expired or revoked. Ask for a new one from your CERT "
            "contact or your organisation's member admin.",
            invalid=True,
        )
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def _plain_text(value: str | None) -> str | None:
    if value is None:
        return None
    # NUL and control characters cannot be stored or matched and PostgreSQL refuses NUL.
    return clean_text(value, max_length=200)


SearchText = Annotated[str | None, AfterValidator(_plain_text)]
"""A free-text query parameter: at most 200 characters, no control characters."""


@dataclass(frozen=True)
class PageParams:
    """Which slice of a list to answer with."""

    limit: int
    offset: int


def get_page(
    platform: PlatformDep,
    limit: Annotated[
        int,
        Query(ge=1, description="How many items to answer with, at most page_size_max (500)."),
    ] = 50,
    offset: Annotated[int, Query(ge=0, le=ID_MAX, description="How many items to skip.")] = 0,
) -> PageParams:
    """Return the page asked for; ValidationFailed if limit exceeds the configured maximum."""
    largest = platform.settings.page_size_max
    if limit > largest:
        raise ValidationFailed.one("request", "query.limit", f"is {limit}; at most {largest}")
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(get_page)]
