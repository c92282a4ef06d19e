"""The world of the tenancy walks: two members, A and B, each with networks, ASNs, domains,
contacts, a change request, an audit trail, tokens, a sensor, an alert, a notice, a finding and
an indicator shared with B alone; every text field of B holds a canary string found nowhere
else. The walks (tests/integration/web/test_tenancy.py for the API by token,
test_page_tenancy.py for the pages by signed-in session) call every route as A's people with
B's ids and prove nothing of B is shown or changed. They build the world once per module and
backend and run each test in a savepoint of it (tests/support/shared_world.py).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from httpx2 import Response

from support.factories import CERT_ADMIN, member, org_data
from support.pgp_keys import shared_cert_home
from support.pipeline import eve_batch, eve_line, make_pipeline
from support.portal import PortalUser, make_user
from support.web import Headers, TokenMaker, bearer
from vardeild.access import service as access
from vardeild.access.model import Role
from vardeild.accounts import service as accounts
from vardeild.audit.model import AuditFilter
from vardeild.audit.service import list_entries
from vardeild.exposure import service as exposure_service
from vardeild.exposure.model import ObservedService, ParsedScan, ReportedWeakness, Source
from vardeild.incidents import attachments as case_attachments
from vardeild.incidents import coordination as case_coordination
from vardeild.incidents import journal as case_journal
from vardeild.incidents import links as case_links
from vardeild.incidents import service as case_service
from vardeild.incidents import tasks as case_tasks
from vardeild.incidents.config import evidence_store
from vardeild.incidents.model import InvolvedRole, LinkKind, Visibility
from vardeild.intake import service as intake
from vardeild.intake.model import ReportContent, intake_key
from vardeild.intel.audience import share_indicators
from vardeild.intel.model import IndicatorFilter
from vardeild.intel.service import list_indicators, load_indicators
from vardeild.members import changes, service
from vardeild.monitoring import sensors
from vardeild.monitoring.alert_actions import alert_history
from vardeild.monitoring.alerts import get_alert_or_raise
from vardeild.monitoring.model import Severity
from vardeild.notify import records as notify_records
from vardeild.notify import service as notify_service
from vardeild.notify.config import config_from_settings as notify_config
from vardeild.notify.model import NoticeKind
from vardeild.platform import Platform
from vardeild.web.pages.context import build_state

API = "/api/v1"
KINDS = ("networks", "asns", "domains", "contacts")


@dataclass(frozen=True)
class World:
    """Members A and B, what they own, and tokens to act with."""

    a: int
    b: int
    b_items: dict[str, int]  # kind -> id of one of B's items
    a_request: int
    b_request: int
    b_token: int
    b_sensor: int
    b_alert: int
    b_notice: int
    b_finding: int
    b_indicator: int  # an AMBER indicator named to B only
    a_ack: str  # the acknowledgement token of a notice of A's
    b_name: str
    b_org_number: str
    b_ip: str
    b_domain: str
    b_asn: int
    b_record: dict[str, Any]  # B in the interchange form, as an import file writes it
    canaries: tuple[str, ...]
    headers: dict[str, Headers]
    b_report: int = 0  # a public incident report by B's people (its text holds the canary)
    # B's incident case and its parts: case, entry (shared), internal (entry), task, link,
    # update, attachment (shared), observable; every text holds the canary.
    b_case: dict[str, int] = field(default_factory=dict)
    b_user: int = 0  # a portal user of B's (its name holds the canary), no password


def build_world(platform: Platform, token: TokenMaker, *, markup: str = "") -> World:
    """Return members A and B as the module docstring describes. With markup, every free-text
    field of B ends with it (the escaping tests store script payloads so); identifiers (domain
    names, addresses) keep the plain canary."""
    plain = f"Kanari{uuid.uuid4().hex[:10]}"
    canary = f"{plain}{markup}"
    low = plain.lower()
    b_data = org_data(
        name=f"{canary} Sykehus HF",
        short_name=f"{plain}S",
        sector="hospital_trust",
        notes=f"{canary} internt notat",
        networks=[
            {"cidr": "198.51.100.0/24", "description": f"{canary} klinikknett"},
            {"cidr": "2001:db8:b0b::/48", "exposure": "internal", "description": f"{canary} v6"},
        ],
        asns=[{"asn": 65123, "description": f"{canary} AS"}],
        domains=[{"name": f"{low}.example.no", "description": f"{canary} domene"}],
        contacts=[
            {
                "name": f"{canary} Kontaktperson",
                "email": f"soc@{low}.example.no",
                "phone": "+47 41 23 45 67",
                "roles": ["security"],
            },
            {"name": f"{canary} Vakt", "email": f"vakt@{low}.example.no", "roles": ["on_call"]},
        ],
    )
    platform.settings.pgp_home = shared_cert_home()  # the public key routes serve its key
    clock, inspector = platform.clock, platform.key_inspector
    with platform.session() as session:
        a = service.create_organisation(
            session, CERT_ADMIN, org_data(), clock=clock, key_inspector=inspector
        )
        b = service.create_organisation(
            session, CERT_ADMIN, b_data, clock=clock, key_inspector=inspector
        )
        service.update_organisation(
            session,
            CERT_ADMIN,
            b["id"],
            {"services": ["monitoring", "advisories"]},
            clock=clock,
            key_inspector=inspector,
        )
        b_request = changes.propose_change(
            session,
            member(b["id"]),
            b["id"],
            {"domains": {"add": [f"foreslatt-{low}.example.no"]}},
            comment=f"{canary} begrunnelse",
            clock=clock,
            key_inspector=inspector,
        )
        a_request = changes.propose_change(
            session,
            member(a["id"]),
            a["id"],
            {"domains": {"add": ["foreslatt-a.example.no"]}},
            comment="A ber om et nytt domene",
            clock=clock,
            key_inspector=inspector,
        )
        b_token = access.issue_token(
            session,
            CERT_ADMIN,
            clock=clock,
            name=f"{canary} integrasjon",
            role=Role.MEMBER_ADMIN,
            organisation_id=b["id"],
        )
        b_user = accounts.create_user(
            session, CERT_ADMIN, clock=clock, email=f"bruker@{low}.example.no",
            display_name=f"{canary} Bruker", role=Role.MEMBER_USER, organisation_id=b["id"],
        )  # fmt: skip
        b_sensor = sensors.create_sensor(
            session,
            CERT_ADMIN,
            clock=clock,
            name=f"{low}-ids",
            location=f"{canary} datasenter",
            organisation_id=b["id"],
            description=f"{canary} sensor",
        )
    with platform.session() as session:
        # An AMBER indicator named to B only: A must not see it by any way out.
        load_indicators(
            session,
            CERT_ADMIN,
            f"value,type,tlp,description\nc2.{low}.example.no,domain,AMBER,{canary} c2\n".encode(),
            clock=clock,
            fmt="csv",
            source="tenancy",
        )
        [shared], _ = list_indicators(session, CERT_ADMIN, IndicatorFilter(source="tenancy"))
        share_indicators(
            session, CERT_ADMIN, clock=clock, indicator_ids=[shared.id], organisation_ids=[b["id"]]
        )
    # An alert of B's, made the way alerts are made: an event at B's address through the pipeline.
    attack = eve_line(src="203.0.113.250", dst="198.51.100.77", signature=f"{canary} signatur")
    b_alert = make_pipeline(platform).ingest(eve_batch([attack])).alert_ids[0]
    b_notice, a_ack = _notices(platform, a["id"], b["id"], canary)
    b_finding = _exposure(platform, b["id"], canary)
    b_record = {key: b_data[key] for key in ("name", "org_number", "sector", "domains")}
    b_report = _report(platform, canary, low)
    canaries = (
        canary,
        low,
        b["org_number"],
        "198.51.100.",
        "2001:db8:b0b:",
        "65123",
        "41 23 45 67",
        b_token.info.prefix,
    )
    return World(
        a=a["id"],
        b=b["id"],
        b_items={kind: b[kind][0]["id"] for kind in KINDS},
        a_request=a_request.id,
        b_request=b_request.id,
        b_token=b_token.info.id,
        b_sensor=b_sensor.id,
        b_alert=b_alert,
        b_notice=b_notice,
        b_finding=b_finding,
        b_indicator=shared.id,
        a_ack=a_ack,
        b_name=b["name"],
        b_org_number=b["org_number"],
        b_ip="198.51.100.77",
        b_domain=f"{low}.example.no",
        b_asn=65123,
        b_record=b_record,
        canaries=canaries,
        headers={
            "a_admin": token(Role.MEMBER_ADMIN, a["id"]),
            "a_user": token(Role.MEMBER_USER, a["id"]),
            "cert_admin": token(Role.CERT_ADMIN),
            "cert_readonly": token(Role.CERT_READONLY),
            "b_admin": bearer(b_token.secret),
        },
        b_report=b_report,
        b_case=_case(platform, b["id"], b_finding, canary, low),
        b_user=b_user.id,
    )


def _notices(platform: Platform, a: int, b: int, canary: str) -> tuple[int, str]:
    """Queue a notice to B (its title a canary) and one to A; return B's id and A's
    acknowledgement token."""
    config = notify_config(platform.settings)
    made = []
    with platform.session() as session:
        for org, title in ((b, f"{canary} varsel"), (a, "Varsel til A")):
            row, _ = notify_service.queue_notice(
                session,
                CERT_ADMIN,
                member_id=org,
                kind=NoticeKind.MESSAGE,
                title=title,
                severity=Severity.HIGH,
                content={"details": {"text": f"{canary} tekst" if org == b else "A"}},
                source_key=f"tenancy:{org}",
                config=config,
                now=platform.clock.now(),
            )
            made.append(row)
    return made[0].id, made[1].ack_token


def _exposure(platform: Platform, b: int, canary: str) -> int:
    """Give B an exposure at its address with a reported CVE; return the finding's id."""
    seen = ObservedService(
        "198.51.100.77", 443, product=f"{canary} portal", version="1.0", http_title=canary,
        weaknesses=(ReportedWeakness("nuclei:x", f"{canary} svakhet", ("CVE-2099-7777",), 9.1),),
    )  # fmt: skip
    scan = ParsedScan(source=Source.NUCLEI, name=f"{canary}.jsonl", services=[seen])
    with platform.session() as session:
        exposure_service.record_scan(
            session, CERT_ADMIN, b, scan, matcher=None, config=exposure_service.ExposureConfig(),
            now=platform.clock.now(),
        )  # fmt: skip
        (finding,) = exposure_service.list_findings(session, CERT_ADMIN, b)
    return int(finding["id"])


def _report(platform: Platform, canary: str, low: str) -> int:
    """Store a public incident report from B's people, sealed as the report form seals it."""
    content = ReportContent(
        name=f"{canary} Melder", email=f"vakt@{low}.example.no", organisation=f"{canary} HF",
        what_happened=f"{canary} innbrudd", affected="198.51.100.77", phone="41 23 45 67",
    )  # fmt: skip
    with platform.session() as session:
        made = intake.submit_report(
            session, clock=platform.clock, key=intake_key(build_state(platform).key),
            content=content, client="192.0.2.1", language="nb",
        )  # fmt: skip
    return made.id


def _case(platform: Platform, b: int, b_finding: int, canary: str, low: str) -> dict[str, int]:
    """Open an incident case about B with every part a case has, each holding the canary."""
    clock = platform.clock
    with platform.session() as session:
        case = case_service.create_case(
            session, CERT_ADMIN, clock=clock, title=f"{canary} sak",
            description=f"{canary} beskrivelse", reporter=f"{canary} melder",
            involve=[(b, InvolvedRole.AFFECTED)],
        )  # fmt: skip
        case_id = case["id"]
        shared = case_journal.add_journal_entry(
            session, CERT_ADMIN, case_id, clock=clock, text=f"{canary} delt",
            visibility=Visibility.SHARED,
        )  # fmt: skip
        internal = case_journal.add_journal_entry(
            session, CERT_ADMIN, case_id, clock=clock, text=f"{canary} internt"
        )
        task = case_tasks.add_task(
            session, CERT_ADMIN, case_id, clock=clock, title=f"{canary} oppgave"
        )
        link = case_links.add_link(
            session, CERT_ADMIN, case_id, clock=clock, kind=LinkKind.FINDING, target_id=b_finding,
            note=f"{canary} lenke",
        )  # fmt: skip
        [observable] = case_links.add_observables(
            session, CERT_ADMIN, case_id, clock=clock,
            observables=[("domain", f"c2.{low}.example.no")],
        )  # fmt: skip
        update = case_coordination.send_update(
            session, CERT_ADMIN, case_id, clock=clock, config=notify_config(platform.settings),
            text=f"{canary} oppdatering",
        )  # fmt: skip
        # The file's bytes hold the plain canary: they are served as a file, never as a page.
        attachment = case_attachments.add_attachment(
            session, CERT_ADMIN, case_id, clock=clock,
            store=evidence_store(platform.settings), data=f"{low} bevis".encode(),
            filename=f"{plain_name(canary)}.txt", visibility=Visibility.SHARED,
        )  # fmt: skip
    return {
        "case": case_id, "entry": shared["id"], "internal": internal["id"], "task": task["id"],
        "link": link["id"], "update": update["id"], "attachment": attachment["id"],
        "observable": observable["id"],
    }  # fmt: skip


def plain_name(canary: str) -> str:
    """Return the canary as a file name keeps it (its markup, if any, left out)."""
    return "".join(ch for ch in canary if ch.isalnum())


def case_state(session: Any, case_id: int) -> dict[str, Any]:
    """Return everything of a case, read as the CERT."""
    return {
        "case": case_service.get_case_or_raise(session, CERT_ADMIN, case_id),
        "journal": case_journal.list_journal(session, CERT_ADMIN, case_id),
        "tasks": case_tasks.list_tasks(session, CERT_ADMIN, case_id, now=datetime.now(UTC)),
        "links": case_links.list_links(session, CERT_ADMIN, case_id),
        "observables": case_links.list_observables(session, CERT_ADMIN, case_id),
        "involved": case_coordination.list_involved(session, CERT_ADMIN, case_id),
        "updates": case_coordination.list_updates(session, CERT_ADMIN, case_id),
        "attachments": case_attachments.list_attachments(session, CERT_ADMIN, case_id),
    }


def state_of_b(platform: Platform, w: World) -> dict[str, Any]:
    """Everything of B, read as the CERT, and how many audit entries exist (B's and all)."""
    with platform.session() as session:
        requests, _ = changes.list_change_requests(session, CERT_ADMIN, organisation_id=w.b)
        return {
            "organisation": service.get_organisation_or_raise(session, CERT_ADMIN, w.b),
            "requests": requests,
            "tokens": [
                t for t in access.list_tokens(session, CERT_ADMIN) if t.organisation_id == w.b
            ],
            "users": [
                u for u in accounts.list_users(session, CERT_ADMIN) if u.organisation_id == w.b
            ],
            "sensors": [
                s
                for s in sensors.list_sensors(
                    session, CERT_ADMIN, clock=platform.clock, include_retired=True
                )
                if s.organisation_id == w.b
            ],
            "alert": get_alert_or_raise(session, CERT_ADMIN, w.b_alert),
            "alert_history": alert_history(session, CERT_ADMIN, w.b_alert),
            "notices": notify_records.get_notice_or_raise(session, CERT_ADMIN, w.b_notice),
            "policy": notify_service.read_policy(session, CERT_ADMIN, w.b),
            "findings": exposure_service.list_findings(session, CERT_ADMIN, w.b),
            "report": [
                (r.id, r.status, r.status_changed_by)
                for r in intake.list_reports(session, CERT_ADMIN, limit=1000)[0]
                if r.id == w.b_report
            ],
            "case": case_state(session, w.b_case["case"]) if w.b_case else None,
            "audit_b": list_entries(session, filters=AuditFilter(organisation_id=w.b), limit=1)[1],
            "audit_all": list_entries(session, filters=AuditFilter(), limit=1)[1],
        }


def strings_in(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings_in(item)]
    if isinstance(value, list):
        return [s for item in value for s in strings_in(item)]
    return [] if value is None else [str(value)]


def assert_no_canary(answer: Response, w: World, what: str, sent: Any = None) -> None:
    """Fail if the answer (body or headers) shows any of B's canaries. What the caller sent
    itself (a whois value echoed back) is taken out first: knowing it is not a leak."""
    shown = answer.text + json.dumps(dict(answer.headers))
    for text in sorted(strings_in(sent), key=len, reverse=True):
        shown = shown.replace(text, "")
    leaked = [c for c in w.canaries if c in shown]
    assert not leaked, f"{what} shows B's {leaked}: {shown[:500]}"


# The page walk signs in as each of these; made only there (hashing passwords costs time).
PAGE_ROLES: dict[str, tuple[Role, str]] = {
    "a_admin": (Role.MEMBER_ADMIN, "a"),
    "a_user": (Role.MEMBER_USER, "a"),
    "b_admin": (Role.MEMBER_ADMIN, "b"),
    "cert_admin": (Role.CERT_ADMIN, ""),
    "cert_analyst": (Role.CERT_ANALYST, ""),
    "cert_readonly": (Role.CERT_READONLY, ""),
}


def portal_users(platform: Platform, w: World) -> dict[str, PortalUser]:
    """Return a portal user (password only, no TOTP) for each of PAGE_ROLES."""
    made = {}
    for name, (role, side) in PAGE_ROLES.items():
        organisation = {"a": w.a, "b": w.b, "": None}[side]
        made[name] = make_user(
            platform,
            email=f"{name.replace('_', '-')}@walk.example",
            display_name=f"Walk {name}",
            role=role,
            organisation_id=organisation,
            totp=False,
        )
    return made
