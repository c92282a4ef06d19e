"""The members' portal: their organisation and its change requests. (Their alerts are in
member_alerts, their notices in member_notices.)

A member admin proposes changes to networks, ASNs, domains and contacts from the organisation
page, through the same service the API calls (`members.changes.propose_change`): checked now,
applied only once the CERT approves, audited. A member user reads only. CERT staff see any
member's pages with `?organisation=ID`; a member naming another member's organisation, or
another member's change request, gets the 404 page, as for one that does not exist.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Form
from fastapi.responses import HTMLResponse, Response

from vardeild.access.model import Action, Principal, authorize, may
from vardeild.core.clock import as_utc
from vardeild.core.errors import NotFound, PermissionDenied, ValidationFailed
from vardeild.members import changes
from vardeild.members.changes import ChangeStatus
from vardeild.members.service import get_organisation_or_raise
from vardeild.notify import service as notify_service
from vardeild.web.pages import member_texts, nav
from vardeild.web.pages.context import Page, PageDep, page_router
from vardeild.web.pages.member_scope import (
    FormOrganisation,
    ItemId,
    OrganisationParam,
    Paging,
    chosen_organisation,
    optional,
    page_number,
    required_organisation,
)

assert member_texts  # imported for its words

router = page_router()

Text = Annotated[str, Form(max_length=300)]
LongText = Annotated[str, Form(max_length=4000)]
# An armoured public key of a few subkeys; the CSRF check reads no form part above 16 KiB.
KeyText = Annotated[str, Form(max_length=16_000)]
KINDS = ("networks", "asns", "domains", "contacts")
OPERATIONS = ("add", "remove", "update")
_KEY_FIELD = {"networks": "cidr", "asns": "asn", "domains": "name", "contacts": "email"}
KEY_WARNING = timedelta(days=30)  # a contact's key this close to expiry is flagged

nav.add_link(
    nav.NavLink("/portal/organisation", "member.nav.organisation", nav.Audience.MEMBER, 20)
)
nav.add_link(nav.NavLink("/portal/alerts", "member.nav.alerts", nav.Audience.MEMBER, 21))
nav.add_link(nav.NavLink("/portal/notices", "member.nav.notices", nav.Audience.MEMBER, 22))
nav.add_link(nav.NavLink("/portal/change-requests", "member.nav.requests", nav.Audience.MEMBER, 23))


def key_status(contact: dict[str, Any], now: datetime) -> str:
    """Return the state of a contact's OpenPGP key: none, expired, expiring, valid or
    no_expiry (the i18n suffix of `member.org.key_*`)."""
    if not contact.get("pgp_fingerprint"):
        return "none"
    text = contact.get("pgp_expires_at")
    if not text:
        return "no_expiry"
    expires = as_utc(datetime.fromisoformat(text))
    if expires <= now:
        return "expired"
    return "expiring" if expires - now <= KEY_WARNING else "valid"


def _policy(page: Page, principal: Principal, organisation: int) -> dict[str, Any] | None:
    try:
        return notify_service.read_policy(page.db, principal, organisation)
    except (NotFound, PermissionDenied):
        return None  # not readable by this principal: the page shows none


def _organisation_page(
    page: Page, organisation: int, *, status: int = 200, **context: Any
) -> HTMLResponse:
    assert page.user is not None
    principal = page.user.principal
    data = get_organisation_or_raise(page.db, principal, organisation)
    now = page.platform.clock.now()
    for contact in data["contacts"]:
        contact["key_status"] = key_status(contact, now)
    return page.render(
        "member/organisation.html",
        status=status,
        org=data,
        policy=_policy(page, principal, organisation),
        may_propose=may(principal, Action.PROPOSE, organisation),
        cert_view=principal.is_cert,
        kinds=KINDS,
        operations=OPERATIONS,
        **context,
    )


@router.get("/portal/organisation", response_class=HTMLResponse)
def organisation_page(page: PageDep, organisation: OrganisationParam = None) -> Response:
    """The signed-in member's organisation: registry entry, contacts with their keys'
    state, notice policy; the forms to propose a change for a member admin."""
    if page.user is None:
        return page.to_signin()
    chosen = required_organisation(page.user.principal, organisation, "/portal/organisation")
    return _organisation_page(page, chosen)


def requested_changes(
    *,
    kind: str,
    operation: str,
    value: str,
    description: str = "",
    name: str = "",
    phone: str = "",
    roles: list[str] | None = None,
    language: str = "",
    pgp_key: str = "",
) -> dict[str, Any]:
    """Return the change request's `changes` (the service's input shape) for one operation
    the form describes; ValidationFailed for a kind or operation the form does not offer."""
    record = "change request"
    if kind not in KINDS:
        raise ValidationFailed.one(record, "kind", f"choose one of {', '.join(KINDS)}")
    if operation not in OPERATIONS or (operation == "update" and kind != "contacts"):
        raise ValidationFailed.one(record, "operation", "add or remove (contacts: also update)")
    value = value.strip()
    if not value:
        raise ValidationFailed.one(record, "value", "is required")
    if operation == "remove":
        return {kind: {"remove": [value]}}
    entry: dict[str, Any] = {_KEY_FIELD[kind]: value}
    if kind == "contacts":
        given = {"name": name.strip(), "phone": phone.strip(), "language": language.strip(),
                 "pgp_key": pgp_key.strip()}  # fmt: skip
        entry.update({key: text for key, text in given.items() if text})
        if roles:
            entry["roles"] = roles
    elif description.strip():
        entry["description"] = description.strip()
    return {kind: {operation: [entry]}}


@router.post("/portal/change-requests", response_class=HTMLResponse)
def propose_change(
    page: PageDep,
    organisation: FormOrganisation = None,
    kind: Text = "",
    operation: Text = "",
    value: Text = "",
    description: Text = "",
    name: Text = "",
    phone: Text = "",
    roles: Annotated[list[str] | None, Form(max_length=5)] = None,
    language: Text = "",
    pgp_key: KeyText = "",
    comment: LongText = "",
) -> Response:
    """Propose one change to the organisation (member admins: their own); it lands as a
    pending change request, audited, and the page shows it."""
    if page.user is None:
        return page.to_signin()
    principal = page.user.principal
    chosen = required_organisation(principal, organisation, "/portal/organisation")
    # Who may propose is decided before what is proposed: a member user's form is refused
    # (403) whatever it holds.
    authorize(principal, Action.PROPOSE, chosen)
    form = {"kind": kind, "operation": operation, "value": value, "description": description,
            "name": name, "phone": phone, "roles": roles or [], "language": language,
            "pgp_key": pgp_key, "comment": comment}  # fmt: skip
    try:
        wanted = requested_changes(
            kind=kind, operation=operation, value=value, description=description,
            name=name, phone=phone, roles=roles, language=language, pgp_key=pgp_key,
        )  # fmt: skip
        proposed = changes.propose_change(
            page.db, principal, chosen, wanted, comment=comment,
            clock=page.platform.clock, key_inspector=page.platform.key_inspector,
        )  # fmt: skip
    except ValidationFailed as exc:
        problems = [problem.message if not problem.field else f"{problem.field}: {problem.message}"
                    for problem in exc.problems]  # fmt: skip
        return _organisation_page(page, chosen, status=422, errors=problems, form=form)
    return page.redirect(f"/portal/change-requests/{proposed.id}?sent=1")


def change_lines(requested: dict[str, Any]) -> list[dict[str, str]]:
    """Return a change request's changes as lines to show: operation, kind, the item's key and
    the other fields given."""
    lines = []
    for kind, ops in requested.items():
        if not isinstance(ops, dict):
            continue
        for operation in OPERATIONS:
            for entry in ops.get(operation) or []:
                if isinstance(entry, dict):
                    key = str(entry.get(_KEY_FIELD.get(kind, ""), ""))
                    rest = ", ".join(
                        f"{field}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
                        for field, v in entry.items()
                        if field != _KEY_FIELD.get(kind)
                    )
                else:
                    key, rest = str(entry), ""
                lines.append({"operation": operation, "kind": kind, "key": key, "rest": rest})
    return lines


@router.get("/portal/change-requests", response_class=HTMLResponse)
def change_requests_page(
    page: PageDep,
    organisation: OrganisationParam = None,
    status: str = "",
) -> Response:
    """The organisation's change requests, newest first, with where each stands."""
    if page.user is None:
        return page.to_signin()
    principal = page.user.principal
    chosen = chosen_organisation(principal, organisation)
    wanted = optional(status)
    if wanted is not None and wanted not in set(ChangeStatus):
        raise ValidationFailed.one("filter", "status", f"{wanted!r} is not a status")
    filters = {"status": status, "organisation": str(organisation or "")}
    paging = Paging(number=page_number(page), total=0, path=page.request.url.path, filters=filters)
    items, total = changes.list_change_requests(
        page.db, principal, status=ChangeStatus(wanted) if wanted else None,
        organisation_id=chosen, limit=paging.limit, offset=paging.offset,
    )  # fmt: skip
    paging = Paging(number=paging.number, total=total, path=paging.path, filters=filters)
    return page.render(
        "member/change_requests.html",
        requests=[(item, change_lines(item.changes)) for item in items],
        paging=paging,
        statuses=[s.value for s in ChangeStatus],
        chosen_status=wanted or "",
        organisation=organisation,
    )


@router.get("/portal/change-requests/{request_id}", response_class=HTMLResponse)
def change_request_page(page: PageDep, request_id: ItemId) -> Response:
    """One change request: what it asks, the comment, where it stands and the CERT's reason."""
    if page.user is None:
        return page.to_signin()
    principal = page.user.principal
    item = changes.get_change_request_or_raise(page.db, principal, request_id)
    return page.render(
        "member/change_request.html",
        item=item,
        lines=change_lines(item.changes),
        sent=page.request.query_params.get("sent") == "1",
        withdrawn=page.request.query_params.get("done") == "withdrawn",
        may_withdraw=item.status is ChangeStatus.PENDING
        and may(principal, Action.PROPOSE, item.organisation_id),
    )


@router.post("/portal/change-requests/{request_id}/withdraw", response_class=HTMLResponse)
def withdraw_change_request(page: PageDep, request_id: ItemId, reason: LongText = "") -> Response:
    """Withdraw a pending change request (member admins: their own); nothing of it applies.
    One the CERT decided meanwhile answers 409 with its state."""
    if page.user is None:
        return page.to_signin()
    changes.withdraw_change_request(
        page.db, page.user.principal, request_id, reason=reason, clock=page.platform.clock
    )
    return page.redirect(f"/portal/change-requests/{request_id}?done=withdrawn")
