"""Change requests: members propose changes to their own entry, the CERT decides."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status

from vardeild.members import changes
from vardeild.members.changes import ChangeRequest, ChangeStatus
from vardeild.web.deps import ID_MAX, PageDep, PlatformDep, PrincipalDep, SessionDep
from vardeild.web.schemas import (
    ApproveIn,
    ChangeRequestIn,
    ChangeRequestOut,
    Page,
    RejectIn,
    WithdrawIn,
)

router = APIRouter(tags=["change requests"])

RequestId = Annotated[int, Path(ge=1, le=ID_MAX, description="The change request's id.")]


def _out(request: ChangeRequest) -> dict[str, Any]:
    return asdict(request)


@router.get(
    "/change-requests", response_model=Page[ChangeRequestOut], summary="List change requests"
)
def list_change_requests(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    status_: Annotated[ChangeStatus | None, Query(alias="status")] = None,
    organisation_id: Annotated[int | None, Query(ge=1, le=ID_MAX)] = None,
) -> dict[str, Any]:
    """Change requests, newest first; a member token sees its own organisation's."""
    items, total = changes.list_change_requests(
        session,
        principal,
        status=status_,
        organisation_id=organisation_id,
        limit=page.limit,
        offset=page.offset,
    )
    return {
        "items": [_out(item) for item in items],
        "total": total,
        "limit": page.limit,
        "offset": page.offset,
    }


@router.post(
    "/organisations/{organisation_id}/change-requests",
    response_model=ChangeRequestOut,
    status_code=status.HTTP_201_CREATED,
    summary="Propose a change",
)
def propose_change(
    organisation_id: Annotated[int, Path(ge=1, le=ID_MAX)],
    body: ChangeRequestIn,
    response: Response,
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
) -> dict[str, Any]:
    """Propose adding, removing or (contacts) updating networks, ASNs, domains and contacts of
    one's own organisation. It is checked now and applies only once the CERT approves it."""
    proposed = changes.propose_change(
        session,
        principal,
        organisation_id,
        {kind: ops.model_dump(exclude_none=True) for kind, ops in body.changes.items()},
        comment=body.comment,
        clock=platform.clock,
        key_inspector=platform.key_inspector,
    )
    response.headers["Location"] = f"/api/v1/change-requests/{proposed.id}"
    return _out(proposed)


@router.get(
    "/change-requests/{request_id}",
    response_model=ChangeRequestOut,
    summary="Read a change request",
)
def get_change_request(
    request_id: RequestId, session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    """The change request and where it stands."""
    return _out(changes.get_change_request_or_raise(session, principal, request_id))


@router.post(
    "/change-requests/{request_id}/approve",
    response_model=ChangeRequestOut,
    summary="Approve a change request",
)
def approve_change_request(
    request_id: RequestId,
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
    body: ApproveIn | None = None,
) -> dict[str, Any]:
    """Apply the pending request to the registry (CERT analysts). 409 if it is no longer
    pending; 422 if it no longer fits the entry, in which case it stays pending."""
    approved = changes.approve_change_request(
        session,
        principal,
        request_id,
        reason=body.reason if body else "",
        clock=platform.clock,
        key_inspector=platform.key_inspector,
    )
    return _out(approved)


@router.post(
    "/change-requests/{request_id}/reject",
    response_model=ChangeRequestOut,
    summary="Reject a change request",
)
def reject_change_request(
    request_id: RequestId,
    body: RejectIn,
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
) -> dict[str, Any]:
    """Reject the pending request with a reason the member will read (CERT analysts)."""
    rejected = changes.reject_change_request(
        session, principal, request_id, reason=body.reason, clock=platform.clock
    )
    return _out(rejected)


@router.post(
    "/change-requests/{request_id}/withdraw",
    response_model=ChangeRequestOut,
    summary="Withdraw a change request",
)
def withdraw_change_request(
    request_id: RequestId,
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
    body: WithdrawIn | None = None,
) -> dict[str, Any]:
    """Withdraw a pending request (the member's admins, or the CERT for them); nothing of it
    applies. 409 if the CERT has decided it already."""
    withdrawn = changes.withdraw_change_request(
        session, principal, request_id, reason=body.reason if body else "", clock=platform.clock
    )
    return _out(withdrawn)
