"""A member's vulnerability overview as a report: the portal page (HTML), the PDF made from the
very same HTML by WeasyPrint, and a CSV of the findings.

The trend chart is an inline SVG (vardeild.core.charts: open findings per priority, per week),
so the PDF needs no script and no network. The report says the member's TLP label at the top,
and the CSV escapes any cell a spreadsheet would read as a formula.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.orm import Session

from vardeild.access.model import Principal
from vardeild.core.charts import Series, line_chart
from vardeild.core.clock import as_utc
from vardeild.core.spreadsheet import guard_formula
from vardeild.exposure.model import FindingStatus, Priority
from vardeild.exposure.service import finding_dict, finding_rows, list_exposures
from vardeild.members import service as members

_COLOURS = {"P1": "#b00020", "P2": "#d35400", "P3": "#c9a400", "P4": "#7f8c8d"}

TEXT: dict[str, dict[str, Any]] = {
    "en": {
        "title": "Vulnerability overview",
        "generated": "Made",
        "criticality": "Criticality",
        "summary": "Summary",
        "overdue": "Overdue",
        "exposures": "Services",
        "summary_text": "{open} open findings; {fixed} fixed; {accepted} accepted as risks.",
        "trend": "Open findings over time",
        "top": "Top risks",
        "todo": "What to do",
        "all": "All findings",
        "inventory": "Internet-facing services",
        "priority": "Priority",
        "where": "Where",
        "product": "Product",
        "why": "Why",
        "due": "Fix by",
        "status": "Status",
        "service": "Service",
        "seen": "Last seen",
        "expires": "certificate expires",
        "weak": "weak protocols",
        "yes": "yes",
        "none": "None.",
        "statuses": {
            "open": "open",
            "fixed": "fixed",
            "accepted_risk": "accepted risk",
            "false_positive": "false positive",
        },
        "advice": [
            "Fix P1 findings first: they are known to be exploited, or very likely to be. "
            "Patch or take the service off the Internet within days.",
            "Remote access, administration and database services should not face the Internet: "
            "put them behind a VPN or restrict them to known addresses.",
            "Update the products listed to versions their vendors support, then tell us; the next "
            "scan closes what it no longer sees.",
            "If a finding is wrong (a backported fix, say) or a risk you accept, tell us why and "
            "until when; we record it.",
        ],
        "footer": "Made by the sector CERT from its own scans and imported reports.",
        "chart_weeks": "week",
    },
    "nb": {
        "title": "Sårbarhetsoversikt",
        "generated": "Laget",
        "criticality": "Kritikalitet",
        "summary": "Sammendrag",
        "overdue": "Over frist",
        "exposures": "Tjenester",
        "summary_text": "{open} åpne funn; {fixed} utbedret; {accepted} akseptert som risiko.",
        "trend": "Åpne funn over tid",
        "top": "Største risikoer",
        "todo": "Hva dere bør gjøre",
        "all": "Alle funn",
        "inventory": "Tjenester eksponert mot Internett",
        "priority": "Prioritet",
        "where": "Hvor",
        "product": "Produkt",
        "why": "Hvorfor",
        "due": "Frist",
        "status": "Status",
        "service": "Tjeneste",
        "seen": "Sist sett",
        "expires": "sertifikat utløper",
        "weak": "svake protokoller",
        "yes": "ja",
        "none": "Ingen.",
        "statuses": {
            "open": "åpen",
            "fixed": "utbedret",
            "accepted_risk": "akseptert risiko",
            "false_positive": "falsk positiv",
        },
        "advice": [
            "Rett P1-funn først: de utnyttes allerede, eller er svært sannsynlige å bli utnyttet. "
            "Oppdater eller ta tjenesten av Internett innen få dager.",
            "Fjerntilgang, administrasjon og databaser bør ikke være åpne mot Internett: legg dem "
            "bak VPN eller begrens dem til kjente adresser.",
            "Oppdater produktene i listen til versjoner leverandøren støtter, og si fra til oss; "
            "neste skanning lukker det den ikke lenger ser.",
            "Er et funn feil (f.eks. en tilbakeført rettelse) eller en risiko dere aksepterer, si "
            "hvorfor og til når; vi registrerer det.",
        ],
        "footer": "Laget av sektor-CERT-et fra egne skanninger og importerte rapporter.",
        "chart_weeks": "uke",
    },
}


@dataclass(frozen=True)
class ReportData:
    """Everything the report template shows."""

    context: dict[str, Any]
    findings: list[dict[str, Any]]


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("vardeild.exposure", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def trend_points(
    findings: list[dict[str, Any]], *, now: datetime, weeks: int = 12
) -> list[tuple[datetime, dict[str, int]]]:
    """Return, for each of the last weeks (oldest first, ending now), how many findings were
    open then, per priority (a finding is open from first seen until it was closed)."""
    points = []
    for back in range(weeks - 1, -1, -1):
        at = now - timedelta(weeks=back)
        counts = {p.value: 0 for p in Priority}
        for f in findings:
            first = as_utc(datetime.fromisoformat(f["first_seen"]))
            closed = as_utc(datetime.fromisoformat(f["closed_at"])) if f["closed_at"] else None
            if first <= at and (closed is None or closed > at):
                counts[f["priority"]] += 1
        points.append((at, counts))
    return points


def trend_svg(points: list[tuple[datetime, dict[str, int]]], *, week_word: str) -> str:
    """Return an inline SVG line chart of open findings per priority over the points."""
    labels = [f"{week_word} {at.isocalendar()[1]}" for at, _ in points]
    series = [
        Series(
            priority.value,
            [counts[priority.value] for _, counts in points],
            _COLOURS[priority.value],
            f"trend-{priority.value}",
        )
        for priority in Priority
    ]
    return line_chart(labels, series)


def build_report(
    session: Session,
    principal: Principal,
    member_id: int,
    *,
    now: datetime,
    language: str = "en",
    tlp: str = "AMBER+STRICT",
) -> ReportData:
    """Return the member's report data; NotFound for another member's (or an unknown one)."""
    organisation = members.get_organisation_or_raise(session, principal, member_id)
    text = TEXT["nb" if language == "nb" else "en"]
    pairs = finding_rows(session, principal, member_id)
    findings = [finding_dict(f, e) for f, e in pairs]
    open_findings = [f for f in findings if f["status"] == FindingStatus.OPEN.value]
    counts = {p.value: sum(1 for f in open_findings if f["priority"] == p.value) for p in Priority}
    exposures = list_exposures(session, principal, member_id)
    context = {
        "lang": "nb" if language == "nb" else "en",
        "t": text,
        "tlp": tlp,
        "member": {"name": organisation["name"], "criticality": organisation.get("criticality")},
        "generated": now.strftime("%Y-%m-%d %H:%M UTC"),
        "priorities": [p.value for p in Priority],
        "counts": counts,
        "overdue": sum(1 for f in open_findings if f["due_on"] < now.date().isoformat()),
        "exposure_count": len(exposures),
        "open_count": len(open_findings),
        "fixed_count": sum(1 for f in findings if f["status"] == FindingStatus.FIXED.value),
        "accepted_count": sum(
            1 for f in findings if f["status"] == FindingStatus.ACCEPTED_RISK.value
        ),
        "chart": trend_svg(trend_points(findings, now=now), week_word=text["chart_weeks"]),
        "top": open_findings[:10],
        "findings": findings,
        "exposures": exposures,
    }
    return ReportData(context, findings)


def render_html(data: ReportData) -> str:
    """Return the report as one HTML page (the portal's page, and the PDF's source)."""
    return _environment().get_template("report.html").render(**data.context)


def render_pdf(data: ReportData) -> bytes:
    """Return the report as PDF, made by WeasyPrint from the same HTML as the page."""
    # Imported here: it loads Pango, which only reports need. WeasyPrint ships no type hints.
    from weasyprint import HTML  # type: ignore[import-untyped]

    pdf: bytes = HTML(string=render_html(data)).write_pdf()
    return pdf


def safe_cell(value: Any) -> str:
    """Return a CSV cell of value (empty for None) that a spreadsheet will not run."""
    return guard_formula("" if value is None else str(value))


CSV_FIELDS = (
    "priority", "cve_id", "address", "port", "transport", "product", "version", "cvss_score",
    "epss", "kev", "kev_ransomware", "status", "status_reason", "due_on", "first_seen",
    "last_seen", "priority_basis", "reason", "summary",
)  # fmt: skip


def render_csv(findings: list[dict[str, Any]]) -> str:
    """Return the findings as CSV, formula-escaped."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_FIELDS)
    for finding in findings:
        writer.writerow([safe_cell(finding.get(name)) for name in CSV_FIELDS])
    return out.getvalue()
