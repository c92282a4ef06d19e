"""The audit log: who changed what, when, and the state before and after."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from vardeild.access.model import Action, list_scope
from vardeild.audit.model import AuditFilter
from vardeild.audit.service import list_entries
from vardeild.members.visibility import audit_entry_for
from vardeild.web.deps import ID_MAX, PageDep, PrincipalDep, SearchText, SessionDep
from vardeild.web.schemas import AuditEntryOut, Page

router = APIRouter(tags=["audit"])


@router.get("/audit", response_model=Page[AuditEntryOut], summary="List audit entries")
def list_audit_entries(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    actor: SearchText = None,
    action: Annotated[SearchText, Query(description="e.g. organisation.update")] = None,
    entity_type: Annotated[SearchText, Query(description="e.g. organisation")] = None,
    entity_id: SearchText = None,
    organisation_id: Annotated[int | None, Query(ge=1, le=ID_MAX)] = None,
    since: Annotated[AwareDatetime | None, Query(description="From this instant on.")] = None,
    until: Annotated[AwareDatetime | None, Query(description="Before this instant.")] = None,
) -> dict[str, Any]:
    """Entries, newest first. CERT staff see all; a member admin sees its own organisation's
    entries only; member users none."""
    organisation_id, visible = list_scope(
        principal, organisation_id, cert_action=Action.READ_AUDIT, member_action=Action.READ_AUDIT
    )
    if not visible:  # another member's trail answers as an empty one, as other lists do
        return {"items": [], "total": 0, "limit": page.limit, "offset": page.offset}
    filters = AuditFilter(
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        organisation_id=organisation_id,
        since=since,
        until=until,
    )
    entries, total = list_entries(session, filters=filters, limit=page.limit, offset=page.offset)
    return {
        "items": [audit_entry_for(principal, entry) for entry in entries],
        "total": total,
        "limit": page.limit,
        "offset": page.offset,
    }
