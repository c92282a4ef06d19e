"""API tokens: list, issue and revoke. A secret is shown once, when issued."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response, status

from vardeild.access import service as access
from vardeild.web.deps import ID_MAX, PageDep, PlatformDep, PrincipalDep, SessionDep
from vardeild.web.schemas import IssuedTokenOut, Page, TokenIn, TokenOut

router = APIRouter(prefix="/tokens", tags=["tokens"])


@router.get("", response_model=Page[TokenOut], summary="List tokens")
def list_tokens(session: SessionDep, principal: PrincipalDep, page: PageDep) -> dict[str, Any]:
    """Tokens the caller may manage: all for CERT admins, a member admin's organisation's."""
    tokens = access.list_tokens(session, principal)
    return {
        "items": [asdict(t) for t in tokens[page.offset : page.offset + page.limit]],
        "total": len(tokens),
        "limit": page.limit,
        "offset": page.offset,
    }


@router.post(
    "",
    response_model=IssuedTokenOut,
    status_code=status.HTTP_201_CREATED,
    summary="Issue a token",
)
def issue_token(
    body: TokenIn,
    response: Response,
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
) -> dict[str, Any]:
    """Issue a token and answer with its secret, this once. A member admin issues member
    tokens for its own organisation (the default scope when it names none)."""
    organisation_id = body.organisation_id
    if organisation_id is None and not principal.is_cert and not body.role.is_cert:
        organisation_id = principal.organisation_id
    issued = access.issue_token(
        session,
        principal,
        clock=platform.clock,
        name=body.name,
        role=body.role,
        organisation_id=organisation_id,
        expires_at=body.expires_at,
    )
    response.headers["Location"] = f"/api/v1/tokens/{issued.info.id}"
    return {**asdict(issued.info), "secret": issued.secret}


@router.delete("/{token_id}", response_model=TokenOut, summary="Revoke a token")
def revoke_token(
    token_id: Annotated[int, Path(ge=1, le=ID_MAX)],
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
) -> dict[str, Any]:
    """Revoke the token at once; answers with it as it now stands."""
    return asdict(access.revoke_token(session, principal, token_id, clock=platform.clock))
