"""The portal's server-rendered pages: sign-in, the account page, password reset, the
signed-in home page, the analysts' console, the members' pages, API tokens and the public
pages, with CSRF protection on every form.

Each area is a module with its own `page_router()`; PAGE_ROUTERS lists them, and an error
raised by a page (not found, not allowed, invalid, conflict) is answered as a page in the
reader's language rather than as the API's JSON.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute

from vardeild.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from vardeild.platform import Platform
from vardeild.web.pages import (
    case_pages,
    case_pages_member,
    console,
    console_alerts,
    console_audit,
    console_members,
    intake_pages,
    member_alerts,
    member_area,
    member_notices,
    oidc,
    public,
    routes,
    token_pages,
    user_pages,
)
from vardeild.web.pages.context import (
    CsrfRefused,
    UploadTooLarge,
    build_state,
    csrf_refused_page,
    error_page,
    upload_too_large_page,
)

# Forms hold a few short fields; nothing the portal takes is larger. (The public report form
# sets its own, larger bound on its route.)
FORM_BODY_MAX = 64 * 1024

PAGE_ROUTERS: tuple[APIRouter, ...] = (
    routes.router,
    console.router,
    console_members.router,
    console_alerts.router,
    console_audit.router,
    member_area.router,
    member_alerts.router,
    member_notices.router,
    token_pages.router,
    user_pages.router,
    public.router,
    oidc.router,
    intake_pages.router,
    case_pages.router,
    case_pages_member.router,
)

Handler = Callable[[Request, Exception], Awaitable[Response]]
AnyHandler = Callable[[Request, Any], Response | Awaitable[Response]]


def _page_endpoints() -> set[Callable[..., object]]:
    return {
        route.endpoint
        for router in PAGE_ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
    }


def install_pages(app: FastAPI, platform: Platform) -> None:
    """Serve the portal's pages from app: a refused form is answered by a 403 page, and the
    domain's errors raised by a page by an error page (the API keeps its JSON answers)."""
    app.state.portal = build_state(platform)
    endpoints = _page_endpoints()

    async def refused(request: Request, _exc: Exception) -> Response:
        return csrf_refused_page(request)

    async def too_large(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, UploadTooLarge)
        return upload_too_large_page(request, exc.limit)

    app.add_exception_handler(CsrfRefused, refused)
    app.add_exception_handler(UploadTooLarge, too_large)
    for error, status in ((NotFound, 404), (PermissionDenied, 403), (ValidationFailed, 422),
                          (Conflict, 409)):  # fmt: skip
        api_handler = app.exception_handlers[error]
        app.add_exception_handler(error, _pages_first(endpoints, api_handler, status))
    for router in PAGE_ROUTERS:
        app.include_router(router, max_body_size=FORM_BODY_MAX)


def _pages_first(
    endpoints: set[Callable[..., object]], api_handler: AnyHandler, status: int
) -> Handler:
    async def handle(request: Request, exc: Exception) -> Response:
        if request.scope.get("endpoint") in endpoints:
            return error_page(request, exc, status)
        answer = api_handler(request, exc)
        return await answer if inspect.isawaitable(answer) else answer

    return handle
