"""The analysts' console: the audit log (who changed what, when, before and after), filtered
by entity type, organisation, actor, action and time, through vardeild.audit.service."""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import HTMLResponse, Response

from vardeild.access.model import Action, authorize
from vardeild.audit.model import AuditFilter
from vardeild.audit.service import list_entries
from vardeild.members.visibility import audit_entry_for
from vardeild.web.pages.console_base import (
    Filter,
    PageNo,
    member_names,
    pager,
    parse_day,
    parse_id,
    principal_of,
    render,
    require_cert,
    signed_in,
    with_total,
)
from vardeild.web.pages.context import PageDep, page_router

router = page_router()


def shown(state: dict[str, Any] | None) -> str:
    """Return an entry's before or after state as short JSON text ('' for none)."""
    if state is None:
        return ""
    return json.dumps(state, ensure_ascii=False, sort_keys=True, default=str)


@router.get("/console/audit", response_class=HTMLResponse)
def audit(
    page: PageDep,
    entity_type: Filter = "",
    organisation: Filter = "",
    actor: Filter = "",
    action: Filter = "",
    since: Filter = "",
    until: Filter = "",
    number: PageNo = 1,
) -> Response:
    """Audit entries, newest first, filtered."""
    if (away := signed_in(page)) is not None:
        return away
    principal = require_cert(principal_of(page))
    authorize(principal, Action.READ_AUDIT)
    filters = {
        "entity_type": entity_type.strip(), "organisation": organisation.strip(),
        "actor": actor.strip(), "action": action.strip(), "since": since, "until": until,
    }  # fmt: skip
    chosen = AuditFilter(
        entity_type=filters["entity_type"] or None,
        organisation_id=parse_id(organisation, "organisation"),
        actor=filters["actor"] or None,
        action=filters["action"] or None,
        since=parse_day(since, "since"),
        until=parse_day(until, "until", end=True),
    )
    paging = pager(number, filters)
    entries, total = list_entries(
        page.db, filters=chosen, limit=paging.per_page, offset=paging.offset
    )
    return render(
        page, "console/audit.html", title=page.t("console.audit.title"),
        entries=[audit_entry_for(principal, entry) for entry in entries], filters=filters,
        names=member_names(page, principal), shown=shown, pager=with_total(paging, total),
    )  # fmt: skip
