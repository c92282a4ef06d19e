"""The pages outside the versioned API: the health check and the API docs (the start page is
the portal's, web/pages/public.py)."""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from vardeild.web.deps import PlatformDep
from vardeild.web.schemas import HealthOut

router = APIRouter()

OPENAPI_URL = "/api/v1/openapi.json"
DOCS_URL = "/api/docs"
_CDN = "https://cdn.jsdelivr.net"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


@router.get("/healthz", response_model=HealthOut, summary="Health check", tags=["system"])
def health(platform: PlatformDep) -> JSONResponse:
    """Answers 200 when the database answers, 503 when it does not. Needs no token."""
    try:
        with platform.session() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return JSONResponse({"status": "unavailable", "database": "error"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


@cache
def _docs_page(title: str) -> tuple[bytes, str]:
    page = get_swagger_ui_html(
        openapi_url=OPENAPI_URL,
        title=title,
        swagger_favicon_url="data:,",
    ).body
    body = bytes(page)
    # The page's one inline script (Swagger UI's set-up) is allowed by its hash, not by
    # 'unsafe-inline'; the script and style it loads come from the CDN.
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode() + "'"
        for script in (m.group(1).encode() for m in _INLINE_SCRIPT.finditer(body.decode()))
    )
    policy = (
        f"default-src 'self'; script-src {_CDN} {hashes}; style-src {_CDN} 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'; object-src 'none'"
    )
    return body, policy


@router.get(DOCS_URL, response_class=HTMLResponse, include_in_schema=False)
def api_docs(platform: PlatformDep) -> HTMLResponse:
    """Swagger UI for the API, under a policy that lets it load from its CDN."""
    body, policy = _docs_page(f"{platform.settings.cert_name} – Vardeild API")
    return HTMLResponse(body, headers={"Content-Security-Policy": policy})
