"""Incident cases in the portal: the CERT's case list and case pages (journal, tasks,
involved organisations, coordinated updates, deadlines), the members' view of the cases
they are involved in is in `case_pages_member`.

Console pages (`/console/cases…`) are for CERT staff: a member asking for one of its own cases
there gets 403, for another's 404 (the case is looked up as the member first, as the API
does). Members read `/portal/cases…`: only the cases their organisation is in, only shared
journal entries below TLP:RED, their own involvement and the updates sent to them; CERT staff
reading those pages see what the members see. Every change goes through the incident
services, which check permission and audit it.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import Form, Query
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData, UploadFile

from vardeild.access.model import Action, Principal, may
from vardeild.accounts import service as accounts
from vardeild.core import charts
from vardeild.core.errors import NotFound, ValidationFailed
from vardeild.core.taxonomy import TAXONOMY, TAXONOMY_OF_TYPE
from vardeild.core.tlp import Tlp
from vardeild.incidents import (
    attachments,
    coordination,
    journal,
    links,
    service,
    stats,
    tasks,
    workflow,
)
from vardeild.incidents.config import deadline_policy, evidence_store
from vardeild.incidents.model import (
    CaseStatus,
    EntrySource,
    InvolvedRole,
    InvolvedStatus,
    LinkKind,
    Pap,
    Visibility,
    allowed_moves,
)
from vardeild.monitoring.model import Severity
from vardeild.notify.config import config_from_settings as notify_config
from vardeild.platform import Platform
from vardeild.web.pages import case_texts  # noqa: F401 - registers the pages' words
from vardeild.web.pages.console_base import (
    PageNo,
    back,
    pager,
    principal_of,
    render,
    require_cert,
    signed_in,
    with_total,
)
from vardeild.web.pages.context import (
    Page,
    PageDep,
    UploadTooLarge,
    page_router,
    read_uploaded_form,
    takes_one_file,
)
from vardeild.web.pages.nav import Audience, NavLink, add_link

router = page_router()

add_link(NavLink("/console/cases", "cases.nav", Audience.CERT, order=55))
add_link(NavLink("/portal/cases", "cases.nav_member", Audience.MEMBER, order=45))

Short = Annotated[str, Form(max_length=1000)]
Long = Annotated[str, Form(max_length=20_000)]
SEVERITIES = [s.name.lower() for s in Severity]
TLPS = [t.value for t in Tlp]


def _staff(page: Page, case_id: int | None = None) -> Principal:
    """Return the CERT principal of the page; a member gets 404 for a case it is not in (as
    over the API), else 403."""
    principal = principal_of(page)
    if case_id is not None and not principal.is_cert:
        service.get_case_or_raise(page.db, principal, case_id)
    return require_cert(principal)


def _choice(value: str, allowed: list[str], field: str) -> str:
    if value not in allowed:
        raise ValidationFailed.one("form", field, f"{value!r}: one of {', '.join(allowed)}")
    return value


def _tlp(value: str, field: str = "tlp") -> Tlp | None:
    if not value:
        return None
    try:
        return Tlp.parse(value)
    except ValueError as exc:
        raise ValidationFailed.one("form", field, str(exc)) from exc


def _id(value: str, field: str) -> int:
    text = value.strip()
    if not text.isdigit() or not 0 < int(text) < 2**31:
        raise ValidationFailed.one("form", field, f"{value!r} is not an id")
    return int(text)


# --- the CERT's list -----------------------------------------------------------------------


@router.get("/console/cases", response_class=HTMLResponse)
def case_list(
    page: PageDep,
    status: Annotated[str, Query(max_length=20)] = "",
    open_only: Annotated[str, Query(alias="open", max_length=3)] = "",
    overdue: Annotated[str, Query(max_length=3)] = "",
    q: Annotated[str, Query(max_length=200)] = "",
    number: PageNo = 1,
) -> Response:
    """The cases, newest first, with filters; overdue deadlines flagged."""
    if (away := signed_in(page)) is not None:
        return away
    principal = require_cert(principal_of(page))
    chosen = (
        CaseStatus(_choice(status, [s.value for s in CaseStatus], "status")) if status else None
    )
    query = service.CaseQuery(status=chosen, open_only=bool(open_only), text=q or None)
    late = service.overdue_case_ids(
        page.db, principal, policy=deadline_policy(page.platform.settings),
        now=page.platform.clock.now(),
    )  # fmt: skip
    paging = pager(number, {"status": status, "open": open_only, "overdue": overdue, "q": q})
    if overdue:
        items, total = service.list_cases(page.db, principal, query=query, limit=100_000)
        items = [i for i in items if i["id"] in late]
        total = len(items)
        items = items[paging.offset : paging.offset + paging.per_page]
    else:
        items, total = service.list_cases(
            page.db, principal, query=query, limit=paging.per_page, offset=paging.offset
        )
    return render(
        page, "cases/list.html", title=page.t("cases.title"), cases=items, late=late,
        pager=with_total(paging, total), statuses=[s.value for s in CaseStatus], chosen=status,
        open_only=open_only, overdue=overdue, q=q, may_edit=may(principal, Action.EDIT),
        types=sorted(TAXONOMY_OF_TYPE), severities=SEVERITIES, tlps=TLPS,
    )  # fmt: skip


@router.post("/console/cases", response_class=HTMLResponse)
def case_create(
    page: PageDep,
    title: Annotated[str, Form(max_length=300)] = "",
    description: Long = "",
    classification_type: Annotated[str, Form(max_length=64)] = "undetermined",
    severity: Annotated[str, Form(max_length=10)] = "medium",
    tlp: Annotated[str, Form(max_length=20)] = "AMBER",
    significant: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    """Open a case; to its page."""
    if (away := signed_in(page)) is not None:
        return away
    principal = _staff(page)
    made = service.create_case(
        page.db, principal, clock=page.platform.clock, title=title, description=description,
        classification_type=classification_type,
        severity=Severity[_choice(severity, SEVERITIES, "severity").upper()],
        tlp=_tlp(tlp) or Tlp.AMBER, source=EntrySource.WEB, significant=bool(significant),
    )  # fmt: skip
    return page.redirect(f"/console/cases/{made['id']}")


# --- the CERT's case page ------------------------------------------------------------------


@router.get("/console/cases/stats", response_class=HTMLResponse)
def case_stats(
    page: PageDep,
    days: Annotated[int, Query(ge=1, le=3660)] = 365,
    period: stats.Period = stats.Period.MONTH,
) -> Response:
    """Cases per period by classification, sector and member; times to acknowledge, contain
    and close; charts drawn on the server."""
    if (away := signed_in(page)) is not None:
        return away
    principal = require_cert(principal_of(page))
    now = page.platform.clock.now()
    figures = stats.case_stats(page.db, principal, since=now - timedelta(days=days), period=period)
    labels = figures["periods"]
    taxonomies = sorted({i["taxonomy"] for i in figures["by_classification"]})
    counts = {(i["period"], i["taxonomy"]): i["cases"] for i in figures["by_classification"]}
    chart = charts.bar_chart(
        labels,
        [
            charts.Series(name, [counts.get((p, name), 0) for p in labels], charts.colour_for(n))
            for n, name in enumerate(taxonomies)
        ],
        label=page.t("cases.by_classification"),
    )
    return render(
        page, "cases/stats.html", title=page.t("cases.stats_title"), figures=figures,
        chart=chart, days=days, period=period.value, periods=[p.value for p in stats.Period],
    )  # fmt: skip


@router.get("/console/cases/stats.csv")
def case_stats_csv(
    page: PageDep,
    days: Annotated[int, Query(ge=1, le=3660)] = 365,
    period: stats.Period = stats.Period.MONTH,
) -> Response:
    """The statistics as CSV."""
    if (away := signed_in(page)) is not None:
        return away
    principal = require_cert(principal_of(page))
    now = page.platform.clock.now()
    figures = stats.case_stats(page.db, principal, since=now - timedelta(days=days), period=period)
    return page.finish(
        Response(
            stats.stats_csv(figures),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="vardeild-case-stats.csv"'},
        )
    )


@router.get("/console/cases/{case_id}", response_class=HTMLResponse)
def case_page(
    page: PageDep, case_id: int, done: Annotated[str, Query(max_length=40)] = ""
) -> Response:
    """One case: facts, deadlines, journal (internal and shared), tasks, links, observables,
    involved organisations with who acknowledged what, updates, evidence, and the forms."""
    if (away := signed_in(page)) is not None:
        return away
    principal = _staff(page, case_id)
    now = page.platform.clock.now()
    case = service.get_case_or_raise(page.db, principal, case_id)
    assignee = (
        accounts.get_user(page.db, case["assignee_user_id"]) if case["assignee_user_id"] else None
    )
    return render(
        page, "cases/case.html", title=f"{case['reference']} {case['title']}", case=case,
        assignee=assignee,
        deadlines=service.case_deadlines(
            page.db, principal, case_id, policy=deadline_policy(page.platform.settings), now=now
        ),
        entries=journal.list_journal(page.db, principal, case_id),
        tasks=tasks.list_tasks(page.db, principal, case_id, now=now),
        links=links.list_links(page.db, principal, case_id),
        observables=links.list_observables(page.db, principal, case_id),
        organisations=coordination.list_involved(page.db, principal, case_id),
        updates=coordination.list_updates(page.db, principal, case_id),
        files=attachments.list_attachments(page.db, principal, case_id),
        evidence_max=page.platform.settings.case_attachment_max_bytes,
        moves=[m.value for m in allowed_moves(principal.role, CaseStatus(case["status"]))],
        may_edit=may(principal, Action.EDIT), done=done, types=sorted(TAXONOMY_OF_TYPE),
        taxonomy=TAXONOMY, severities=SEVERITIES, tlps=TLPS, paps=[p.value for p in Pap],
        roles=[r.value for r in InvolvedRole], org_statuses=[s.value for s in InvolvedStatus],
        link_kinds=[k.value for k in LinkKind if k is not LinkKind.ADVISORY],
    )  # fmt: skip


def _edit(page: Page, case_id: int) -> tuple[Principal, Any] | Response:
    if (away := signed_in(page)) is not None:
        return away
    return _staff(page, case_id), page.platform.clock


@router.post("/console/cases/{case_id}/status", response_class=HTMLResponse)
def case_status(
    page: PageDep, case_id: int, status: Annotated[str, Form(max_length=20)] = "", note: Short = ""
) -> Response:
    """Move the case in its workflow."""
    if isinstance(got := _edit(page, case_id), Response):
        return got
    principal, clock = got
    wanted = CaseStatus(_choice(status, [s.value for s in CaseStatus], "status"))
    workflow.set_case_status(page.db, principal, case_id, wanted, clock=clock, note=note)
    return back(page, f"/console/cases/{case_id}", "status")


@router.post("/console/cases/{case_id}/assign", response_class=HTMLResponse)
def case_assign(
    page: PageDep, case_id: int, user: Annotated[str, Form(max_length=320)] = ""
) -> Response:
    """Give the case to a CERT admin or analyst (by id or e-mail address), or to nobody."""
    if isinstance(got := _edit(page, case_id), Response):
        return got
    principal, clock = got
    user_id = None
    if user.strip():
        try:
            user_id = accounts.find_user_id(page.db, principal, user.strip())
        except NotFound as exc:
            raise ValidationFailed.one("form", "user", str(exc)) from None
    service.assign_case(page.db, principal, case_id, user_id, clock=clock)
    return back(page, f"/console/cases/{case_id}", "assign")


@router.post("/console/cases/{case_id}/facts", response_class=HTMLResponse)
def case_facts(
    page: PageDep,
    case_id: int,
    classification_type: Annotated[str, Form(max_length=64)] = "",
    severity: Annotated[str, Form(max_length=10)] = "",
    tlp: Annotated[str, Form(max_length=20)] = "",
    pap: Annotated[str, Form(max_length=10)] = "",
    significant: Annotated[str, Form(max_length=3)] = "",
    contained: Annotated[str, Form(max_length=3)] = "",
    early_warning: Annotated[str, Form(max_length=3)] = "",
    notification: Annotated[str, Form(max_length=3)] = "",
    final_report: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    """Change the classification, severity, TLP, PAP, significance; record containment and
    the regulatory reports as made now."""
    if isinstance(got := _edit(page, case_id), Response):
        return got
    principal, clock = got
    changes: dict[str, Any] = {
        "classification_type": classification_type or None,
        "severity": _choice(severity, SEVERITIES, "severity") if severity else None,
        "tlp": tlp or None,
        "pap": pap or None,
        "significant": bool(significant),
        "contained": bool(contained) or None,
        "early_warning": bool(early_warning) or None,
        "notification": bool(notification) or None,
        "final_report": bool(final_report) or None,
    }
    service.update_case(page.db, principal, case_id, changes, clock=clock)
    return back(page, f"/console/cases/{case_id}", "facts")


@router.post("/console/cases/{case_id}/note", response_class=HTMLResponse)
def case_note(
    page: PageDep,
    case_id: int,
    text: Long = "",
    visibility: Annotated[str, Form(max_length=10)] = "internal",
    tlp: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Write in the journal (internal unless shared)."""
    if isinstance(got := _edit(page, case_id), Response):
        return got
    principal, clock = got
    chosen = Visibility(_choice(visibility, [v.value for v in Visibility], "visibility"))
    journal.add_journal_entry(
        page.db, principal, case_id, clock=clock, text=text, visibility=chosen,
        source=EntrySource.WEB, tlp=_tlp(tlp),
    )  # fmt: skip
    return back(page, f"/console/cases/{case_id}", "note")


@router.post("/console/cases/{case_id}/tasks", response_class=HTMLResponse)
def case_task(
    page: PageDep,
    case_id: int,
    title: Annotated[str, Form(max_length=300)] = "",
    owner: Annotated[str, Form(max_length=200)] = "",
    due: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Add a task (due at the end of the day given, UTC)."""
    if isinstance(got := _edit(page, case_id), Response):
        return got
    principal, clock = got
    due_at = None
    if due:
        try:
            due_at = datetime.combine(datetime.fromisoformat(due).date(), time(23, 59), tzinfo=UTC)
        except ValueError:
            raise ValidationFailed.one("form", "due", f"{due!r} is not a date") from None
    tasks.add_task(
        page.db, principal, case_id, clock=clock, title=title, owner=owner, due_at=due_at
    )
    return back(page, f"/console/cases/{case_id}", "task")


@router.post("/console/cases/{case_id}/tasks/{task_id}/done", response_class=HTMLResponse)
def case_task_done(
    page: PageDep, case_id: int, task_id: int, done: Annotated[str, Form(max_length=3)] = "1"
) -> Response:
    """Mark a task done (done=1) or not done (done=0)."""
    if isinstance(got := _edit(page, case_id), Response):
        return got
    principal, clock = got
    tasks.set_task_done(page.db, principal, case_id, task_id, clock=clock, done=done == "1")
    return back(page, f"/console/cases/{case_id}", "task")


@router.post("/console/cases/{case_id}/links", response_class=HTMLResponse)
def case_link(
    page: PageDep,
    case_id: int,
    kind: Annotated[str, Form(max_length=20)] = "",
    target_id: Annotated[str, Form(max_length=12)] = "",
    note: Short = "",
) -> Response:
    """Link an alert, event, indicator or finding."""
    if isinstance(got := _edit(page, case_id), Response):
        return got
    principal, clock = got
    chosen = LinkKind(_choice(kind, [k.value for k in LinkKind], "kind"))
    links.add_link(
        page.db, principal, case_id, clock=clock, kind=chosen,
        target_id=_id(target_id, "target_id"), note=note,
    )  # fmt: skip
    return back(page, f"/console/cases/{case_id}", "link")


@router.post("/console/cases/{case_id}/observables/{observable_id}", response_class=HTMLResponse)
def case_observable(
    page: PageDep,
    case_id: int,
    observable_id: int,
    decision: Annotated[str, Form(max_length=10)] = "",
    tlp: Annotated[str, Form(max_length=20)] = "AMBER",
) -> Response:
    """Promote a candidate observable to an indicator, or dismiss it."""
    if isinstance(got := _edit(page, case_id), Response):
        return got
    principal, clock = got
    choice = _choice(decision, ["promote", "dismiss"], "decision")
    links.decide_observable(
        page.db, principal, case_id, observable_id, clock=clock, promote=choice == "promote",
        tlp=_tlp(tlp) or Tlp.AMBER,
    )  # fmt: skip
    return back(page, f"/console/cases/{case_id}", "observable")


@router.post("/console/cases/{case_id}/organisations", response_class=HTMLResponse)
def case_involve(
    page: PageDep,
    case_id: int,
    organisation_id: Annotated[str, Form(max_length=12)] = "",
    role: Annotated[str, Form(max_length=20)] = "affected",
    contacts: Short = "",
) -> Response:
    """Involve an organisation in a role."""
    if isinstance(got := _edit(page, case_id), Response):
        return got
    principal, clock = got
    coordination.involve_organisation(
        page.db, principal, case_id, _id(organisation_id, "organisation_id"),
        InvolvedRole(_choice(role, [r.value for r in InvolvedRole], "role")), clock=clock,
        contacts=contacts,
    )  # fmt: skip
    return back(page, f"/console/cases/{case_id}", "involve")


@router.post(
    "/console/cases/{case_id}/organisations/{organisation_id}", response_class=HTMLResponse
)
def case_involved_status(
    page: PageDep,
    case_id: int,
    organisation_id: int,
    status: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Set an involved organisation's status."""
    if isinstance(got := _edit(page, case_id), Response):
        return got
    principal, clock = got
    chosen = InvolvedStatus(_choice(status, [s.value for s in InvolvedStatus], "status"))
    coordination.update_involved(
        page.db, principal, case_id, organisation_id, clock=clock, status=chosen
    )
    return back(page, f"/console/cases/{case_id}", "involved")


@router.post("/console/cases/{case_id}/updates", response_class=HTMLResponse)
def case_update(
    page: PageDep,
    case_id: int,
    text: Long = "",
    title: Annotated[str, Form(max_length=300)] = "",
    tlp: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Send a coordinated update to every involved organisation."""
    if isinstance(got := _edit(page, case_id), Response):
        return got
    principal, clock = got
    coordination.send_update(
        page.db, principal, case_id, clock=clock, config=notify_config(page.platform.settings),
        text=text, title=title, tlp=_tlp(tlp),
    )  # fmt: skip
    return back(page, f"/console/cases/{case_id}", "update")


@router.post("/console/cases/{case_id}/merge", response_class=HTMLResponse)
def case_merge(
    page: PageDep, case_id: int, into: Annotated[str, Form(max_length=30)] = ""
) -> Response:
    """Merge this case into another; to the other."""
    if isinstance(got := _edit(page, case_id), Response):
        return got
    principal, clock = got
    target = service.find_case_by_reference(page.db, f"VARDEILD#{into.strip().split('#')[-1]}")
    if target is None:
        raise ValidationFailed.one("form", "into", f"no case {into!r}")
    made = workflow.merge_cases(page.db, principal, case_id, target, clock=clock)
    return back(page, f"/console/cases/{made['id']}", "merge")


@router.post("/console/cases/{case_id}/split", response_class=HTMLResponse)
def case_split(
    page: PageDep,
    case_id: int,
    title: Annotated[str, Form(max_length=300)] = "",
    entries: Short = "",
) -> Response:
    """Split the chosen journal entries off into a new case; to the new case."""
    if isinstance(got := _edit(page, case_id), Response):
        return got
    principal, clock = got
    ids = [_id(part, "entries") for part in entries.replace(" ", "").split(",") if part]
    made = workflow.split_case(
        page.db, principal, case_id, clock=clock, title=title, journal_ids=ids
    )
    return back(page, f"/console/cases/{made['id']}", "split")


# The route's own bound on the body lies above any case_attachment_max_bytes worth setting;
# the setting's bound (with room for the form's few fields) is checked from Content-Length by
# the CSRF check before the body is read (context.takes_one_file).
EVIDENCE_BODY_CEILING = 1 << 40
_FORM_ROOM = 64 * 1024


def _evidence_body_max(platform: Platform) -> int:
    return platform.settings.case_attachment_max_bytes + _FORM_ROOM


def _form_text(form: FormData, name: str, default: str, *, max_length: int = 20) -> str:
    value = form.get(name, default)
    if not isinstance(value, str) or len(value) > max_length:
        raise ValidationFailed.one("form", name, "is not a short text")
    return value


@router.post(
    "/console/cases/{case_id}/attachments",
    response_class=HTMLResponse,
    max_body_size=EVIDENCE_BODY_CEILING,
)
@takes_one_file(_evidence_body_max)
def case_upload(page: PageDep, case_id: int) -> Response:
    """Store one uploaded file as evidence on the case (CERT editors): internal unless shared,
    refused with a 413 page when larger than case_attachment_max_bytes. Who may upload is
    decided before a byte of the body is read: the signed-out are sent to sign in, members and
    read-only staff refused (a case not theirs: 404)."""
    if isinstance(got := _edit(page, case_id), Response):
        return got
    principal, clock = got
    service.require_editor(principal)
    form = read_uploaded_form(page)  # only now: the form, its file, its CSRF token
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise ValidationFailed.one("form", "file", "choose a file")
    visibility = _form_text(form, "visibility", "internal")
    chosen = Visibility(_choice(visibility, [v.value for v in Visibility], "visibility"))
    store = evidence_store(page.platform.settings)
    data = upload.file.read(store.max_bytes + 1)
    if len(data) > store.max_bytes:
        raise UploadTooLarge(store.max_bytes)
    attachments.add_attachment(
        page.db, principal, case_id, clock=clock, store=store, data=data,
        filename=upload.filename, content_type=upload.content_type or "application/octet-stream",
        visibility=chosen, tlp=_tlp(_form_text(form, "tlp", "")),
    )  # fmt: skip
    return back(page, f"/console/cases/{case_id}", "attachment")


@router.get("/console/cases/{case_id}/attachments/{attachment_id}")
def case_download(page: PageDep, case_id: int, attachment_id: int) -> Response:
    """Download evidence (always as a file, never shown by the browser)."""
    if (away := signed_in(page)) is not None:
        return away
    principal = _staff(page, case_id)
    return download_evidence(page, principal, case_id, attachment_id)


def download_evidence(
    page: Page, principal: Principal, case_id: int, attachment_id: int
) -> Response:
    record, data = attachments.read_attachment(
        page.db, principal, case_id, attachment_id, store=evidence_store(page.platform.settings)
    )
    return page.finish(
        Response(
            data,
            media_type="application/octet-stream",
            headers={
                "Content-Disposition": f'attachment; filename="evidence-{record["id"]}"',
                "X-Content-SHA256": record["sha256"],
            },
        )
    )


@router.post("/console/alerts/{alert_id}/escalate", response_class=HTMLResponse)
def alert_escalate(
    page: PageDep, alert_id: int, title: Annotated[str, Form(max_length=300)] = ""
) -> Response:
    """Open a case for the alert in one step; to the new case."""
    if (away := signed_in(page)) is not None:
        return away
    principal = principal_of(page)
    made = service.escalate_alert(
        page.db, principal, alert_id, clock=page.platform.clock, title=title or None
    )
    return page.redirect(f"/console/cases/{made['id']}")
