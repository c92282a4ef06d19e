"""Bulk export and import of the whole registry as JSON, YAML or CSV (CERT staff).

The import takes the file as the raw request body, bounded by the `import_max_bytes` setting,
and answers with the plan: what it created, changed field by field, and left alone.
docs/registry-format.md describes the files and the upsert rules.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from vardeild.core.errors import ValidationFailed
from vardeild.core.text import clean_text
from vardeild.members.registry_io import (
    RegistryFormat,
    apply_import,
    detect_format,
    export_registry,
)
from vardeild.web.deps import PlatformDep, PrincipalDep, SessionDep

router = APIRouter(prefix="/registry", tags=["registry import and export"])

_EXTENSIONS = {RegistryFormat.JSON: "json", RegistryFormat.YAML: "yaml", RegistryFormat.CSV: "csv"}


class FieldChangeOut(BaseModel):
    """One changed field: before and after, or the list entries added and removed."""

    field: str = Field(description="e.g. sector, networks, contacts[soc@example.no].phone")
    before: Any = None
    after: Any = None
    added: list[str] | None = None
    removed: list[str] | None = None


class OrganisationDiffOut(BaseModel):
    """How the import changes one existing organisation."""

    organisation_id: int
    name: str
    record: str = Field(description="Where in the file the organisation's record is.")
    changes: list[FieldChangeOut]


class ImportPlanOut(BaseModel):
    """What the import created, changed and left alone."""

    source: str
    applied: bool = Field(description="False for a dry run: nothing was written.")
    has_changes: bool
    created: list[str] = Field(description="Names of the organisations created.")
    updated: list[OrganisationDiffOut]
    unchanged: int = Field(description="How many organisations in the file were already so.")


async def _bounded_body(request: Request, platform: PlatformDep) -> bytes:
    """Return the request body, refusing (413) one larger than import_max_bytes before it is
    all read."""
    limit = platform.settings.import_max_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(f"is {int(declared):,} bytes", limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(f"is more than {limit:,} bytes", limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(what: str, limit: int) -> HTTPException:
    return HTTPException(
        413,
        detail=(
            f"The file {what}; at most {limit:,} bytes are accepted (the import_max_bytes "
            "setting). Split it into smaller files, or ask the operator to raise "
            "VARDEILD_IMPORT_MAX_BYTES. Nothing was changed."
        ),
    )


BodyDep = Annotated[bytes, Depends(_bounded_body)]


@router.get(
    "/export",
    summary="Export the whole registry",
    response_class=Response,
    responses={
        200: {
            "description": "The registry as a file.",
            "content": {fmt.media_type: {} for fmt in RegistryFormat},
        }
    },
)
def export(
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
    fmt: Annotated[
        RegistryFormat, Query(alias="format", description="json, yaml or csv.")
    ] = RegistryFormat.JSON,
) -> Response:
    """Every organisation, ordered by name, as an attachment (CERT staff who may export).
    CSV leaves out OpenPGP keys."""
    content = export_registry(session, principal, fmt)
    day = platform.clock.now().date().isoformat()
    filename = f"vardeild-registry-{day}.{_EXTENSIONS[fmt]}"
    return Response(
        content=content,
        media_type=fmt.media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.post(
    "/import",
    response_model=ImportPlanOut,
    # A change has before/after or added/removed; the other pair is left out, not null.
    response_model_exclude_unset=True,
    summary="Import organisations from a file (an upsert)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The file itself, as the raw body.",
            "content": {fmt.media_type: {} for fmt in RegistryFormat},
        }
    },
    responses={413: {"description": "The file is larger than import_max_bytes."}},
)
def import_registry(
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
    # After the principal: a caller without a token is refused before the body is read.
    body: BodyDep,
    fmt: Annotated[
        RegistryFormat | None,
        Query(alias="format", description="json, yaml or csv; else told by filename."),
    ] = None,
    filename: Annotated[
        str | None,
        Query(max_length=200, description="The file's name: names records in problems."),
    ] = None,
    dry_run: Annotated[
        bool, Query(description="Only answer with what would change; write nothing.")
    ] = False,
) -> dict[str, Any]:
    """Create or replace the organisations the file names, matched by org number, else by
    name; others are left alone. With any problem nothing is applied (422 lists them all)."""
    source = "upload"
    if filename is not None:
        try:
            source = clean_text(filename, max_length=200) or source
        except ValueError as exc:
            raise ValidationFailed.one("request", "query.filename", str(exc)) from exc
    if fmt is None:
        if filename is None:
            raise ValidationFailed.one(
                "request", "query.format", "is required (json, yaml or csv) when no filename is"
            )
        try:
            fmt = detect_format(source)
        except ValueError as exc:
            raise ValidationFailed.one("request", "query.filename", str(exc)) from exc
    plan = apply_import(
        session,
        principal,
        body,
        fmt,
        source=source,
        clock=platform.clock,
        key_inspector=platform.key_inspector,
        dry_run=dry_run,
        max_bytes=platform.settings.import_max_bytes,
    )
    return plan.to_dict()
