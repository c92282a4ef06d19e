"""The vulnerability knowledge over HTTP: what is stored (stats), what applies to a product
and version (match, with the reason for each CVE), a sync from the configured sources, and a
document loaded from the request body (an offline mirror's NVD page, CVE 5 record, KEV
catalogue or EPSS file): the API counterpart of `vardeild vulndb stats|sync|load`.

The knowledge is public (CVE, NVD, KEV, EPSS), so any token may ask what applies to a product;
stats, sync and load are the CERT's.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query

from vardeild.access.model import Action, Principal, authorize
from vardeild.core.errors import ValidationFailed
from vardeild.exposure.config import sync_config
from vardeild.exposure.knowledge import load_matcher
from vardeild.exposure.vuln_model import ProductVersion
from vardeild.exposure.vulndb_records import DocumentError
from vardeild.exposure.vulndb_service import load_vulndb_document, vulndb_stats
from vardeild.exposure.vulndb_sync import SOURCES, SyncError, sync_vulndb
from vardeild.platform import Platform
from vardeild.web.deps import PlatformDep, PrincipalDep, SessionDep
from vardeild.web.routes.registry_io import BodyDep

log = logging.getLogger(__name__)
router = APIRouter(prefix="/vulndb", tags=["vulnerability knowledge"])
# The load reads its body itself (bounded by import_max_bytes), apart from the JSON routes.
upload_router = APIRouter(prefix="/vulndb", tags=["vulnerability knowledge"])


@router.get("/stats", summary="What vulnerability knowledge is stored (CERT)")
def stats_route(session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    """Counts of CVE records by origin, criteria, KEV entries and EPSS scores, and each
    source's last sync."""
    return vulndb_stats(session, principal).as_dict()


@router.get("/match", summary="The CVEs that apply to a product and version")
def match_route(
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
    cpe: Annotated[
        str | None, Query(max_length=1000, description="A CPE 2.3 string or a 2.2 URI.")
    ] = None,
    vendor: Annotated[str | None, Query(max_length=255)] = None,
    product: Annotated[str | None, Query(max_length=255)] = None,
    version: Annotated[str | None, Query(max_length=128)] = None,
) -> dict[str, Any]:
    """Match what a scanner saw (a CPE, or product and version with the vendor if known)
    against the stored knowledge, as findings are matched: each CVE once, with the
    configuration and range that made it apply, its scores, KEV and EPSS. An empty knowledge
    answers no matches and says so."""
    authorize(principal, Action.READ)
    if not cpe and not (product and version):
        raise ValidationFailed.one(
            "match", "cpe", "give a cpe, or a product and its version (and the vendor if known)"
        )
    matcher = load_matcher(session, cache=platform.cached)
    found = matcher.match(ProductVersion(cpe, vendor, product, version)) if matcher else []
    return {
        "knowledge": "loaded" if matcher is not None else "empty",
        "matches": [m.as_dict() for m in found],
    }


@router.post("/sync", status_code=202, summary="Sync from the configured sources (CERT)")
def sync_route(
    background: BackgroundTasks,
    principal: PrincipalDep,
    platform: PlatformDep,
    source: Annotated[
        list[str] | None, Query(description=f"Only these sources: {', '.join(SOURCES)}.")
    ] = None,
) -> dict[str, Any]:
    """Start a sync after this answer (NVD goes window by window and may take long). What it
    stores shows in the stats (`synced`), step by step; a failure is logged by the serving
    process, and what the steps before it stored stays."""
    authorize(principal, Action.IMPORT)
    chosen = source or list(SOURCES)
    unknown = sorted(set(chosen) - set(SOURCES))
    if unknown:
        raise ValidationFailed.one(
            "sync", "source", f"unknown {', '.join(unknown)}; use {', '.join(SOURCES)}"
        )
    background.add_task(_sync, platform, principal, chosen)
    return {"sources": chosen, "status": "started"}


def _sync(platform: Platform, principal: Principal, sources: list[str]) -> None:
    with platform.session_factory() as session:
        try:
            sync_vulndb(
                session,
                principal,
                config=sync_config(platform.settings),
                clock=platform.clock,
                sources=sources,
                on_step=session.commit,
            )
        except SyncError as exc:
            log.warning("vulnerability knowledge sync failed: %s", exc)
        finally:
            session.commit()  # what the steps before a failure stored stays


@upload_router.post(
    "/load",
    summary="Load a document of vulnerability knowledge (CERT)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The document itself, as the raw body: an NVD API 2.0 response, a "
            "CVE JSON 5 record, the KEV catalogue (JSON or CSV) or an EPSS file (CSV, gzip "
            "allowed).",
            "content": {"application/json": {}, "text/csv": {}, "application/gzip": {}},
        }
    },
    responses={413: {"description": "The document is larger than import_max_bytes."}},
)
def load_route(
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
    # After the principal: a caller without a token is refused before the body is read.
    body: BodyDep,
    name: Annotated[
        str, Query(min_length=1, max_length=200, description="The document's name, for the log.")
    ] = "upload",
) -> dict[str, Any]:
    """Store the document's records and answer the counts; a bad record is counted and named,
    the rest load; a document of no known kind answers 422 and stores nothing."""
    try:
        counts = load_vulndb_document(session, principal, body, name=name, clock=platform.clock)
    except DocumentError as exc:
        raise ValidationFailed.one(name, "body", str(exc)) from None
    return counts.as_dict()
