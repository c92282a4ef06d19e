"""The vulnerability overview over HTTP: a member's exposures, findings and report (HTML, PDF,
CSV); status changes of findings; and, for the CERT only, a scan of a member's registered ranges
and the sector query "who exposes this CVE or product?".

A member's token sees its own organisation only; another member's answers 404, as one that does
not exist. A scan is planned (scope, window, ports) inside the request, so an out-of-scope target
is refused there with 422, and run after the answer (202) with the plan's exact nmap commands.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, BackgroundTasks, Body, Path, Query
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from vardeild.access.model import Action, authorize
from vardeild.core.errors import ValidationFailed
from vardeild.exposure import reports, scanning, sector, service
from vardeild.exposure.config import config_from_settings
from vardeild.exposure.imports import read_import_data
from vardeild.exposure.knowledge import load_matcher
from vardeild.exposure.model import FindingStatus, ImportRefused, Source
from vardeild.notify.config import config_from_settings as notify_config
from vardeild.web.deps import ID_MAX, PlatformDep, PrincipalDep, SessionDep
from vardeild.web.routes.registry_io import BodyDep

router = APIRouter(tags=["exposure"])
# The import reads its body itself (bounded by import_max_bytes), apart from the JSON routes.
upload_router = APIRouter(tags=["exposure"])

OrganisationId = Annotated[int, Path(ge=1, le=ID_MAX, description="The member's id.")]
FindingId = Annotated[int, Path(ge=1, le=ID_MAX, description="The finding's id.")]


class StatusIn(BaseModel):
    """A change of a finding's status."""

    model_config = ConfigDict(extra="forbid")

    status: FindingStatus = Field(description="accepted_risk, false_positive or open.")
    reason: str = Field(default="", max_length=2000, description="Why (required unless open).")
    until: date | None = Field(default=None, description="When an accepted risk expires.")


class ScanIn(BaseModel):
    """What to scan: CIDRs inside the member's registered ranges (none: all of them)."""

    model_config = ConfigDict(extra="forbid")

    targets: list[str] = Field(default_factory=list, max_length=64)
    ports: str | None = Field(default=None, max_length=1000)
    ignore_window: bool = False


@router.get("/organisations/{organisation_id}/exposures", summary="A member's exposures")
def list_exposures_route(
    organisation_id: OrganisationId,
    session: SessionDep,
    principal: PrincipalDep,
    gone: Annotated[bool, Query(description="Also what is no longer seen.")] = False,
) -> list[dict[str, Any]]:
    """The member's Internet-facing services: product, version, TLS, title, sources, times."""
    return service.list_exposures(session, principal, organisation_id, present_only=not gone)


@router.get("/organisations/{organisation_id}/findings", summary="A member's findings")
def list_findings_route(
    organisation_id: OrganisationId,
    session: SessionDep,
    principal: PrincipalDep,
    status: Annotated[list[FindingStatus] | None, Query(description="Only these.")] = None,
) -> list[dict[str, Any]]:
    """The member's findings (exposure × CVE), most urgent first."""
    return service.list_findings(session, principal, organisation_id, statuses=status)


@router.get("/exposure/findings/{finding_id}/history", summary="A finding's history")
def finding_history_route(
    finding_id: FindingId, session: SessionDep, principal: PrincipalDep
) -> list[dict[str, Any]]:
    """Every change of the finding: found, fixed, reopened, accepted, expired, ..."""
    return service.finding_history(session, principal, finding_id)


@router.post("/exposure/findings/{finding_id}/status", summary="Accept, dismiss or reopen")
def change_status_route(
    finding_id: FindingId,
    body: Annotated[StatusIn, Body()],
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
) -> dict[str, Any]:
    """Accept a finding's risk (reason and expiry), mark it a false positive (reason) or reopen
    it (CERT only; audited)."""
    return service.change_status(
        session,
        principal,
        finding_id,
        body.status,
        reason=body.reason,
        until=body.until,
        now=platform.clock.now(),
    )


@router.get(
    "/organisations/{organisation_id}/exposure-report",
    summary="A member's report",
    response_class=Response,
)
def report_route(
    organisation_id: OrganisationId,
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
    format: Annotated[str, Query(pattern="^(html|pdf|csv)$")] = "html",
    language: Annotated[str, Query(pattern="^(en|nb)$")] = "en",
) -> Response:
    """The report as the portal's HTML page, the PDF printed from the same page, or CSV."""
    data = reports.build_report(
        session,
        principal,
        organisation_id,
        now=platform.clock.now(),
        language=language,
        tlp=platform.settings.notify_default_tlp,
    )
    name = f"vardeild-exposure-{organisation_id}.{format}"
    # Every way out says its TLP label: in the page and PDF themselves, and as a header here.
    tlp = {"X-TLP": f"TLP:{platform.settings.notify_default_tlp}"}
    disposition = {"Content-Disposition": f'attachment; filename="{name}"', **tlp}
    if format == "pdf":
        return Response(reports.render_pdf(data), media_type="application/pdf", headers=disposition)
    if format == "csv":
        return Response(
            reports.render_csv(data.findings), media_type="text/csv; charset=utf-8",
            headers=disposition,
        )  # fmt: skip
    # The page has its style inline and no script at all: allow exactly that.
    policy = (
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'"
    )
    return HTMLResponse(
        reports.render_html(data), headers={"Content-Security-Policy": policy, **tlp}
    )


@router.post(
    "/organisations/{organisation_id}/exposure-scans",
    status_code=202,
    summary="Scan a member (CERT only)",
)
def scan_route(
    organisation_id: OrganisationId,
    body: Annotated[ScanIn, Body()],
    background: BackgroundTasks,
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
) -> dict[str, Any]:
    """Plan a scan of the member's registered Internet-facing ranges and run it after this
    answer; a target outside them is refused with 422 and nothing is scanned."""
    config = config_from_settings(platform.settings)
    plan = scanning.plan_scan(
        session,
        principal,
        organisation_id,
        targets=body.targets,
        config=config,
        now=platform.clock.now(),
        zone=ZoneInfo(platform.settings.notify_timezone),
        ports=body.ports,
        ignore_window=body.ignore_window,
    )
    matcher = load_matcher(session, cache=platform.cached)
    background.add_task(
        scanning.run_scan,
        platform.session,
        principal,
        plan,
        matcher=matcher,
        config=config,
        clock_now=platform.clock.now,
        notify=notify_config(platform.settings),
    )
    return {
        "organisation_id": organisation_id,
        "targets": plan.targets,
        "commands": plan.commands,
    }


@router.get("/exposure/who-exposes", summary="Which members expose a CVE or product (CERT)")
def who_exposes_route(
    session: SessionDep,
    principal: PrincipalDep,
    cve: Annotated[str | None, Query(max_length=40)] = None,
    product: Annotated[str | None, Query(max_length=200)] = None,
    vendor: Annotated[str | None, Query(max_length=200)] = None,
) -> list[dict[str, Any]]:
    """Members whose present exposures have this CVE, or run a product a KEV entry names."""
    authorize(principal, Action.LIST_ALL)
    return sector.who_exposes(session, principal, cve_id=cve, product=product, vendor=vendor)


@upload_router.post(
    "/organisations/{organisation_id}/exposure-imports",
    summary="Import a scan file for a member (CERT only)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The file itself, as the raw body: nmap XML (-oX), Nessus v2 "
            "(.nessus) or Nuclei output (JSON lines or one JSON document).",
            "content": {"application/xml": {}, "application/json": {}, "text/plain": {}},
        }
    },
    responses={413: {"description": "The file is larger than import_max_bytes."}},
)
def import_route(
    organisation_id: OrganisationId,
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
    # After the principal: a caller without a token is refused before the body is read.
    body: BodyDep,
    fmt: Annotated[
        Source | None,
        Query(alias="format", description="nmap, nessus or nuclei (default: from the content)."),
    ] = None,
    complete: Annotated[
        bool,
        Query(description="The file covers its hosts completely: close what it no longer shows."),
    ] = False,
    name: Annotated[str, Query(min_length=1, max_length=200, description="The file's name.")] = (
        "upload"
    ),
) -> dict[str, Any]:
    """Record the file's services for the member, as `vardeild exposure import` does: each bad
    record is named and skipped, services outside the member's ranges are refused by name; a
    file that is not a scan, is unsafe XML or too large answers 422 and records nothing."""
    authorize(principal, Action.IMPORT, organisation_id)  # before the file is parsed
    try:
        parsed = read_import_data(body, name, fmt)
    except ImportRefused as exc:
        raise ValidationFailed.one(name, "body", str(exc)) from None
    result = service.record_scan(
        session,
        principal,
        organisation_id,
        parsed,
        matcher=load_matcher(session, cache=platform.cached),
        config=config_from_settings(platform.settings),
        now=platform.clock.now(),
        complete=complete,
        notify=notify_config(platform.settings),
    )
    return result.as_dict()
