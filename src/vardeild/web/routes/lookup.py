"""Whois (which member owns an address, domain or ASN) and the list of overlapping claims."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from vardeild.members import lookup
from vardeild.web.deps import PageDep, PlatformDep, PrincipalDep, SessionDep
from vardeild.web.schemas import ConflictOut, Page, WhoisOut

router = APIRouter(tags=["lookup"])


@router.get("/whois", response_model=WhoisOut, summary="Who owns this?")
def whois(
    value: Annotated[
        str,
        Query(
            min_length=1,
            max_length=2048,
            description="An IP address, CIDR, domain, AS number, URL or e-mail address.",
        ),
    ],
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
) -> dict[str, Any]:
    """The member that owns the value, by the most specific registered network, the domain
    or its nearest registered parent, or the ASN. A member token learns only of its own
    organisation: others' space answers as no member's."""
    answer = lookup.whois(session, principal, value, index=platform.attribution_index(session))
    return answer.to_dict()


@router.get("/conflicts", response_model=Page[ConflictOut], summary="Overlapping claims")
def list_conflicts(session: SessionDep, principal: PrincipalDep, page: PageDep) -> dict[str, Any]:
    """Networks, domains and ASNs claimed by more than one organisation (CERT staff only)."""
    conflicts = lookup.list_conflicts(session, principal)
    return {
        "items": conflicts[page.offset : page.offset + page.limit],
        "total": len(conflicts),
        "limit": page.limit,
        "offset": page.offset,
    }
