"""The CERT's pages for reports that came in through the public report form: the list, one
report (decrypted for CERT analysts and admins, the reading audited) and what was done with
it (new -> triaged or rejected, audited).

Members get 404 for a report, as for one that does not exist, and 403 for the list; CERT
read-only sees the list but opens no report (intake.service says why).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Query
from fastapi.responses import HTMLResponse, Response

from vardeild.access.model import Action, may
from vardeild.core.errors import ValidationFailed
from vardeild.intake import service as intake
from vardeild.intake.model import TRANSITIONS, ReportStatus, ReportUnreadable, intake_key
from vardeild.web.pages import i18n
from vardeild.web.pages.context import PageDep, page_router
from vardeild.web.pages.nav import Audience, NavLink, add_link

router = page_router()

PAGE_SIZE = 50

add_link(NavLink("/console/reports", "reports.title", Audience.CERT, order=60))
i18n.add_texts(
    {
        "reports.title": {"nb": "Innmeldte hendelser", "en": "Incident reports"},
        "reports.reference": {"nb": "Referanse", "en": "Reference"},
        "reports.received": {"nb": "Mottatt", "en": "Received"},
        "reports.status": {"nb": "Status", "en": "Status"},
        "reports.size": {"nb": "Størrelse (byte)", "en": "Size (bytes)"},
        "reports.none": {"nb": "Ingen meldinger.", "en": "No reports."},
        "reports.all": {"nb": "Alle", "en": "All"},
        "reports.total": {"nb": "Antall", "en": "Total"},
        "reports.status.new": {"nb": "Ny", "en": "New"},
        "reports.status.triaged": {"nb": "Vurdert", "en": "Triaged"},
        "reports.status.rejected": {"nb": "Avvist", "en": "Rejected"},
        "reports.reporter": {"nb": "Melder", "en": "Reporter"},
        "reports.name": {"nb": "Navn", "en": "Name"},
        "reports.email": {"nb": "E-post", "en": "E-mail"},
        "reports.phone": {"nb": "Telefon", "en": "Telephone"},
        "reports.organisation": {"nb": "Organisasjon", "en": "Organisation"},
        "reports.what_happened": {"nb": "Hva skjedde", "en": "What happened"},
        "reports.happened_at": {"nb": "Når", "en": "When"},
        "reports.affected": {"nb": "Berørte systemer", "en": "Affected systems"},
        "reports.tlp": {"nb": "TLP ønsket av melder", "en": "TLP the reporter asks for"},
        "reports.language": {"nb": "Skjemaets språk", "en": "Language of the form"},
        "reports.changed": {"nb": "Status endret", "en": "Status changed"},
        "reports.set_status": {"nb": "Sett status", "en": "Set the status"},
        "reports.audited": {
            "nb": "At du åpnet denne meldingen, er ført i revisjonsloggen.",
            "en": "That you opened this report is recorded in the audit log.",
        },
        "reports.read_only": {
            "nb": "Med lesetilgang ser du listen, men åpner ikke meldingene.",
            "en": "With read-only access you see the list but do not open the reports.",
        },
        "reports.previous": {"nb": "Forrige side", "en": "Previous page"},
        "reports.next": {"nb": "Neste side", "en": "Next page"},
    }
)

StatusQuery = Annotated[ReportStatus | None, Query()]


@router.get("/console/reports", response_class=HTMLResponse)
def report_list(page: PageDep, status: StatusQuery = None, page_no: int = 0) -> Response:
    """The reports, newest first: reference, when, status and size (nothing the reporter
    said). CERT staff only."""
    if page.user is None:
        return page.to_signin()
    principal = page.user.principal
    offset = max(page_no, 0) * PAGE_SIZE
    reports, total = intake.list_reports(
        page.db, principal, status=status, limit=PAGE_SIZE, offset=offset
    )
    return page.render(
        "intake/list.html",
        title=page.t("reports.title"),
        reports=reports,
        total=total,
        chosen=status.value if status else "",
        statuses=[s.value for s in ReportStatus],
        page_no=max(page_no, 0),
        more=offset + len(reports) < total,
        may_open=may(principal, Action.DECIDE),
    )


@router.get("/console/reports/{report_id}", response_class=HTMLResponse)
def report_detail(page: PageDep, report_id: int) -> Response:
    """One report, decrypted (the reading is audited), with its status form."""
    if page.user is None:
        return page.to_signin()
    try:
        report = intake.read_report(
            page.db, page.user.principal, report_id, clock=page.platform.clock,
            key=intake_key(page.state.key),
        )  # fmt: skip
    except ReportUnreadable as exc:
        return page.render(
            "portal/message.html", status=500, title=page.t("reports.title"), message=str(exc)
        )
    current = report.summary.status
    return page.render(
        "intake/detail.html",
        title=report.summary.reference,
        report=report,
        next_statuses=sorted(s.value for s in TRANSITIONS[current]),
    )


@router.post("/console/reports/{report_id}/status")
def report_status(
    page: PageDep, report_id: int, status: Annotated[str, Form(max_length=16)] = ""
) -> Response:
    """Move the report to another status (audited); back to the report."""
    if page.user is None:
        return page.to_signin()
    try:
        wanted = ReportStatus(status)
    except ValueError:
        raise ValidationFailed.one("report", "status", f"{status!r} is not a status") from None
    intake.change_status(page.db, page.user.principal, report_id, wanted, clock=page.platform.clock)
    return page.redirect(f"/console/reports/{report_id}")
