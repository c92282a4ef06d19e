"""The indicators shared with the caller, as JSON or CSV, as a MISP feed a MISP instance can
pull with the caller's token, and as the Suricata files (datasets, IP reputation, rules) its
sensors load to match locally.

A member's token receives what `intel.sharing` gives its organisation: CLEAR, GREEN and the
AMBER named to it. CERT staff receive what every member receives, or name any audience's view
with `audience` (`public`, `all-members`, `member:ID`, `named:ID`); a member naming another
member's audience gets 404. TLP:RED is in no audience.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse, Response
from pydantic import AwareDatetime

from vardeild.access.model import Principal
from vardeild.core.errors import NotFound, ValidationFailed
from vardeild.intel.misp_out import misp_feed
from vardeild.intel.model import IndicatorType
from vardeild.intel.sensor_exports import SensorExport, suricata_export
from vardeild.intel.shared_csv import shared_csv
from vardeild.intel.sharing import Audience, SharedQuery, default_audience, list_shared
from vardeild.web.deps import PlatformDep, PrincipalDep, SessionDep

router = APIRouter(prefix="/intel", tags=["intel"])

SHARED_LIMIT_MAX = 100_000
_EVENT_FILE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.json$")


class SharedFormat(StrEnum):
    """How the shared indicators are written."""

    JSON = "json"
    CSV = "csv"


def _audience(principal: Principal, text: str | None) -> Audience:
    if text is None:
        return default_audience(principal)
    try:
        return Audience.parse(text)
    except ValueError as exc:
        raise ValidationFailed.one("request", "query.audience", str(exc)) from None


def _cursor(text: str | None) -> tuple[datetime, int] | None:
    if text is None:
        return None
    try:
        moment, key = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        return datetime.fromisoformat(moment), int(key)
    except (ValueError, TypeError, binascii.Error):
        raise ValidationFailed.one("request", "query.after", "is not a cursor of ours") from None


def _next(moment: datetime, key: int) -> str:
    raw = json.dumps([moment.isoformat(), key]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@router.get(
    "/shared",
    summary="Indicators shared with the caller",
    responses={200: {"content": {"text/csv": {}}}},
)
def shared_indicators(
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
    format: SharedFormat = SharedFormat.JSON,
    type: Annotated[
        list[IndicatorType] | None, Query(description="Only these types (repeatable).")
    ] = None,
    updated_since: Annotated[
        AwareDatetime | None, Query(description="Only those changed at or after this time.")
    ] = None,
    audience: Annotated[
        str | None,
        Query(
            max_length=40,
            description="CERT staff: whose view (public, all-members, member:ID, named:ID).",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=SHARED_LIMIT_MAX)] = 10_000,
    after: Annotated[
        str | None, Query(max_length=200, description="The `next` of the previous page.")
    ] = None,
) -> Response:
    """The valid indicators shared with the caller, oldest addition first, as JSON
    (`{audience, items, next}`) or CSV (the next page's cursor in `X-Next-After`)."""
    chosen = _audience(principal, audience)
    found = list_shared(
        session,
        principal,
        chosen,
        now=platform.clock.now(),
        query=SharedQuery(types=type, updated_since=updated_since, after=_cursor(after)),
        limit=limit + 1,
    )
    more = len(found) > limit
    found = found[:limit]
    following = _next(found[-1].date_added, found[-1].id) if more else None
    rows = [indicator.to_dict() for indicator in found]
    if format is SharedFormat.CSV:
        headers = {"X-Next-After": following} if following else {}
        return Response(shared_csv(rows), media_type="text/csv; charset=utf-8", headers=headers)
    return JSONResponse({"audience": str(chosen), "items": rows, "next": following})


def _feed_file(
    name: str, session: SessionDep, principal: Principal, platform: PlatformDep
) -> Response:
    chosen = default_audience(principal)
    found = list_shared(session, principal, chosen, now=platform.clock.now())
    feed = misp_feed(found, audience=chosen, cert_name=platform.settings.cert_name)
    if name not in feed.files:
        raise NotFound(f"MISP feed file {name} not found")
    kind = "text/csv" if name.endswith(".csv") else "application/json"
    return Response(feed.files[name], media_type=kind)


@router.get("/misp-feed/manifest.json", summary="MISP feed manifest")
def misp_manifest(session: SessionDep, principal: PrincipalDep, platform: PlatformDep) -> Response:
    """The manifest of the MISP feed of the indicators shared with the caller (point a MISP
    feed at `/api/v1/intel/misp-feed` with the token as an Authorization header)."""
    return _feed_file("manifest.json", session, principal, platform)


@router.get("/misp-feed/hashes.csv", summary="MISP feed hashes")
def misp_hashes(session: SessionDep, principal: PrincipalDep, platform: PlatformDep) -> Response:
    """The MISP feed's hashes.csv: the MD5 of each attribute value and its event's uuid."""
    return _feed_file("hashes.csv", session, principal, platform)


@router.get("/misp-feed/{event_file}", summary="MISP feed event")
def misp_event(
    event_file: Annotated[str, Path(max_length=64, description="`<event uuid>.json`")],
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
) -> Response:
    """One event of the MISP feed."""
    if not _EVENT_FILE.match(event_file):
        raise NotFound(f"MISP feed file {event_file} not found")
    return _feed_file(event_file, session, principal, platform)


def _sensor_export(
    session: SessionDep, principal: Principal, platform: PlatformDep, audience: str | None
) -> tuple[Audience, SensorExport]:
    chosen = _audience(principal, audience)
    found = list_shared(session, principal, chosen, now=platform.clock.now())
    return chosen, suricata_export(found)


AudienceQuery = Annotated[
    str | None,
    Query(max_length=40, description="CERT staff: whose view (public, all-members, member:ID)."),
]


@router.get("/suricata", summary="The Suricata export's files for the caller's sensors")
def suricata_files(
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
    audience: AudienceQuery = None,
) -> dict[str, object]:
    """The files of the Suricata export of the indicators shared with the caller (datasets,
    IP reputation, rules; see intel-sharing.md), each with how many values it holds: a sensor
    fetches each from `/api/v1/intel/suricata/{file}` and reloads its rules."""
    chosen, export = _sensor_export(session, principal, platform, audience)
    return {
        "audience": str(chosen),
        "files": sorted(export.files),
        "counts": export.counts,
    }


@router.get(
    "/suricata/{file_name}",
    summary="One file of the Suricata export",
    responses={200: {"content": {"text/plain": {}}}},
)
def suricata_file(
    file_name: Annotated[str, Path(max_length=64, description="`vardeild-domain.lst`, ...")],
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
    audience: AudienceQuery = None,
) -> Response:
    """One dataset, reputation or rules file of the caller's Suricata export, as
    `vardeild intel export --format suricata` writes it."""
    _, export = _sensor_export(session, principal, platform, audience)
    if file_name not in export.files:
        raise NotFound(f"Suricata export file {file_name} not found")
    return Response(export.files[file_name], media_type="text/plain; charset=utf-8")
