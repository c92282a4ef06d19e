"""Indicator feeds over the API: configure, list, enable or disable, remove, sync now. CERT
staff only (members get 403 from the services' access checks); secrets are write-only and
answered masked."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response, status
from pydantic import BaseModel, ConfigDict, Field

from vardeild.core.tlp import Tlp
from vardeild.intel import feed_service as service
from vardeild.intel.feeds import AuthKind, Feed, FeedFormat, FeedSpec
from vardeild.intel.fetch import FetchLimits
from vardeild.web.deps import PlatformDep, PrincipalDep, SessionDep

router = APIRouter(prefix="/intel/feeds", tags=["intel"])

FeedName = Annotated[str, Path(max_length=64, description="The feed's name.")]


class FeedIn(BaseModel):
    """A feed to configure."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(examples=["feodotracker"], max_length=64)
    url: str = Field(examples=["https://feodotracker.abuse.ch/downloads/ipblocklist.csv"])
    format: FeedFormat
    interval_seconds: int = Field(default=3600, ge=60)
    tlp: Tlp = Tlp.AMBER
    confidence: int = Field(default=50, ge=0, le=100)
    auth_kind: AuthKind = AuthKind.NONE
    auth_name: str = Field(default="", max_length=256)
    auth_secret: str = Field(default="", description="Write-only; answered masked.")
    mapping: str | None = Field(default=None, description="csv: value=COL,type=COL,...")


class FeedPatch(BaseModel):
    """What may change on a feed from the API."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool


def _out(feed: Feed) -> dict[str, Any]:
    return feed.to_dict()


@router.get("", summary="List feeds")
def list_feeds(session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    """Every configured feed and the state of its last sync."""
    feeds = service.list_feeds(session, principal)
    return {"items": [_out(f) for f in feeds], "total": len(feeds)}


@router.post("", status_code=status.HTTP_201_CREATED, summary="Configure a feed")
def create_feed(
    body: FeedIn, session: SessionDep, principal: PrincipalDep, platform: PlatformDep
) -> dict[str, Any]:
    """Configure a feed (CERT admins and analysts)."""
    spec = FeedSpec(
        name=body.name,
        url=body.url,
        format=body.format,
        interval_seconds=body.interval_seconds,
        tlp=body.tlp,
        confidence=body.confidence,
        auth_kind=body.auth_kind,
        auth_name=body.auth_name,
        auth_secret=body.auth_secret,
        options={"mapping": body.mapping} if body.mapping else {},
    )
    return _out(service.add_feed(session, principal, spec, clock=platform.clock))


@router.get("/{name}", summary="Show a feed")
def get_feed(name: FeedName, session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    """One feed, its secret masked."""
    return _out(service.get_feed_or_raise(session, principal, name))


@router.patch("/{name}", summary="Enable or disable a feed")
def patch_feed(
    name: FeedName,
    body: FeedPatch,
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
) -> dict[str, Any]:
    """Enable or disable a feed."""
    feed = service.set_feed_enabled(session, principal, name, body.enabled, clock=platform.clock)
    return _out(feed)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT, summary="Remove a feed")
def delete_feed(
    name: FeedName, session: SessionDep, principal: PrincipalDep, platform: PlatformDep
) -> Response:
    """Remove a feed; its indicators stay."""
    service.remove_feed(session, principal, name, clock=platform.clock)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{name}/sync", summary="Sync a feed now")
def sync_feed(
    name: FeedName, session: SessionDep, principal: PrincipalDep, platform: PlatformDep
) -> dict[str, Any]:
    """Fetch and import what is new in the feed (within the intel_fetch_* settings)."""
    settings = platform.settings
    limits = FetchLimits(
        max_bytes=settings.intel_fetch_max_bytes,
        timeout=settings.intel_fetch_timeout_seconds,
        allow_private=settings.intel_fetch_allow_private,
    )
    return service.sync_feed(session, principal, name, clock=platform.clock, limits=limits)
