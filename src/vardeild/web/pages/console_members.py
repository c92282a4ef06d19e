"""The analysts' console: the member registry (search by name, organisation number, address,
network, domain or ASN; one member's entry) and change requests (the list, one request's
changes, and approving or rejecting it through members.changes, audited there)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form
from fastapi.responses import HTMLResponse, Response

from vardeild.access.model import Action, may
from vardeild.core.errors import ValidationFailed
from vardeild.members import changes
from vardeild.members.lookup import whois
from vardeild.members.service import (
    OrganisationQuery,
    get_organisation_or_raise,
    list_organisations,
)
from vardeild.monitoring.alerts import AlertQuery, list_alerts
from vardeild.web.pages.console_base import (
    Filter,
    PageNo,
    back,
    member_names,
    pager,
    principal_of,
    render,
    require_cert,
    signed_in,
    with_total,
)
from vardeild.web.pages.context import PageDep, page_router

router = page_router()


Reason = Annotated[str, Form(max_length=4000)]


# --- the registry ---------------------------------------------------------------------------


@router.get("/console/members", response_class=HTMLResponse)
def members(
    page: PageDep,
    q: Filter = "",
    number: PageNo = 1,
) -> Response:
    """Organisations by name; a search text that is an address, network, domain or ASN also
    finds the member that owns it (as whois does)."""
    if (away := signed_in(page)) is not None:
        return away
    principal = require_cert(principal_of(page))
    text = q.strip()
    owners: list[dict[str, Any]] = []
    matched = None
    if text:
        try:
            answer = whois(page.db, principal, text, index=page.platform.attribution_index(page.db))
            owners, matched = answer.organisations, answer.matched
        except ValidationFailed:
            pass  # not an address, network, domain or ASN: a name or number only
    paging = pager(number, {"q": text})
    found, total = list_organisations(
        page.db, principal, query=OrganisationQuery(text=text or None),
        limit=paging.per_page, offset=paging.offset,
    )  # fmt: skip
    return render(
        page, "console/members.html", title=page.t("console.members.title"), q=text,
        owners=owners, matched=matched, organisations=found, pager=with_total(paging, total),
    )  # fmt: skip


@router.get("/console/members/{organisation_id}", response_class=HTMLResponse)
def member(page: PageDep, organisation_id: int) -> Response:
    """One member's entry: networks, ASNs, domains, contacts and their keys, services, and
    its pending change requests and latest alerts."""
    if (away := signed_in(page)) is not None:
        return away
    principal = principal_of(page)
    # With the member's own principal first: another member's entry answers 404, as the API's.
    organisation = get_organisation_or_raise(page.db, principal, organisation_id)
    require_cert(principal)
    requests, _ = changes.list_change_requests(
        page.db, principal, organisation_id=organisation_id, status=changes.ChangeStatus.PENDING
    )
    alerts, alert_total = list_alerts(
        page.db, principal, query=AlertQuery(member_id=organisation_id), limit=10
    )
    return render(
        page, "console/member.html", title=organisation["name"], org=organisation,
        requests=requests, alerts=alerts, alert_total=alert_total,
    )  # fmt: skip


# --- change requests --------------------------------------------------------------------------


@router.get("/console/change-requests", response_class=HTMLResponse)
def change_requests(
    page: PageDep,
    status: changes.ChangeStatus | None = None,
    number: PageNo = 1,
) -> Response:
    """Change requests, newest first; filter by status."""
    if (away := signed_in(page)) is not None:
        return away
    principal = require_cert(principal_of(page))
    paging = pager(number, {"status": status.value if status else ""})
    found, total = changes.list_change_requests(
        page.db, principal, status=status, limit=paging.per_page, offset=paging.offset
    )
    return render(
        page, "console/change_requests.html", title=page.t("console.requests.title"),
        requests=found, chosen=status.value if status else "", statuses=list(changes.ChangeStatus),
        names=member_names(page, principal), pager=with_total(paging, total),
    )  # fmt: skip


def diff_rows(proposed: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Return a request's changes as (kind, operation, value) rows, in the order given; a
    record (a contact) is written as its fields, key=value."""
    rows = []
    for kind, operations in proposed.items():
        if not isinstance(operations, dict):
            rows.append((kind, "set", str(operations)))
            continue
        for operation, values in operations.items():
            for value in values if isinstance(values, list) else [values]:
                if isinstance(value, dict):
                    shown = ", ".join(f"{k}={v}" for k, v in value.items() if v not in (None, ""))
                else:
                    shown = str(value)
                rows.append((kind, operation, shown))
    return rows


@router.get("/console/change-requests/{request_id}", response_class=HTMLResponse)
def change_request(page: PageDep, request_id: int, done: str = "") -> Response:
    """One change request: what it changes, set against the entry as it is, and the forms to
    approve or reject it (for those who may decide)."""
    if (away := signed_in(page)) is not None:
        return away
    principal = principal_of(page)
    request = changes.get_change_request_or_raise(page.db, principal, request_id)
    require_cert(principal)
    organisation = get_organisation_or_raise(page.db, principal, request.organisation_id)
    return render(
        page, "console/change_request.html",
        title=f"{page.t('console.request.title')} {request.id}",
        request=request, org=organisation, rows=diff_rows(request.changes),
        may_decide=may(principal, Action.DECIDE, request.organisation_id), done=done,
    )  # fmt: skip


@router.post("/console/change-requests/{request_id}/approve", response_class=HTMLResponse)
def approve(page: PageDep, request_id: int, reason: Reason = "") -> Response:
    """Approve the request: its changes apply to the entry (audited)."""
    if (away := signed_in(page)) is not None:
        return away
    principal = principal_of(page)
    changes.get_change_request_or_raise(page.db, principal, request_id)
    require_cert(principal)
    changes.approve_change_request(
        page.db, principal, request_id, reason=reason, clock=page.platform.clock,
        key_inspector=page.platform.key_inspector,
    )  # fmt: skip
    return back(page, f"/console/change-requests/{request_id}", "approved")


@router.post("/console/change-requests/{request_id}/reject", response_class=HTMLResponse)
def reject(page: PageDep, request_id: int, reason: Reason = "") -> Response:
    """Reject the request with the reason the member will read (audited)."""
    if (away := signed_in(page)) is not None:
        return away
    principal = principal_of(page)
    changes.get_change_request_or_raise(page.db, principal, request_id)
    require_cert(principal)
    changes.reject_change_request(
        page.db, principal, request_id, reason=reason, clock=page.platform.clock
    )
    return back(page, f"/console/change-requests/{request_id}", "rejected")
