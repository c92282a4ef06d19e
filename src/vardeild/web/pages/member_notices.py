"""The members' notices: what the CERT told their organisation, each read as its recipients
read it, and acknowledged from the page as the API's acknowledge does (`notify.records`).

Another member's notice answers NotFound, the same 404 page as one that does not exist.
"""

from __future__ import annotations

from fastapi.responses import HTMLResponse, Response

from vardeild.core.errors import ValidationFailed
from vardeild.members.model import Language
from vardeild.notify import records
from vardeild.notify.config import config_from_settings as notify_config
from vardeild.notify.model import NoticeStatus
from vardeild.web.pages import member_texts
from vardeild.web.pages.context import PageDep, page_router
from vardeild.web.pages.member_scope import (
    ItemId,
    OrganisationParam,
    Paging,
    chosen_organisation,
    not_found_as,
    optional,
    page_number,
)

assert member_texts  # imported for its words

router = page_router()


@router.get("/portal/notices", response_class=HTMLResponse)
def notices_page(
    page: PageDep, organisation: OrganisationParam = None, status: str = ""
) -> Response:
    """The organisation's notices, newest first, with whether each is acknowledged."""
    if page.user is None:
        return page.to_signin()
    principal = page.user.principal
    chosen = chosen_organisation(principal, organisation)
    wanted = optional(status)
    if wanted is not None and wanted not in set(NoticeStatus):
        raise ValidationFailed.one("filter", "status", f"{wanted!r} is not a status")
    filters = {"organisation": str(organisation or ""), "status": status}
    number = page_number(page)
    paging = Paging(number=number, total=0, path="/portal/notices", filters=filters)
    items, total = records.list_notices(
        page.db, principal, member_id=chosen, status=NoticeStatus(wanted) if wanted else None,
        limit=paging.limit, offset=paging.offset,
    )  # fmt: skip
    return page.render(
        "member/notices.html",
        notices=items,
        paging=Paging(number=number, total=total, path="/portal/notices", filters=filters),
        filters=filters,
        statuses=[s.value for s in NoticeStatus],
    )


@router.get("/portal/notices/{notice_id}", response_class=HTMLResponse)
def notice_page(page: PageDep, notice_id: ItemId) -> Response:
    """One notice: its text as the recipients read it (in the page's language), where it was
    sent, and the form to acknowledge it."""
    if page.user is None:
        return page.to_signin()
    principal = page.user.principal
    with not_found_as("notice", notice_id):
        notice = records.get_notice_or_raise(page.db, principal, notice_id)
    rendered = records.preview_notice(
        page.db, principal, notice_id, config=notify_config(page.platform.settings),
        language=Language(page.language),
    )  # fmt: skip
    return page.render(
        "member/notice.html",
        notice=notice,
        rendered=rendered,
        done=page.request.query_params.get("done") == "acknowledged",
    )


@router.post("/portal/notices/{notice_id}/acknowledge", response_class=HTMLResponse)
def acknowledge_notice(page: PageDep, notice_id: ItemId) -> Response:
    """Record that the organisation acknowledged the notice (the first time counts)."""
    if page.user is None:
        return page.to_signin()
    with not_found_as("notice", notice_id):
        records.acknowledge(page.db, page.user.principal, notice_id, now=page.platform.clock.now())
    return page.redirect(f"/portal/notices/{notice_id}?done=acknowledged")
