"""The CERT's indicator store over the API: import a file, list and show indicators, and name
the members an AMBER indicator is shared with. CERT staff only; members get 403 from the
services' access checks.

The import takes the file as the raw request body, bounded by the `import_max_bytes` setting
(as the registry import is), and goes through the same services as `vardeild intel import`:
good records are stored even when others are bad, the bad ones answered with where they are
and why, and one audit entry written. A file refused whole answers 422 and stores nothing.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from vardeild.core.errors import FieldProblem
from vardeild.core.tlp import Tlp
from vardeild.intel import feed_service
from vardeild.intel.audience import (
    MAX_IDS,
    AudienceMember,
    list_audience,
    share_indicators,
    unshare_indicators,
)
from vardeild.intel.import_service import import_parsed
from vardeild.intel.importers import read_import
from vardeild.intel.imports import ImportDefaults, ImportFormat
from vardeild.intel.model import (
    DEFAULT_CONFIDENCE,
    DEFAULT_TLP,
    IndicatorFilter,
    IndicatorType,
)
from vardeild.intel.service import get_indicator_or_raise, list_indicators
from vardeild.web.deps import ID_MAX, PageDep, PlatformDep, PrincipalDep, SessionDep
from vardeild.web.routes.registry_io import BodyDep

router = APIRouter(prefix="/intel/indicators", tags=["intel"])
# The import reads its body itself (bounded by import_max_bytes), so it is mounted apart from
# the JSON routes and their smaller body limit.
import_router = APIRouter(prefix="/intel", tags=["intel"])

IndicatorId = Annotated[int, Path(ge=1, le=ID_MAX, description="The indicator's id.")]
NOTE_MAX = 1000


class AudienceIn(BaseModel):
    """Members to name as recipients of an AMBER or AMBER+STRICT indicator."""

    model_config = ConfigDict(extra="forbid")

    organisation_ids: list[Annotated[int, Field(ge=1, le=ID_MAX)]] = Field(
        min_length=1, max_length=MAX_IDS
    )
    note: str = Field(default="", max_length=NOTE_MAX, description="Kept in the audit entry.")


def _problem(problem: FieldProblem) -> dict[str, str]:
    return {"record": problem.record, "field": problem.field, "message": problem.message}


def _member(member: AudienceMember) -> dict[str, Any]:
    return {
        "organisation_id": member.organisation_id,
        "added_at": member.added_at.isoformat(),
        "added_by": member.added_by,
    }


@import_router.post(
    "/import",
    summary="Import indicators from a file",
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The file itself, as the raw body: a STIX 2.1 bundle, a MISP "
            "event, an abuse.ch feed, a plain list or a CSV file.",
            "content": {"application/json": {}, "text/csv": {}, "text/plain": {}},
        }
    },
    responses={413: {"description": "The file is larger than import_max_bytes."}},
)
def import_indicators(
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
    # After the principal: a caller without a token is refused before the body is read.
    body: BodyDep,
    source: Annotated[
        str, Query(min_length=1, max_length=64, description="Source name of the indicators.")
    ],
    fmt: Annotated[
        ImportFormat, Query(alias="format", description="The file's format; auto reads it.")
    ] = ImportFormat.AUTO,
    tlp: Annotated[Tlp, Query(description="TLP of records without a marking.")] = DEFAULT_TLP,
    confidence: Annotated[
        int, Query(ge=0, le=100, description="Confidence of records without one.")
    ] = DEFAULT_CONFIDENCE,
    indicator_type: Annotated[
        IndicatorType | None,
        Query(alias="type", description="Plain lists and CSV: the type of every value."),
    ] = None,
    dry_run: Annotated[bool, Query(description="Read and count; write nothing.")] = False,
) -> dict[str, Any]:
    """Store the file's indicators under source and answer the counts; bad records are left
    out and listed, each with where it is and why. A file refused whole (not the format it is
    said to be) answers 422 and stores nothing. CERT admins and analysts only."""
    defaults = ImportDefaults(tlp=tlp, confidence=confidence, type=indicator_type)
    parsed, chosen = read_import(body, fmt=fmt, defaults=defaults)
    result = import_parsed(
        session,
        principal,
        parsed,
        clock=platform.clock,
        source=source,
        fmt=chosen.value,
        dry_run=dry_run,
        origin="api upload",
    )
    return {**result.to_dict(), "problems": [_problem(p) for p in result.problems]}


@router.get("", summary="List indicators")
def list_indicators_route(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    indicator_type: Annotated[
        IndicatorType | None, Query(alias="type", description="Only this type.")
    ] = None,
    source: Annotated[str | None, Query(max_length=64, description="Only this source.")] = None,
    tlp: Annotated[Tlp | None, Query(description="Only this TLP.")] = None,
    feed: Annotated[
        str | None, Query(max_length=64, description="Only what this feed brought (its name).")
    ] = None,
) -> dict[str, Any]:
    """Indicators ordered by type, value and source (CERT staff)."""
    feed_id = None if feed is None else feed_service.get_feed_or_raise(session, principal, feed).id
    filters = IndicatorFilter(type=indicator_type, source=source, tlp=tlp, feed_id=feed_id)
    items, total = list_indicators(
        session, principal, filters, limit=page.limit, offset=page.offset
    )
    return {
        "items": [i.to_dict() for i in items],
        "total": total,
        "limit": page.limit,
        "offset": page.offset,
    }


@router.get("/{indicator_id}", summary="Show an indicator")
def get_indicator(
    indicator_id: IndicatorId, session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    """One indicator (CERT staff)."""
    return get_indicator_or_raise(session, principal, indicator_id).to_dict()


@router.get("/{indicator_id}/audience", summary="List an indicator's named recipients")
def get_audience(
    indicator_id: IndicatorId, session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    """The members an AMBER indicator is shared with (CERT staff: an audience is the CERT's
    to know)."""
    members = list_audience(session, principal, indicator_id)
    return {"items": [_member(m) for m in members], "total": len(members)}


@router.post("/{indicator_id}/audience", summary="Share an indicator with members")
def add_audience(
    indicator_id: IndicatorId,
    body: AudienceIn,
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
) -> dict[str, Any]:
    """Name members as recipients of an AMBER or AMBER+STRICT indicator; answer how many were
    new and the whole audience. Any other TLP (TLP:RED never leaves the CERT) answers 422."""
    added = share_indicators(
        session,
        principal,
        clock=platform.clock,
        indicator_ids=[indicator_id],
        organisation_ids=body.organisation_ids,
        note=body.note,
    )
    members = list_audience(session, principal, indicator_id)
    return {"added": added, "items": [_member(m) for m in members], "total": len(members)}


@router.delete(
    "/{indicator_id}/audience/{organisation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Stop sharing an indicator with a member",
)
def remove_audience(
    indicator_id: IndicatorId,
    organisation_id: Annotated[int, Path(ge=1, le=ID_MAX)],
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
) -> Response:
    """Take a member out of the indicator's audience (a member not in it: nothing changes)."""
    # The audience service checks the organisation; the indicator is checked here so that an
    # unknown one answers 404 rather than a silent nothing.
    get_indicator_or_raise(session, principal, indicator_id)
    unshare_indicators(
        session,
        principal,
        clock=platform.clock,
        indicator_ids=[indicator_id],
        organisation_ids=[organisation_id],
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
