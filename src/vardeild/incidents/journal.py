"""A case's journal: a timeline of entries, each with its author, time, TLP, visibility
(shared with the involved members, or internal to the CERT) and source (web, api, email,
system). Entries are only ever added; a member reads the shared ones of a TLP it may see."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vardeild.access.model import Action, Principal, authorize
from vardeild.core.clock import Clock
from vardeild.core.errors import PermissionDenied, ValidationFailed
from vardeild.core.tlp import Tlp
from vardeild.incidents.model import (
    MEMBER_MAX_TLP,
    SHORT_MAX,
    TEXT_MAX,
    CaseStatus,
    EntrySource,
    Visibility,
    member_may_see,
    reference,
)
from vardeild.incidents.service import audit, case_row_or_raise, clean, require_editor
from vardeild.incidents.tables import CaseRow, JournalRow


def entry_dict(row: JournalRow) -> dict[str, Any]:
    """Return a journal entry as JSON-ready data."""
    return {
        "id": row.id,
        "case_id": row.case_id,
        "at": row.at,
        "author": row.author_label or row.author,
        "text": row.text,
        "tlp": row.tlp,
        "visibility": row.visibility,
        "source": row.source,
    }


def add_journal_entry(
    session: Session,
    principal: Principal,
    case_id: int,
    *,
    clock: Clock,
    text: str,
    visibility: Visibility = Visibility.INTERNAL,
    source: EntrySource = EntrySource.WEB,
    author_label: str = "",
    tlp: Tlp | None = None,
) -> dict[str, Any]:
    """Add an entry to the case's journal and return it. TLP defaults to the case's. A member
    (involved in the case) writes shared entries only, at most TLP:AMBER+STRICT; read-only
    staff write nothing. NotFound, PermissionDenied, ValidationFailed (empty or bad text)."""
    row = case_row_or_raise(session, principal, case_id, lock=True)
    record = f"case {case_id}"
    if principal.is_cert:
        require_editor(principal)
    else:
        authorize(principal, Action.READ, principal.organisation_id)
        if visibility is not Visibility.SHARED:
            raise PermissionDenied("a member's journal entries are shared with the CERT")
    if row.status == CaseStatus.MERGED.value:
        raise ValidationFailed.one(
            record, "case", f"was merged into {reference(row.merged_into_id or 0)}; write there"
        )
    label = tlp or Tlp(row.tlp)
    if not principal.is_cert and label.rank > MEMBER_MAX_TLP.rank:
        label = MEMBER_MAX_TLP  # what a member writes it can also read back
    body = clean(record, "text", text, max_length=TEXT_MAX, multiline=True)
    if not body:
        raise ValidationFailed.one(record, "text", "is required: write what you want to say")
    entry = JournalRow(
        case_id=row.id,
        at=clock.now(),
        author=principal.actor,
        author_label=clean(record, "author_label", author_label, max_length=SHORT_MAX * 2),
        text=body,
        tlp=label.value,
        visibility=visibility.value,
        source=source.value,
        organisation_id=principal.organisation_id,
    )
    session.add(entry)
    row.updated_at = entry.at
    session.flush()
    audit(
        session, principal, clock=clock, action="journal", case_id=row.id, before=None,
        after={"entry_id": entry.id, "visibility": visibility.value, "tlp": label.value,
               "source": source.value},
        organisation_id=principal.organisation_id,
    )  # fmt: skip
    return entry_dict(entry)


def system_entry(session: Session, case: CaseRow, text: str, *, clock: Clock, actor: str) -> None:
    """Add an internal entry saying what the system did (a status change, a merge)."""
    session.add(
        JournalRow(
            case_id=case.id,
            at=clock.now(),
            author=actor,
            author_label="",
            text=text,
            tlp=Tlp.RED.value,
            visibility=Visibility.INTERNAL.value,
            source=EntrySource.SYSTEM.value,
            organisation_id=None,
        )
    )


def visible_entries(principal: Principal, rows: list[JournalRow]) -> list[JournalRow]:
    """Return the entries principal may read: all for the CERT, shared ones of a TLP a member
    may see for a member."""
    if principal.is_cert:
        return rows
    return [r for r in rows if member_may_see(Visibility(r.visibility), Tlp(r.tlp))]


def list_journal(session: Session, principal: Principal, case_id: int) -> list[dict[str, Any]]:
    """Return the case's journal as principal may read it, oldest first; NotFound if the case
    is absent or not the member's."""
    case_row_or_raise(session, principal, case_id)
    rows = list(
        session.scalars(
            select(JournalRow).where(JournalRow.case_id == case_id).order_by(JournalRow.id)
        )
    )
    return [entry_dict(r) for r in visible_entries(principal, rows)]
