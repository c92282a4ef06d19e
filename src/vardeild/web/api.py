"""The ASGI application: the API under /api/v1, its OpenAPI document and docs, the health check
and a landing page, with security headers and one mapping of errors to answers."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from vardeild import __version__
from vardeild.monitoring.ingest import EventSink
from vardeild.platform import Platform
from vardeild.web.errors import install_error_handlers
from vardeild.web.pages import install_pages
from vardeild.web.routes import (
    alerts,
    audit,
    cases,
    change_requests,
    exposure,
    ingest,
    intel_admin,
    intel_feeds,
    intel_share,
    lookup,
    me,
    notices,
    organisation_items,
    organisations,
    pgp,
    registry_io,
    sensors,
    suppressions,
    system,
    taxii,
    tokens,
    vulndb,
)
from vardeild.web.schemas import ErrorOut
from vardeild.web.security import SecurityHeadersMiddleware

API_PREFIX = "/api/v1"
# A registry entry with a few contacts' OpenPGP keys fits many times over; the registry import
# takes whole files and sets its own limit (the import_max_bytes setting).
JSON_BODY_MAX = 4 * 1024 * 1024

_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorOut, "description": "No usable API token."},
    403: {"model": ErrorOut, "description": "The token's role may not do this."},
    404: {"model": ErrorOut, "description": "No such record (or not the caller's to see)."},
    409: {"model": ErrorOut, "description": "Clashes with what is registered, or its state."},
    422: {"model": ErrorOut, "description": "Invalid input; each problem names its field."},
}


def create_api(platform: Platform, *, event_sink: EventSink | None = None) -> FastAPI:
    """Return the web application serving platform; event_sink takes what sensors deliver
    (without one, POST /api/v1/ingest/eve answers 503)."""
    app = FastAPI(
        title=f"Vardeild API – {platform.settings.cert_name}",
        version=__version__,
        description=(
            "The member registry of a sector CERT. Authenticate with an API token: "
            "`Authorization: Bearer <token>`. A member's token sees and changes only its own "
            "organisation. Lists answer `{items, total, limit, offset}`; errors answer "
            "`{error, message, problems: [{record, field, message}]}`."
        ),
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.state.platform = platform
    app.state.event_sink = event_sink
    install_error_handlers(app)
    app.add_middleware(SecurityHeadersMiddleware)

    api = APIRouter(prefix=API_PREFIX, responses=_ERRORS)
    for router in (
        me.router,
        organisations.router,
        organisation_items.router,
        change_requests.router,
        audit.router,
        tokens.router,
        lookup.router,
        alerts.router,
        sensors.router,
        suppressions.router,
        pgp.router,
        notices.router,
        notices.policy_router,
        intel_share.router,
        intel_feeds.router,
        intel_admin.router,
        exposure.router,
        vulndb.router,
        cases.router,
    ):
        api.include_router(router, max_body_size=JSON_BODY_MAX)
    # These read their bodies themselves, each bounded by its own setting.
    api.include_router(registry_io.router)
    api.include_router(intel_admin.import_router)
    api.include_router(ingest.router)
    api.include_router(cases.upload_router)
    api.include_router(exposure.upload_router)
    api.include_router(vulndb.upload_router)
    app.include_router(system.router)
    app.include_router(pgp.public_router)
    app.include_router(taxii.router)
    app.include_router(api)
    install_pages(app, platform)
    return app
