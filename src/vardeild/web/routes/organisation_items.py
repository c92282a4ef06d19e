"""What an organisation owns, one item at a time: networks, ASNs, domains and contacts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response, status
from sqlalchemy.orm import Session

from vardeild.access.model import Principal
from vardeild.members import service
from vardeild.members.visibility import organisation_for
from vardeild.platform import Platform
from vardeild.web.deps import ID_MAX, PageDep, PageParams, PlatformDep, PrincipalDep, SessionDep
from vardeild.web.schemas import (
    AsnIn,
    AsnOut,
    ContactIn,
    ContactOut,
    ContactPatch,
    DomainIn,
    DomainOut,
    NetworkIn,
    NetworkOut,
    Page,
)

router = APIRouter(prefix="/organisations/{organisation_id}", tags=["organisations"])

OrganisationId = Annotated[int, Path(ge=1, le=ID_MAX, description="The organisation's id.")]
ItemId = Annotated[int, Path(ge=1, le=ID_MAX, description="The item's id.")]


def _list(
    session: Session, principal: Principal, organisation_id: int, kind: str, page: PageParams
) -> dict[str, Any]:
    held = organisation_for(
        principal, service.get_organisation_or_raise(session, principal, organisation_id)
    )[kind]
    return {
        "items": held[page.offset : page.offset + page.limit],
        "total": len(held),
        "limit": page.limit,
        "offset": page.offset,
    }


def _held_ids(session: Session, principal: Principal, organisation_id: int, kind: str) -> set[int]:
    snapshot = service.get_organisation_or_raise(session, principal, organisation_id)
    return {item["id"] for item in snapshot[kind]}


def _add(
    session: Session,
    principal: Principal,
    platform: Platform,
    organisation_id: int,
    kind: str,
    item: dict[str, Any],
    response: Response,
) -> dict[str, Any]:
    before = _held_ids(session, principal, organisation_id, kind)
    after = service.add_item(
        session,
        principal,
        organisation_id,
        kind,
        item,
        clock=platform.clock,
        key_inspector=platform.key_inspector,
    )
    added = next(entry for entry in after[kind] if entry["id"] not in before)
    response.headers["Location"] = f"/api/v1/organisations/{organisation_id}/{kind}/{added['id']}"
    return dict(added)


def _remove(
    session: Session,
    principal: Principal,
    platform: Platform,
    organisation_id: int,
    kind: str,
    item_id: int,
) -> None:
    service.remove_item(session, principal, organisation_id, kind, item_id, clock=platform.clock)


# --- networks -----------------------------------------------------------------------------


@router.get("/networks", response_model=Page[NetworkOut], summary="List networks")
def list_networks(
    organisation_id: OrganisationId, session: SessionDep, principal: PrincipalDep, page: PageDep
) -> dict[str, Any]:
    """The organisation's networks, by CIDR."""
    return _list(session, principal, organisation_id, "networks", page)


@router.post(
    "/networks",
    response_model=NetworkOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add a network",
)
def add_network(
    organisation_id: OrganisationId,
    body: NetworkIn,
    response: Response,
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
) -> dict[str, Any]:
    """Register a network; 409 if the organisation has it already."""
    item = body.model_dump(exclude_unset=True)
    return _add(session, principal, platform, organisation_id, "networks", item, response)


@router.delete(
    "/networks/{item_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Remove a network",
)
def remove_network(
    organisation_id: OrganisationId,
    item_id: ItemId,
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
) -> None:
    """Remove one network by its id."""
    _remove(session, principal, platform, organisation_id, "networks", item_id)


# --- ASNs ---------------------------------------------------------------------------------


@router.get("/asns", response_model=Page[AsnOut], summary="List ASNs")
def list_asns(
    organisation_id: OrganisationId, session: SessionDep, principal: PrincipalDep, page: PageDep
) -> dict[str, Any]:
    """The autonomous systems the organisation operates."""
    return _list(session, principal, organisation_id, "asns", page)


@router.post(
    "/asns", response_model=AsnOut, status_code=status.HTTP_201_CREATED, summary="Add an ASN"
)
def add_asn(
    organisation_id: OrganisationId,
    body: AsnIn,
    response: Response,
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
) -> dict[str, Any]:
    """Register an autonomous system; 409 if the organisation has it already."""
    item = body.model_dump(exclude_unset=True)
    return _add(session, principal, platform, organisation_id, "asns", item, response)


@router.delete(
    "/asns/{item_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Remove an ASN",
)
def remove_asn(
    organisation_id: OrganisationId,
    item_id: ItemId,
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
) -> None:
    """Remove one autonomous system by its id."""
    _remove(session, principal, platform, organisation_id, "asns", item_id)


# --- domains ------------------------------------------------------------------------------


@router.get("/domains", response_model=Page[DomainOut], summary="List domains")
def list_domains(
    organisation_id: OrganisationId, session: SessionDep, principal: PrincipalDep, page: PageDep
) -> dict[str, Any]:
    """The organisation's domains, by name."""
    return _list(session, principal, organisation_id, "domains", page)


@router.post(
    "/domains",
    response_model=DomainOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add a domain",
)
def add_domain(
    organisation_id: OrganisationId,
    body: DomainIn,
    response: Response,
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
) -> dict[str, Any]:
    """Register a domain; 409 if the organisation has it already."""
    item = body.model_dump(exclude_unset=True)
    return _add(session, principal, platform, organisation_id, "domains", item, response)


@router.delete(
    "/domains/{item_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Remove a domain",
)
def remove_domain(
    organisation_id: OrganisationId,
    item_id: ItemId,
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
) -> None:
    """Remove one domain by its id."""
    _remove(session, principal, platform, organisation_id, "domains", item_id)


# --- contacts -----------------------------------------------------------------------------


@router.get("/contacts", response_model=Page[ContactOut], summary="List contacts")
def list_contacts(
    organisation_id: OrganisationId, session: SessionDep, principal: PrincipalDep, page: PageDep
) -> dict[str, Any]:
    """The organisation's contacts, by e-mail address."""
    return _list(session, principal, organisation_id, "contacts", page)


@router.post(
    "/contacts",
    response_model=ContactOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add a contact",
)
def add_contact(
    organisation_id: OrganisationId,
    body: ContactIn,
    response: Response,
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
) -> dict[str, Any]:
    """Register a contact; 409 if one with that e-mail address exists."""
    item = body.model_dump(exclude_unset=True)
    return _add(session, principal, platform, organisation_id, "contacts", item, response)


@router.patch("/contacts/{item_id}", response_model=ContactOut, summary="Change a contact")
def update_contact(
    organisation_id: OrganisationId,
    item_id: ItemId,
    body: ContactPatch,
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
) -> dict[str, Any]:
    """Change the contact's fields given. The e-mail address identifies a contact, so
    changing it answers with the contact under a new id."""
    before = _held_ids(session, principal, organisation_id, "contacts")
    after = service.update_contact(
        session,
        principal,
        organisation_id,
        item_id,
        body.model_dump(exclude_unset=True),
        clock=platform.clock,
        key_inspector=platform.key_inspector,
    )
    contacts = after["contacts"]
    same = [c for c in contacts if c["id"] == item_id]
    return dict(same[0] if same else next(c for c in contacts if c["id"] not in before))


@router.delete(
    "/contacts/{item_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Remove a contact",
)
def remove_contact(
    organisation_id: OrganisationId,
    item_id: ItemId,
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
) -> None:
    """Remove one contact by its id."""
    _remove(session, principal, platform, organisation_id, "contacts", item_id)
