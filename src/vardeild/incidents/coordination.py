"""Coordination across the organisations in a case: who is involved and as what (affected,
reporter, vendor, partner CERT), each with its own status and contacts; coordinated updates
that go to all of them at once through the notice machinery (signed and encrypted like every
notice, acknowledged per organisation by the notice's link or the API), and who knows what
since when.

Only shared information leaves: an update is its own text, written for the members, and is
recorded as a shared journal entry; internal journal entries are never put into a notice.
TLP:RED never leaves the CERT, so an update cannot be RED.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vardeild.access.model import SYSTEM, Principal
from vardeild.core.clock import Clock
from vardeild.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from vardeild.core.tlp import Tlp
from vardeild.incidents.model import (
    MEMBER_MAX_TLP,
    SHORT_MAX,
    TEXT_MAX,
    TITLE_MAX,
    CaseStatus,
    EntrySource,
    InvolvedRole,
    InvolvedStatus,
    Visibility,
    reference,
)
from vardeild.incidents.service import (
    add_involved,
    audit,
    case_row_or_raise,
    clean,
    editable_case,
)
from vardeild.incidents.tables import InvolvedRow, JournalRow, UpdateNoticeRow, UpdateRow
from vardeild.members import service as members
from vardeild.monitoring.model import Severity
from vardeild.notify import records as notice_records
from vardeild.notify import service as notify_service
from vardeild.notify.model import NoticeKind
from vardeild.notify.service import NotifyConfig

# Words the bokmål template uses for roles and statuses.
ROLE_NB = {
    InvolvedRole.AFFECTED: "berørt",
    InvolvedRole.REPORTER: "melder",
    InvolvedRole.VENDOR: "leverandør",
    InvolvedRole.PARTNER_CERT: "samarbeidende CERT",
}
STATUS_NB = {
    CaseStatus.NEW: "ny",
    CaseStatus.TRIAGE: "til vurdering",
    CaseStatus.IN_PROGRESS: "under behandling",
    CaseStatus.RESOLVED: "løst",
    CaseStatus.CLOSED: "lukket",
    CaseStatus.REJECTED: "avvist",
    CaseStatus.MERGED: "slått sammen",
}


def involved_dict(row: InvolvedRow, name: str) -> dict[str, Any]:
    """Return an involved organisation as JSON-ready data."""
    return {
        "id": row.id,
        "case_id": row.case_id,
        "organisation_id": row.organisation_id,
        "organisation_name": name,
        "role": row.role,
        "status": row.status,
        "contacts": row.contacts,
        "added_at": row.added_at,
        "added_by": row.added_by,
        "updated_at": row.updated_at,
    }


def _name(session: Session, organisation_id: int) -> str:
    row = members.get_organisation_row(session, organisation_id)
    return row.name if row is not None else f"organisation {organisation_id}"


def involve_organisation(
    session: Session,
    principal: Principal,
    case_id: int,
    organisation_id: int,
    role: InvolvedRole,
    *,
    clock: Clock,
    contacts: str = "",
) -> dict[str, Any]:
    """Add the organisation to the case in role and return it; ValidationFailed for an
    unknown organisation, Conflict if it is involved already."""
    case = editable_case(session, principal, case_id)
    record = f"case {case_id}"
    if members.get_organisation_row(session, organisation_id) is None:
        raise ValidationFailed.one(record, "organisation_id", f"no organisation {organisation_id}")
    text = clean(record, "contacts", contacts, max_length=SHORT_MAX * 5, multiline=True)
    row = add_involved(session, principal, case, organisation_id, role, clock=clock, contacts=text)
    return involved_dict(row, _name(session, organisation_id))


def _involved_or_raise(session: Session, case_id: int, organisation_id: int) -> InvolvedRow:
    row = session.scalar(
        select(InvolvedRow).where(
            InvolvedRow.case_id == case_id, InvolvedRow.organisation_id == organisation_id
        )
    )
    if row is None:
        raise NotFound(f"organisation {organisation_id} is not involved in case {case_id}")
    return row


def update_involved(
    session: Session,
    principal: Principal,
    case_id: int,
    organisation_id: int,
    *,
    clock: Clock,
    status: InvolvedStatus | None = None,
    role: InvolvedRole | None = None,
    contacts: str | None = None,
) -> dict[str, Any]:
    """Change an involved organisation's status, role or contacts; return it."""
    editable_case(session, principal, case_id)
    row = _involved_or_raise(session, case_id, organisation_id)
    before = {"status": row.status, "role": row.role, "contacts": row.contacts}
    if status is not None:
        row.status = status.value
    if role is not None:
        row.role = role.value
    if contacts is not None:
        row.contacts = clean(
            f"case {case_id}", "contacts", contacts, max_length=SHORT_MAX * 5, multiline=True
        )
    row.updated_at = clock.now()
    audit(
        session, principal, clock=clock, action="involved", case_id=case_id, before=before,
        after={"status": row.status, "role": row.role, "contacts": row.contacts},
        organisation_id=organisation_id,
    )  # fmt: skip
    return involved_dict(row, _name(session, organisation_id))


def remove_involved(
    session: Session, principal: Principal, case_id: int, organisation_id: int, *, clock: Clock
) -> None:
    """Take the organisation out of the case (what it was sent stays sent)."""
    editable_case(session, principal, case_id)
    row = _involved_or_raise(session, case_id, organisation_id)
    audit(
        session, principal, clock=clock, action="uninvolve", case_id=case_id,
        before={"organisation_id": organisation_id, "role": row.role}, after=None,
        organisation_id=organisation_id,
    )  # fmt: skip
    session.delete(row)


def list_involved(session: Session, principal: Principal, case_id: int) -> list[dict[str, Any]]:
    """Return the organisations in the case, each with what it was sent and acknowledged; a
    member sees only its own organisation's line."""
    case_row_or_raise(session, principal, case_id)
    stmt = select(InvolvedRow).where(InvolvedRow.case_id == case_id).order_by(InvolvedRow.id)
    if not principal.is_cert:
        stmt = stmt.where(InvolvedRow.organisation_id == principal.organisation_id)
    found = []
    knows = who_knows(session, case_id)
    for row in session.scalars(stmt):
        item = involved_dict(row, _name(session, row.organisation_id))
        item["updates"] = knows.get(row.organisation_id, [])
        found.append(item)
    return found


# --- coordinated updates -------------------------------------------------------------------


def send_update(
    session: Session,
    principal: Principal,
    case_id: int,
    *,
    clock: Clock,
    config: NotifyConfig,
    text: str,
    title: str = "",
    tlp: Tlp | None = None,
    organisation_ids: list[int] | None = None,
) -> dict[str, Any]:
    """Send a coordinated update to every involved organisation (or those named): one notice
    each, queued through the notice machinery, and a shared journal entry; return the update
    with its notices. ValidationFailed for an empty text, a TLP:RED update, or a case no
    organisation is involved in; NotFound names an organisation not involved."""
    case = editable_case(session, principal, case_id)
    record = f"case {case_id}"
    label = tlp or Tlp(case.tlp)
    if label.rank > MEMBER_MAX_TLP.rank:
        raise ValidationFailed.one(
            record, "tlp", "TLP:RED never leaves the CERT; mark the update AMBER+STRICT or lower"
        )
    body = clean(record, "text", text, max_length=TEXT_MAX, multiline=True)
    if not body:
        raise ValidationFailed.one(record, "text", "is required: write the update")
    subject = clean(record, "title", title, max_length=TITLE_MAX) or case.title
    rows = list(
        session.scalars(
            select(InvolvedRow).where(InvolvedRow.case_id == case.id).order_by(InvolvedRow.id)
        )
    )
    if organisation_ids is not None:
        named = set(organisation_ids)
        missing = named - {r.organisation_id for r in rows}
        if missing:
            raise NotFound(f"organisation {min(missing)} is not involved in case {case_id}")
        rows = [r for r in rows if r.organisation_id in named]
    if not rows:
        raise ValidationFailed.one(
            record, "organisations", "no organisation is involved; involve one first"
        )
    now = clock.now()
    entry = JournalRow(
        case_id=case.id, at=now, author=principal.actor, author_label="", text=body,
        tlp=label.value, visibility=Visibility.SHARED.value, source=EntrySource.SYSTEM.value,
        organisation_id=None,
    )  # fmt: skip
    session.add(entry)
    session.flush()
    update = UpdateRow(
        case_id=case.id, at=now, author=principal.actor, title=subject, text=body,
        tlp=label.value, journal_id=entry.id,
    )  # fmt: skip
    session.add(update)
    session.flush()
    status = CaseStatus(case.status)
    notices = []
    for row in rows:
        role = InvolvedRole(row.role)
        notice, _ = notify_service.queue_notice(
            session,
            principal,
            member_id=row.organisation_id,
            kind=NoticeKind.CASE_UPDATE,
            title=subject,
            severity=Severity(case.severity),
            content={
                "details": {
                    "case_reference": f"[{reference(case.id)}]",
                    "case_id": case.id,
                    "case_title": case.title,
                    "text": body,
                    "role": role.value.replace("_", " "),
                    "role_nb": ROLE_NB[role],
                    "status": status.value.replace("_", " "),
                    "status_nb": STATUS_NB[status],
                    "taxonomy": case.classification_taxonomy,
                },
            },
            source_key=f"case-update:{update.id}:{row.organisation_id}",
            config=config,
            now=now,
            tlp=label,
        )
        session.add(
            UpdateNoticeRow(
                update_id=update.id, organisation_id=row.organisation_id, notice_id=notice.id
            )
        )
        if row.status == InvolvedStatus.PENDING.value:
            row.status = InvolvedStatus.INFORMED.value
            row.updated_at = now
        notices.append({"organisation_id": row.organisation_id, "notice_id": notice.id,
                        "notice_status": notice.status})  # fmt: skip
    case.updated_at = now
    session.flush()
    audit(
        session, principal, clock=clock, action="update_sent", case_id=case.id, before=None,
        after={"update_id": update.id, "tlp": label.value,
               "organisation_ids": [r.organisation_id for r in rows]},
    )  # fmt: skip
    return {**update_dict(update), "notices": notices}


def update_dict(row: UpdateRow) -> dict[str, Any]:
    """Return a coordinated update as JSON-ready data."""
    return {
        "id": row.id,
        "case_id": row.case_id,
        "at": row.at,
        "author": row.author,
        "title": row.title,
        "text": row.text,
        "tlp": row.tlp,
    }


def who_knows(session: Session, case_id: int) -> dict[int, list[dict[str, Any]]]:
    """Return, per organisation, each update it was sent: when queued, the notice's status
    and when (and by whom) it was acknowledged."""
    rows = session.execute(
        select(UpdateNoticeRow, UpdateRow)
        .join(UpdateRow, UpdateRow.id == UpdateNoticeRow.update_id)
        .where(UpdateRow.case_id == case_id)
        .order_by(UpdateRow.id)
    ).all()
    found: dict[int, list[dict[str, Any]]] = {}
    for link, update in rows:
        notice = notice_records.get_notice_or_raise(session, SYSTEM, link.notice_id)
        found.setdefault(link.organisation_id, []).append(
            {
                "update_id": update.id,
                "title": update.title,
                "sent_at": update.at,
                "notice_id": link.notice_id,
                "notice_status": notice["status"],
                "queued_at": notice["queued_at"],
                "acknowledged_at": notice["acknowledged_at"],
                "acknowledged_by": notice["acknowledged_by"],
            }
        )
    return found


def list_updates(session: Session, principal: Principal, case_id: int) -> list[dict[str, Any]]:
    """Return the case's coordinated updates, oldest first; a member sees those sent to it."""
    case_row_or_raise(session, principal, case_id)
    stmt = select(UpdateRow).where(UpdateRow.case_id == case_id).order_by(UpdateRow.id)
    if not principal.is_cert:
        stmt = stmt.where(
            UpdateRow.id.in_(
                select(UpdateNoticeRow.update_id).where(
                    UpdateNoticeRow.organisation_id == principal.organisation_id
                )
            )
        )
    return [update_dict(r) for r in session.scalars(stmt)]


def acknowledge_update(
    session: Session, principal: Principal, case_id: int, update_id: int, *, clock: Clock
) -> dict[str, Any]:
    """Record that principal's organisation acknowledged the update (through its notice);
    return the notice. A member acknowledges for itself; CERT staff who may edit only on a
    member's behalf, by acknowledging a member's notice in the notices API. NotFound for an
    update not sent to the member."""
    case_row_or_raise(session, principal, case_id)
    if principal.is_cert:
        raise PermissionDenied(
            "an update is acknowledged by the member it went to; CERT staff acknowledge on a "
            "member's behalf through the notice (POST /api/v1/notices/{id}/ack)"
        )
    link = session.scalar(
        select(UpdateNoticeRow)
        .join(UpdateRow, UpdateRow.id == UpdateNoticeRow.update_id)
        .where(
            UpdateRow.case_id == case_id,
            UpdateNoticeRow.update_id == update_id,
            UpdateNoticeRow.organisation_id == principal.organisation_id,
        )
    )
    if link is None:
        raise NotFound(f"update {update_id} of case {case_id} not found")
    notice = notice_records.acknowledge(session, principal, link.notice_id, now=clock.now())
    audit(
        session, principal, clock=clock, action="acknowledge", case_id=case_id, before=None,
        after={"update_id": update_id, "notice_id": link.notice_id},
        organisation_id=principal.organisation_id,
    )  # fmt: skip
    if notice["acknowledged_at"] is None:  # pragma: no cover - acknowledge always sets it
        raise Conflict("the acknowledgement was not recorded")
    return notice
