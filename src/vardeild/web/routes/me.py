"""Who the token is."""

from __future__ import annotations

from fastapi import APIRouter

from vardeild.access.model import Action, may
from vardeild.web.deps import PrincipalDep
from vardeild.web.schemas import MeOut

router = APIRouter(tags=["me"])


@router.get("/me", response_model=MeOut, summary="Who am I")
def who_am_i(principal: PrincipalDep) -> MeOut:
    """The token's actor, role, organisation and what it may do."""
    return MeOut(
        actor=principal.actor,
        role=principal.role,
        organisation_id=principal.organisation_id,
        is_cert=principal.is_cert,
        actions=[a.value for a in Action if may(principal, a, principal.organisation_id)],
    )
