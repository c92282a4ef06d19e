"""The portal's server-rendered pages: sign-in, the account page, password reset and the
signed-in home page, with CSRF protection on every form."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response

from vardeild.platform import Platform
from vardeild.web.pages.context import CsrfRefused, build_state, csrf_refused_page
from vardeild.web.pages.routes import router

# Forms hold a few short fields; nothing the portal takes is larger.
FORM_BODY_MAX = 64 * 1024


def install_pages(app: FastAPI, platform: Platform) -> None:
    """Serve the portal's pages from app, with a refused form answered by a 403 page."""
    app.state.portal = build_state(platform)

    async def refused(request: Request, _exc: Exception) -> Response:
        return csrf_refused_page(request)

    app.add_exception_handler(CsrfRefused, refused)
    app.include_router(router, max_body_size=FORM_BODY_MAX)
