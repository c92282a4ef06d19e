"""Organisations: list, create, read, change and delete registry entries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from vardeild.members import service
from vardeild.members.model import Criticality, MembershipState, ProgrammeService, Sector
from vardeild.members.visibility import organisation_for
from vardeild.web.deps import (
    ID_MAX,
    PageDep,
    PlatformDep,
    PrincipalDep,
    SearchText,
    SessionDep,
)
from vardeild.web.schemas import OrganisationIn, OrganisationOut, OrganisationPatch, Page

router = APIRouter(prefix="/organisations", tags=["organisations"])

OrganisationId = Annotated[int, Path(ge=1, le=ID_MAX, description="The organisation's id.")]


@router.get("", response_model=Page[OrganisationOut], summary="List organisations")
def list_organisations(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    q: Annotated[
        SearchText, Query(description="Part of the name, short name or org number.")
    ] = None,
    sector: Sector | None = None,
    state: MembershipState | None = None,
    criticality: Criticality | None = None,
    service_: Annotated[
        ProgrammeService | None, Query(alias="service", description="A service taken part in.")
    ] = None,
    parent_id: Annotated[int | None, Query(ge=1, le=ID_MAX)] = None,
) -> dict[str, object]:
    """Organisations by name; a member token sees only its own."""
    query = service.OrganisationQuery(
        text=q,
        sector=sector.value if sector else None,
        state=state.value if state else None,
        criticality=criticality.value if criticality else None,
        service=service_.value if service_ else None,
        parent_id=parent_id,
    )
    items, total = service.list_organisations(
        session, principal, query=query, limit=page.limit, offset=page.offset
    )
    return {
        "items": [organisation_for(principal, item) for item in items],
        "total": total,
        "limit": page.limit,
        "offset": page.offset,
    }


@router.post(
    "",
    response_model=OrganisationOut,
    status_code=status.HTTP_201_CREATED,
    summary="Register an organisation",
)
def create_organisation(
    body: OrganisationIn,
    response: Response,
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
) -> dict[str, object]:
    """Register a new organisation with what it owns (CERT staff who edit the registry)."""
    created = service.create_organisation(
        session,
        principal,
        body.model_dump(mode="json", exclude_unset=True),
        clock=platform.clock,
        key_inspector=platform.key_inspector,
    )
    response.headers["Location"] = f"/api/v1/organisations/{created['id']}"
    return organisation_for(principal, created)


@router.get("/{organisation_id}", response_model=OrganisationOut, summary="Read an organisation")
def get_organisation(
    organisation_id: OrganisationId, session: SessionDep, principal: PrincipalDep
) -> dict[str, object]:
    """The organisation with everything it owns."""
    return organisation_for(
        principal, service.get_organisation_or_raise(session, principal, organisation_id)
    )


@router.patch(
    "/{organisation_id}", response_model=OrganisationOut, summary="Change an organisation"
)
def update_organisation(
    organisation_id: OrganisationId,
    body: OrganisationPatch,
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
) -> dict[str, object]:
    """Change the fields given; a list given replaces the list held (CERT staff only;
    members propose changes through change requests)."""
    updated = service.update_organisation(
        session,
        principal,
        organisation_id,
        body.model_dump(mode="json", exclude_unset=True),
        clock=platform.clock,
        key_inspector=platform.key_inspector,
    )
    return organisation_for(principal, updated)


@router.delete(
    "/{organisation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete an organisation",
)
def delete_organisation(
    organisation_id: OrganisationId,
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
) -> None:
    """Delete the organisation with everything it owns; its children lose their parent."""
    service.delete_organisation(session, principal, organisation_id, clock=platform.clock)
