"""How every error becomes an HTTP answer, in one place.

Each answer is JSON of one shape, `{"error": kind, "message": what to do next, "problems": [...]}`
where problems name the record and field, as `vardeild.core.errors.FieldProblem` does.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from vardeild.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from vardeild.web.security import SECURITY_HEADERS

log = logging.getLogger(__name__)

REALM = 'Bearer realm="vardeild"'


class Unauthenticated(Exception):
    """The request carries no usable bearer token."""

    def __init__(self, message: str, *, invalid: bool) -> None:
        super().__init__(message)
        self.invalid = invalid


def error_body(error: str, message: str, problems: Sequence[dict[str, str]] = ()) -> dict[str, Any]:
    """Return the JSON body every error answer has."""
    return {"error": error, "message": message, "problems": list(problems)}


def _answer(
    status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)


def _location(loc: Sequence[int | str]) -> str:
    return ".".join(str(part) for part in loc)


async def _validation_failed(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ValidationFailed)
    problems = [{"record": p.record, "field": p.field, "message": p.message} for p in exc.problems]
    return _answer(
        422,
        error_body(
            "validation_failed",
            "Nothing was changed. Correct the fields listed in problems and send it again.",
            problems,
        ),
    )


async def _request_invalid(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"record": "request", "field": _location(e.get("loc", ())), "message": str(e["msg"])}
        for e in exc.errors()
    ]
    return _answer(
        422,
        error_body(
            "validation_failed",
            "The request does not have the shape this endpoint takes; see problems, and the "
            "OpenAPI document at /api/v1/openapi.json.",
            problems,
        ),
    )


async def _not_found(_request: Request, exc: Exception) -> JSONResponse:
    return _answer(
        404,
        error_body("not_found", f"{exc}. Check the id; list the collection to find what exists."),
    )


async def _permission_denied(_request: Request, exc: Exception) -> JSONResponse:
    return _answer(
        403,
        error_body(
            "permission_denied",
            f"{exc}. Your token's role does not allow this; ask a CERT administrator if you "
            "need it.",
        ),
    )


async def _conflict(_request: Request, exc: Exception) -> JSONResponse:
    return _answer(
        409,
        error_body("conflict", f"{exc}. Fetch the current state and change that instead."),
    )


async def _integrity(_request: Request, _exc: Exception) -> JSONResponse:
    # Reached only when two requests race past the services' own checks.
    return _answer(
        409,
        error_body(
            "conflict",
            "The change clashed with another change made at the same time; nothing was "
            "changed. Fetch the current state and try again.",
        ),
    )


async def _unauthenticated(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Unauthenticated)
    challenge = REALM
    if exc.invalid:
        challenge += ', error="invalid_token"'
    return _answer(
        401,
        error_body("unauthenticated", str(exc)),
        headers={"WWW-Authenticate": challenge},
    )


_HTTP_ERRORS = {
    404: (
        "not_found",
        "There is no such endpoint; the OpenAPI document at /api/v1/openapi.json lists them all.",
    ),
    405: (
        "method_not_allowed",
        "This endpoint does not take that method; the OpenAPI "
        "document at /api/v1/openapi.json lists the ones it takes.",
    ),
}


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    error, message = _HTTP_ERRORS.get(exc.status_code, ("http_error", str(exc.detail)))
    return _answer(exc.status_code, error_body(error, message), headers=exc.headers)


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    # Starlette's outermost middleware sends this answer and re-raises; ours must still carry
    # the security headers because it is sent outside the middleware that adds them.
    log.error("unhandled error", exc_info=exc)
    return JSONResponse(
        error_body(
            "internal_error",
            "Something went wrong on our side and nothing was changed; try again, and tell "
            "the CERT if it persists.",
        ),
        status_code=500,
        headers={**SECURITY_HEADERS, "Cache-Control": "no-store"},
    )


def install_error_handlers(app: FastAPI) -> None:
    """Map Vardeild's errors, FastAPI's request validation and HTTP errors to JSON answers."""
    app.add_exception_handler(ValidationFailed, _validation_failed)
    app.add_exception_handler(RequestValidationError, _request_invalid)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(PermissionDenied, _permission_denied)
    app.add_exception_handler(Conflict, _conflict)
    app.add_exception_handler(IntegrityError, _integrity)
    app.add_exception_handler(Unauthenticated, _unauthenticated)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
