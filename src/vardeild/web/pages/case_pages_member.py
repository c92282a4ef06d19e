"""Incident cases in the members' portal: the cases their organisation is involved in, only
shared journal entries below TLP:RED, their own involvement and the updates sent to them, with
a shared note, an acknowledgement and the download of shared evidence. CERT staff reading
these pages see what the members see. (The CERT's case pages are in `case_pages`.)
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from fastapi.responses import HTMLResponse, Response

from vardeild.access.model import Action, may
from vardeild.core.tlp import Tlp
from vardeild.incidents import (
    attachments,
    coordination,
    journal,
    service,
)
from vardeild.incidents.model import (
    EntrySource,
    Visibility,
    member_may_see,
)
from vardeild.web.pages import case_texts  # noqa: F401 - registers the pages' words
from vardeild.web.pages.case_pages import Long, download_evidence
from vardeild.web.pages.console_base import (
    PageNo,
    back,
    pager,
    principal_of,
    render,
    signed_in,
    with_total,
)
from vardeild.web.pages.context import (
    PageDep,
    page_router,
)

router = page_router()


# --- the members' view ---------------------------------------------------------------------


@router.get("/portal/cases", response_class=HTMLResponse)
def member_cases(page: PageDep, number: PageNo = 1) -> Response:
    """The cases the member's organisation is in (CERT staff: every case, as members see
    them)."""
    if (away := signed_in(page)) is not None:
        return away
    principal = principal_of(page)
    paging = pager(number, {})
    items, total = service.list_cases(
        page.db, principal, limit=paging.per_page, offset=paging.offset
    )
    return render(
        page, "cases/portal_list.html", title=page.t("cases.nav_member"), cases=items,
        pager=with_total(paging, total),
    )  # fmt: skip


@router.get("/portal/cases/{case_id}", response_class=HTMLResponse)
def member_case(
    page: PageDep, case_id: int, done: Annotated[str, Query(max_length=40)] = ""
) -> Response:
    """One case as its members see it: shared entries below TLP:RED, their involvement, the
    updates sent to them (to acknowledge) and shared evidence."""
    if (away := signed_in(page)) is not None:
        return away
    principal = principal_of(page)
    case = service.get_case_or_raise(page.db, principal, case_id)
    entries = [
        e
        for e in journal.list_journal(page.db, principal, case_id)
        if member_may_see(Visibility(e["visibility"]), Tlp(e["tlp"]))
    ]
    mine = coordination.list_involved(page.db, principal, case_id)
    if principal.is_cert:
        # Staff preview the members' view: no organisation's line, no CERT-only evidence.
        mine = []
    files = [
        f
        for f in attachments.list_attachments(page.db, principal, case_id)
        if member_may_see(Visibility(f["visibility"]), Tlp(f["tlp"]))
    ]
    sent = {u["update_id"]: u for line in mine for u in line["updates"]}
    return render(
        page, "cases/portal_case.html", title=f"{case['reference']} {case['title']}",
        case=case, entries=entries, involvement=mine[0] if mine else None, sent=sent,
        updates=coordination.list_updates(page.db, principal, case_id), files=files,
        done=done, preview=principal.is_cert,
        may_write=(principal.is_cert and may(principal, Action.EDIT)) or not principal.is_cert,
    )  # fmt: skip


@router.post("/portal/cases/{case_id}/note", response_class=HTMLResponse)
def member_note(page: PageDep, case_id: int, text: Long = "") -> Response:
    """A member's reply on the case (shared with the CERT)."""
    if (away := signed_in(page)) is not None:
        return away
    journal.add_journal_entry(
        page.db, principal_of(page), case_id, clock=page.platform.clock, text=text,
        visibility=Visibility.SHARED, source=EntrySource.WEB,
    )  # fmt: skip
    return back(page, f"/portal/cases/{case_id}", "note")


@router.post("/portal/cases/{case_id}/updates/{update_id}/ack", response_class=HTMLResponse)
def member_ack(page: PageDep, case_id: int, update_id: int) -> Response:
    """The member acknowledges an update it was sent."""
    if (away := signed_in(page)) is not None:
        return away
    coordination.acknowledge_update(
        page.db, principal_of(page), case_id, update_id, clock=page.platform.clock
    )
    return back(page, f"/portal/cases/{case_id}", "ack")


@router.get("/portal/cases/{case_id}/attachments/{attachment_id}")
def member_download(page: PageDep, case_id: int, attachment_id: int) -> Response:
    """Download shared evidence of a case the member is in."""
    if (away := signed_in(page)) is not None:
        return away
    return download_evidence(page, principal_of(page), case_id, attachment_id)
