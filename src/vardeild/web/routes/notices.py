"""Notices: what the CERT told each member, its deliveries and acknowledgement; notice
policies; and the acknowledgement link members follow from the e-mail without signing in.

A member's token sees its own organisation's notices only; another member's answers 404, as
one that does not exist. The acknowledgement link's token is its own authority: it can only
mark its one notice as acknowledged.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from vardeild.core.errors import ValidationFailed
from vardeild.core.tlp import Tlp
from vardeild.members.model import Language
from vardeild.monitoring.model import Severity
from vardeild.notify import records, service, tasks
from vardeild.notify.config import config_from_settings as notify_config
from vardeild.notify.model import NoticeKind, NoticeStatus
from vardeild.web.deps import ID_MAX, PageDep, PlatformDep, PrincipalDep, SessionDep
from vardeild.web.schemas import Page

router = APIRouter(prefix="/notices", tags=["notices"])
policy_router = APIRouter(prefix="/organisations/{organisation_id}", tags=["notices"])

NoticeId = Annotated[int, Path(ge=1, le=ID_MAX, description="The notice's id.")]
OrganisationId = Annotated[int, Path(ge=1, le=ID_MAX, description="The member's id.")]
AckToken = Annotated[
    str,
    Path(
        min_length=16,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="The token in the notice's acknowledgement link.",
    ),
]


class NoticeOut(BaseModel):
    """One thing the CERT told one member."""

    id: int
    reference: str = Field(description="[VARDEILD-N#<id>], as subjects and replies carry it.")
    organisation_id: int
    kind: NoticeKind
    title: str
    severity: str
    tlp: str
    status: NoticeStatus
    hold_reason: str = Field(description="Why it waited (or 'immediate').")
    due_at: datetime
    digest_id: int | None = Field(description="The digest it was folded into.")
    created_at: datetime
    created_by: str
    queued_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None


class DeliveryOut(BaseModel):
    """One recipient's copy of a notice."""

    id: int
    recipient: str
    language: str
    status: str
    protection: str | None = Field(description="encrypted, signed or portal_note.")
    attempts: int
    next_attempt_at: datetime
    sent_at: datetime | None
    last_answer: str = Field(description="The mail server's last answer, or the error.")


class LogOut(BaseModel):
    """One step in a notice's delivery log."""

    at: datetime
    delivery_id: int | None
    status: str
    detail: str


class NoticeDetailOut(NoticeOut):
    """A notice with what it says, its deliveries and its delivery log."""

    content: dict[str, Any]
    deliveries: list[DeliveryOut]
    log: list[LogOut]


class NoticeIn(BaseModel):
    """A notice with free text from the CERT to one member."""

    model_config = ConfigDict(extra="forbid")

    organisation_id: int = Field(ge=1, le=ID_MAX)
    title: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=20_000, description="What happened.")
    action: str = Field(default="", max_length=5_000, description="What the member should do.")
    severity: str = Field(default="medium", description="info, low, medium, high, critical.")
    tlp: str = Field(default="AMBER", description="TLP 2.0 label.")


class PreviewOut(BaseModel):
    """A notice as a recipient reads it."""

    subject: str
    body: str
    attachments: list[dict[str, Any]]


class AckOut(BaseModel):
    """The acknowledged notice."""

    reference: str
    title: str
    acknowledged_at: datetime


@router.get("", response_model=Page[NoticeOut], summary="List notices")
def list_notices_route(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    organisation_id: Annotated[
        int | None, Query(ge=1, le=ID_MAX, description="Only this member's notices.")
    ] = None,
    status: NoticeStatus | None = None,
) -> dict[str, Any]:
    """Notices, newest first; a member token sees its own organisation's only."""
    items, total = records.list_notices(
        session,
        principal,
        member_id=organisation_id,
        status=status,
        limit=page.limit,
        offset=page.offset,
    )
    return {"items": items, "total": total, "limit": page.limit, "offset": page.offset}


@router.post("", response_model=NoticeOut, status_code=201, summary="Send a notice")
def send_notice(
    body: NoticeIn, session: SessionDep, principal: PrincipalDep, platform: PlatformDep
) -> dict[str, Any]:
    """Queue a notice with free text to a member (CERT only); its policy decides when it
    goes out, and the outbox (`vardeild notify run`) sends it."""
    try:
        severity = Severity[body.severity.strip().upper()]
    except KeyError:
        raise ValidationFailed.one(
            "notice", "severity", f"{body.severity!r} is not info, low, medium, high or critical"
        ) from None
    try:
        tlp = Tlp.parse(body.tlp)
    except ValueError as exc:
        raise ValidationFailed.one("notice", "tlp", str(exc)) from None
    now = platform.clock.now()
    row, _ = service.queue_notice(
        session,
        principal,
        member_id=body.organisation_id,
        kind=NoticeKind.MESSAGE,
        title=body.title,
        severity=severity,
        tlp=tlp,
        content={"details": {"text": body.text, "action": body.action}, "systems": []},
        source_key=f"message:{body.organisation_id}:{now.isoformat()}:{body.title[:80]}",
        config=notify_config(platform.settings),
        now=now,
    )
    return records.notice_dict(row)


@router.get("/status", summary="The outbox at a glance")
def outbox_status(session: SessionDep, principal: PrincipalDep, platform: PlatformDep) -> Any:
    """Deliveries and notices by status, the next attempt and open key tasks (CERT only)."""
    return records.outbox_status(session, principal, now=platform.clock.now())


@router.get("/tasks", summary="Tasks to fix contacts' keys")
def list_tasks(
    session: SessionDep, principal: PrincipalDep, include_closed: bool = False
) -> list[dict[str, Any]]:
    """The CERT's tasks raised when a notice could not be encrypted to a contact (CERT only)."""
    return tasks.list_tasks(session, principal, include_closed=include_closed)


@router.get("/ack/{token}", response_class=HTMLResponse, summary="Acknowledgement page")
def acknowledgement_page(token: AckToken, session: SessionDep) -> HTMLResponse:
    """A page with one button that acknowledges the notice (no sign-in: the token is the
    authority). Following the link changes nothing by itself, so mail scanners that open
    links do not acknowledge for the member."""
    notice = records.find_by_ack_token(session, token)
    reference = html.escape(notice["reference"])
    title = html.escape(notice["title"])
    done = notice["acknowledged_at"]
    state = (
        f"<p>Bekreftet / acknowledged {html.escape(done.isoformat())}.</p>"
        if done
        else f'<form method="post" action="{html.escape(token)}">'
        '<button type="submit">Bekreft mottak / Acknowledge</button></form>'
    )
    return HTMLResponse(
        f"""<!DOCTYPE html>
<html lang="nb"><head><meta charset="utf-8"><title>{reference}</title></head>
<body><main><h1>{reference}</h1><p>{title}</p>{state}</main></body></html>
"""
    )


@router.post("/ack/{token}", response_model=AckOut, summary="Acknowledge by link")
def acknowledge_by_link(token: AckToken, session: SessionDep, platform: PlatformDep) -> Any:
    """Record the acknowledgement (the first one counts); 404 for an unknown token."""
    return records.acknowledge_by_token(session, token, now=platform.clock.now())


@router.get("/{notice_id}", response_model=NoticeDetailOut, summary="Read a notice")
def get_notice(notice_id: NoticeId, session: SessionDep, principal: PrincipalDep) -> Any:
    """The notice with its content, deliveries and delivery log."""
    return records.get_notice_or_raise(session, principal, notice_id)


@router.get("/{notice_id}/preview", response_model=PreviewOut, summary="Preview a notice")
def preview_notice(
    notice_id: NoticeId,
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
    language: Language | None = None,
    portal_note: bool = False,
) -> dict[str, Any]:
    """The notice as a recipient reads it: subject, body, attachments' names and sizes."""
    rendered = records.preview_notice(
        session,
        principal,
        notice_id,
        config=notify_config(platform.settings),
        language=language,
        portal_note=portal_note,
    )
    return {
        "subject": rendered.subject,
        "body": rendered.body,
        "attachments": [
            {"filename": a.filename, "content_type": a.content_type, "bytes": len(a.data)}
            for a in rendered.attachments
        ],
    }


@router.post("/{notice_id}/acknowledge", response_model=NoticeOut, summary="Acknowledge")
def acknowledge(
    notice_id: NoticeId, session: SessionDep, principal: PrincipalDep, platform: PlatformDep
) -> Any:
    """Record that the member acknowledged the notice (the first time counts)."""
    return records.acknowledge(session, principal, notice_id, now=platform.clock.now())


@router.post("/{notice_id}/retry", response_model=NoticeOut, summary="Retry failed deliveries")
def retry(
    notice_id: NoticeId, session: SessionDep, principal: PrincipalDep, platform: PlatformDep
) -> Any:
    """Queue the notice's failed deliveries again (CERT only); 409 if none failed."""
    return records.retry_notice(
        session,
        principal,
        notice_id,
        config=notify_config(platform.settings),
        now=platform.clock.now(),
    )


@policy_router.get("/notice-policy", summary="Read a member's notice policy")
def read_policy(
    organisation_id: OrganisationId, session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Who receives which notices, thresholds, schedule, language, cap, encryption."""
    return service.read_policy(session, principal, organisation_id)


@policy_router.patch("/notice-policy", summary="Change a member's notice policy")
def change_policy(
    organisation_id: OrganisationId,
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
    changes: Annotated[dict[str, Any], Body(description="The policy fields to change.")],
) -> dict[str, Any]:
    """Change the fields given (CERT only); 422 names each bad field."""
    return service.set_policy(
        session, principal, organisation_id, changes, now=platform.clock.now()
    )
