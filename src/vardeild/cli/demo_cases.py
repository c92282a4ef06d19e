"""The demo's incident work, so the console and the members' pages have something to show: a
significant incident coordinated across the first two demo members (shared and internal journal
entries, a task, the regulatory clocks running), a case escalated from one of the first member's
alerts, and a report sent through the public form. Made once: a second run finds them."""

from __future__ import annotations

from datetime import timedelta

from vardeild.access.model import Principal
from vardeild.core.tlp import Tlp
from vardeild.incidents import service as cases
from vardeild.incidents.journal import add_journal_entry
from vardeild.incidents.model import Impact, InvolvedRole, Visibility
from vardeild.incidents.tasks import add_task
from vardeild.intake.model import ReportContent, intake_key
from vardeild.intake.service import list_reports, submit_report
from vardeild.members.demo import demo_constituency
from vardeild.members.service import find_organisation_id
from vardeild.monitoring.alerts import AlertQuery, list_alerts
from vardeild.monitoring.model import Severity
from vardeild.platform import Platform
from vardeild.web.pages.csrf import load_key

TITLE = "Løsepengevirus hos leverandør av journalsystem"


def seed_demo_cases(platform: Platform, principal: Principal) -> int:
    """Make the demo's cases and report unless they exist; return how many cases were made."""
    clock = platform.clock
    with platform.session() as session:
        existing, _ = cases.list_cases(session, principal, query=cases.CaseQuery(text=TITLE))
        if existing:
            return 0
        first, second = (
            find_organisation_id(session, str(org["org_number"])) for org in demo_constituency()[:2]
        )
        if first is None or second is None:
            return 0  # the constituency is seeded first; without it there is no one to involve
        case = cases.create_case(
            session, principal, clock=clock, title=TITLE,
            description="Leverandøren melder om kryptert driftsmiljø; to medlemmer bruker "
            "den berørte tjenesten. Vi samordner informasjon og tiltak.",
            classification_type="infected-system", severity=Severity.HIGH,
            impact=Impact.HIGH, tlp=Tlp.AMBER, significant=True,
            involve=[(first, InvolvedRole.AFFECTED), (second, InvolvedRole.AFFECTED)],
        )  # fmt: skip
        case_id = int(case["id"])
        add_journal_entry(
            session, principal, case_id, clock=clock, visibility=Visibility.SHARED,
            text="Koble fra integrasjonen mot leverandøren til videre beskjed, og se etter "
            "innlogginger fra leverandørens adresser de siste 14 dagene.",
        )  # fmt: skip
        add_journal_entry(
            session, principal, case_id, clock=clock, visibility=Visibility.INTERNAL,
            text="Internt: leverandøren har ikke bekreftet omfanget ennå; ikke del navn på "
            "andre kunder.",
        )  # fmt: skip
        add_task(
            session, principal, case_id, clock=clock, title="Innhent logger fra leverandøren",
            due_at=clock.now() + timedelta(hours=12),
        )  # fmt: skip
        made = 1
        alerts, _ = list_alerts(session, principal, query=AlertQuery(member_id=first), limit=1)
        if alerts:
            cases.escalate_alert(session, principal, alerts[0]["id"], clock=clock)
            made += 1
        reports, _ = list_reports(session, principal)
        if not reports:
            settings = platform.settings
            secret = settings.portal_secret_key
            key = load_key(secret.get_secret_value() if secret else None, settings.data_dir)
            submit_report(
                session, clock=clock, key=intake_key(key), client="127.0.0.1", language="nb",
                content=ReportContent(
                    name="Demo Innmelder", email="innmelder@demo.vardeild.example",
                    what_happened="Vi har mottatt e-post med lenke til en falsk innloggingsside "
                    "for helsenettet.", affected="https://helse-innlogging.example",
                ),
            )  # fmt: skip
    return made
