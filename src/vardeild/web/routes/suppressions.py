"""Suppression rules: events a rule matches are counted, not stored or alerted on (and so never
noticed). CERT staff list, add and remove them; a member's token gets 403 for the list, and 404
for another member's rule, as for one that does not exist."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from vardeild.monitoring import suppression
from vardeild.web.deps import ID_MAX, PageDep, PlatformDep, PrincipalDep, SessionDep
from vardeild.web.schemas import Page

router = APIRouter(prefix="/suppressions", tags=["suppressions"])

RuleId = Annotated[int, Path(ge=1, le=ID_MAX, description="The rule's id.")]


class SuppressionIn(BaseModel):
    """A rule: every condition given must hold, and at least one is given."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(max_length=1000, description="Why these events are benign (required).")
    organisation_id: int | None = Field(
        default=None, ge=1, le=ID_MAX, description="Only this member's events (either side)."
    )
    identifier: str | None = Field(
        default=None,
        max_length=200,
        examples=["2001219", "sid:1:2001219", "scanner"],
        description="A signature id (2001219 means sid:1:2001219), classification identifier "
        "or type.",
    )
    network: str | None = Field(
        default=None, max_length=64, description="Only events with an address in this CIDR."
    )
    indicator_id: int | None = Field(
        default=None, ge=1, le=ID_MAX, description="Only events that matched this indicator."
    )
    expires_at: AwareDatetime | None = Field(
        default=None, description="When it stops applying (none: never)."
    )


class SuppressionOut(BaseModel):
    """A rule and how many events it has suppressed."""

    id: int
    member_id: int | None
    identifier: str | None
    network: str | None
    indicator_id: int | None
    reason: str
    author: str
    created_at: datetime
    expires_at: datetime | None
    hit_count: int
    last_hit_at: datetime | None


@router.get("", response_model=Page[SuppressionOut], summary="List suppression rules")
def list_suppressions(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    organisation_id: Annotated[
        int | None, Query(ge=1, le=ID_MAX, description="Only this member's rules.")
    ] = None,
) -> dict[str, Any]:
    """Rules, newest first, ended ones too (their counts still tell). CERT staff only."""
    rules = suppression.list_rules(session, principal, member_id=organisation_id)
    return {
        "items": rules[page.offset : page.offset + page.limit],
        "total": len(rules),
        "limit": page.limit,
        "offset": page.offset,
    }


@router.post("", response_model=SuppressionOut, status_code=201, summary="Add a suppression rule")
def create_suppression(
    body: SuppressionIn, session: SessionDep, principal: PrincipalDep, platform: PlatformDep
) -> dict[str, Any]:
    """Add a rule (audited); from the next batch on, matching events are counted only."""
    return suppression.add_rule(
        session,
        principal,
        clock=platform.clock,
        reason=body.reason,
        member_id=body.organisation_id,
        identifier=body.identifier,
        network=body.network,
        indicator_id=body.indicator_id,
        expires_at=body.expires_at,
    )


@router.delete("/{rule_id}", response_model=SuppressionOut, summary="Remove a suppression rule")
def delete_suppression(
    rule_id: RuleId, session: SessionDep, principal: PrincipalDep, platform: PlatformDep
) -> dict[str, Any]:
    """Remove the rule (audited) and answer it as it was; its events are stored and alerted
    on again from the next batch."""
    return suppression.remove_rule(session, principal, rule_id, clock=platform.clock)
