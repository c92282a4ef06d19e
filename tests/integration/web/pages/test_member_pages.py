"""The members' pages, driven through the real app signed in as a member's people: the
organisation, change requests proposed from the page (pending, audited), alerts with filters,
detail, TLP-bound indicators and acknowledgement, and notices acknowledged. Another member's
records answer the same 404 page as records that do not exist."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from support.factories import CERT_ADMIN, member
from support.pgp_keys import damage, key_home, make_key
from support.pipeline import add_member, eve_batch, eve_line, make_pipeline
from support.portal import PortalUser, csrf_token, make_user, post_form, sign_in
from vardeild.access.model import Role
from vardeild.audit.model import AuditFilter
from vardeild.audit.service import list_entries
from vardeild.intel.audience import share_indicators
from vardeild.intel.model import IndicatorFilter
from vardeild.intel.service import list_indicators, load_indicators
from vardeild.members import changes
from vardeild.monitoring.alerts import get_alert_or_raise
from vardeild.monitoring.model import Severity
from vardeild.monitoring.tables import AlertRow
from vardeild.notify import records
from vardeild.notify import service as notify_service
from vardeild.notify.config import config_from_settings as notify_config
from vardeild.notify.model import NoticeKind
from vardeild.platform import Platform


@dataclass(frozen=True)
class Members:
    """Members A and B, each with an alert and a notice."""

    a: int
    b: int
    a_alert: int
    b_alert: int
    a_notice: int
    b_notice: int


def _notice(platform: Platform, member: int, title: str) -> int:
    with platform.session() as session:
        row, _ = notify_service.queue_notice(
            session, CERT_ADMIN, member_id=member, kind=NoticeKind.MESSAGE, title=title,
            severity=Severity.HIGH, content={"details": {"text": f"{title}: les dette"}},
            source_key=f"test:{member}", config=notify_config(platform.settings),
            now=platform.clock.now(),
        )  # fmt: skip
        return int(row.id)


@pytest.fixture
def members(platform: Platform) -> Members:
    a = add_member(platform, "192.0.2.0/24", name="Alfa Sykehus HF")
    b = add_member(platform, "198.51.100.0/24", name="Beta Hemmelig HF")
    pipeline = make_pipeline(platform)
    a_alert = pipeline.ingest(
        eve_batch([eve_line(dst="192.0.2.10", signature="ALFA skanning")], batch_key="a")
    ).alert_ids[0]
    b_alert = pipeline.ingest(
        eve_batch([eve_line(dst="198.51.100.10", signature="BETA hemmelig")], batch_key="b")
    ).alert_ids[0]
    return Members(
        a=a, b=b, a_alert=a_alert, b_alert=b_alert,
        a_notice=_notice(platform, a, "Alfa varsel"), b_notice=_notice(platform, b, "Beta varsel"),
    )  # fmt: skip


def _signed_in(client: TestClient, platform: Platform, role: Role, org: int) -> PortalUser:
    user = make_user(
        platform, email=f"{role.value}@alfa.example", role=role, organisation_id=org, totp=False
    )
    sign_in(client, user, platform.clock)
    return user


def _without_ids(text: str) -> str:
    return re.sub(r"\b\d+\b", "N", text)


def test_a_member_admin_sees_its_organisation_and_proposes_a_change(
    client: TestClient, platform: Platform, members: Members
) -> None:
    admin = _signed_in(client, platform, Role.MEMBER_ADMIN, members.a)
    page = client.get("/portal/organisation")
    assert page.status_code == 200
    assert "Alfa Sykehus HF" in page.text
    assert "192.0.2.0/24" in page.text
    assert "Beta Hemmelig" not in page.text
    assert "198.51.100" not in page.text
    assert "Ingen nøkkel" in page.text  # the contact's key status, in bokmål by default
    assert 'href="/portal/alerts"' in page.text  # the header links the members' pages
    assert 'id="propose"' in page.text

    answer = post_form(
        client, "/portal/organisation", "/portal/change-requests",
        {"organisation": str(members.a), "kind": "domains", "operation": "add",
         "value": "ny.alfa.example.no", "description": "Ny portal", "comment": "Vi trenger den"},
    )  # fmt: skip
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    request_id = int(re.search(r"/portal/change-requests/(\d+)", location).group(1))  # type: ignore[union-attr]
    with platform.session() as session:
        stored = changes.get_change_request_or_raise(session, CERT_ADMIN, request_id)
        audit, _ = list_entries(session, filters=AuditFilter(action="change_request.propose"))
    assert stored.status.value == "pending"
    assert stored.organisation_id == members.a
    assert stored.changes == {
        "domains": {"add": [{"name": "ny.alfa.example.no", "description": "Ny portal"}]}
    }
    assert stored.proposed_by == f"user:{admin.id}:{admin.email}"
    assert [entry.entity_id for entry in audit] == [str(request_id)]

    detail = client.get(location)
    assert detail.status_code == 200
    assert "ny.alfa.example.no" in detail.text
    assert "venter" in detail.text
    assert (
        f'href="/portal/change-requests/{request_id}"'
        in client.get("/portal/change-requests?status=pending").text
    )
    assert "ny.alfa" not in client.get("/portal/change-requests?status=approved").text

    assert 'id="withdraw"' in detail.text  # the admin may withdraw it while it is pending
    withdraw = f"/portal/change-requests/{request_id}/withdraw"
    gone = post_form(client, location, withdraw, {"reason": "Feil navn"})
    assert gone.status_code == 303, gone.text  # type: ignore[attr-defined]
    assert gone.headers["location"].endswith("?done=withdrawn")  # type: ignore[attr-defined]
    shown = client.get(gone.headers["location"])  # type: ignore[attr-defined]
    assert "trukket tilbake" in shown.text
    assert "Feil navn" in shown.text
    assert 'id="withdraw"' not in shown.text
    with platform.session() as session:
        withdrawn = changes.get_change_request_or_raise(session, CERT_ADMIN, request_id)
    assert withdrawn.status.value == "withdrawn"
    again = post_form(client, location, withdraw, {})
    assert again.status_code == 409  # type: ignore[attr-defined]


def test_a_proposal_that_does_not_fit_is_shown_with_its_problem_and_not_stored(
    client: TestClient, platform: Platform, members: Members
) -> None:
    _signed_in(client, platform, Role.MEMBER_ADMIN, members.a)
    bad = post_form(
        client, "/portal/organisation", "/portal/change-requests",
        {"organisation": str(members.a), "kind": "networks", "operation": "remove",
         "value": "203.0.113.0/24"},
    )  # fmt: skip
    assert bad.status_code == 422
    assert "203.0.113.0/24 is not registered" in bad.text
    foreign = post_form(
        client, "/portal/organisation", "/portal/change-requests",
        {"organisation": str(members.b), "kind": "domains", "operation": "add",
         "value": "inn.beta.example.no"},
    )  # fmt: skip
    assert foreign.status_code == 404
    assert "Beta Hemmelig" not in foreign.text
    with platform.session() as session:
        assert changes.list_change_requests(session, CERT_ADMIN)[1] == 0


def test_a_member_user_reads_but_cannot_propose(
    client: TestClient, platform: Platform, members: Members
) -> None:
    _signed_in(client, platform, Role.MEMBER_USER, members.a)
    page = client.get("/portal/organisation")
    assert page.status_code == 200
    assert 'id="propose"' not in page.text
    assert 'id="read-only"' in page.text
    answer = post_form(
        client, "/portal/organisation", "/portal/change-requests",
        {"organisation": str(members.a), "kind": "domains", "operation": "add",
         "value": "ny.alfa.example.no"},
    )  # fmt: skip
    assert answer.status_code == 403
    empty = post_form(client, "/portal/organisation", "/portal/change-requests", {})
    assert empty.status_code == 403  # refused for who asks, before what is asked
    with platform.session() as session:
        assert changes.list_change_requests(session, CERT_ADMIN)[1] == 0
        proposed = changes.propose_change(
            session, member(members.a), members.a, {"domains": {"add": ["ny.alfa.example.no"]}},
            clock=platform.clock, key_inspector=None,
        )  # fmt: skip
    detail = f"/portal/change-requests/{proposed.id}"
    assert 'id="withdraw"' not in client.get(detail).text
    refused = post_form(client, detail, f"{detail}/withdraw", {})
    assert refused.status_code == 403  # type: ignore[attr-defined]
    with platform.session() as session:
        still = changes.get_change_request_or_raise(session, CERT_ADMIN, proposed.id)
    assert still.status.value == "pending"


def test_a_member_sees_and_acknowledges_its_alerts_and_never_anothers(
    client: TestClient, platform: Platform, members: Members
) -> None:
    user = _signed_in(client, platform, Role.MEMBER_USER, members.a)
    listing = client.get("/portal/alerts")
    assert listing.status_code == 200
    assert f'href="/portal/alerts/{members.a_alert}"' in listing.text
    assert "ALFA skanning" in listing.text
    assert "BETA" not in listing.text
    assert f"/portal/alerts/{members.b_alert}" not in listing.text
    for filters in ("status=closed", "since=2099-01-01", "classification=ddos", "until=2000-01-01"):
        assert "ALFA skanning" not in client.get(f"/portal/alerts?{filters}").text, filters
    kept = client.get("/portal/alerts?status=open&severity=low&classification=scanner")
    assert "ALFA skanning" in kept.text
    assert client.get("/portal/alerts?severity=enorm").status_code == 422
    assert client.get(f"/portal/alerts?organisation={members.b}").status_code == 404

    detail = client.get(f"/portal/alerts/{members.a_alert}")
    assert detail.status_code == 200
    assert "ALFA skanning" in detail.text
    assert "192.0.2.10" in detail.text

    foreign = client.get(f"/portal/alerts/{members.b_alert}")
    absent = client.get("/portal/alerts/999999")
    assert foreign.status_code == absent.status_code == 404
    assert _without_ids(foreign.text) == _without_ids(absent.text)
    assert "BETA" not in foreign.text
    assert "198.51.100" not in foreign.text

    token = csrf_token(detail.text)
    done = client.post(
        f"/portal/alerts/{members.a_alert}/acknowledge",
        data={"csrf_token": token, "note": "Vi ser på det"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "Lagret." in client.get(done.headers["location"]).text
    refused = client.post(
        f"/portal/alerts/{members.b_alert}/acknowledge",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert refused.status_code == 404
    with platform.session() as session:
        assert get_alert_or_raise(session, CERT_ADMIN, members.a_alert)["status"] == "acknowledged"
        assert get_alert_or_raise(session, CERT_ADMIN, members.b_alert)["status"] == "open"
        audit, _ = list_entries(session, filters=AuditFilter(action="alert.acknowledge"))
    assert [(e.actor, e.entity_id) for e in audit] == [
        (f"user:{user.id}:{user.email}", str(members.a_alert))
    ]
    after = client.get(f"/portal/alerts/{members.a_alert}")
    assert "Vi ser på det" in after.text
    assert 'id="acknowledge"' not in after.text

    commented = client.post(
        f"/portal/alerts/{members.a_alert}/comment",
        data={"csrf_token": token, "note": "Brannmuren er oppdatert"},
        follow_redirects=False,
    )
    assert commented.status_code == 303
    assert "Brannmuren er oppdatert" in client.get(f"/portal/alerts/{members.a_alert}").text
    empty = client.post(
        f"/portal/alerts/{members.a_alert}/comment", data={"csrf_token": token, "note": " "}
    )
    assert empty.status_code == 422


def test_matched_indicators_are_shown_only_as_tlp_allows(
    client: TestClient, platform: Platform, members: Members
) -> None:
    csv = (
        "value,type,tlp,description\n"
        "gronn.example.net,domain,GREEN,delt med alle\n"
        "rav-a.example.net,domain,AMBER,delt med A\n"
        "rav-b.example.net,domain,AMBER,delt med B\n"
        "rod.example.net,domain,RED,aldri ut\n"
    )
    with platform.session() as session:
        load_indicators(
            session, CERT_ADMIN, csv.encode(), clock=platform.clock, fmt="csv", source="sider"
        )
        found, _ = list_indicators(session, CERT_ADMIN, IndicatorFilter(source="sider"))
        ids = {indicator.value: indicator.id for indicator in found}
        for value, member in (("rav-a.example.net", members.a), ("rav-b.example.net", members.b)):
            share_indicators(
                session, CERT_ADMIN, clock=platform.clock, indicator_ids=[ids[value]],
                organisation_ids=[member],
            )  # fmt: skip
        # The pipeline's matching is tested elsewhere; here the alert simply carries the ids.
        session.execute(
            update(AlertRow)
            .where(AlertRow.id == members.a_alert)
            .values(matched_indicator_ids=sorted(ids.values()))
        )
    _signed_in(client, platform, Role.MEMBER_USER, members.a)
    page = client.get(f"/portal/alerts/{members.a_alert}")
    assert page.status_code == 200
    assert "gronn.example.net" in page.text
    assert "rav-a.example.net" in page.text
    assert "rav-b" not in page.text
    assert "rod.example.net" not in page.text
    assert "aldri ut" not in page.text
    assert "delt med B" not in page.text
    assert "2 treff på indikatorer som ikke er delt med dere" in page.text


def test_a_member_reads_and_acknowledges_its_notices(
    client: TestClient, platform: Platform, members: Members
) -> None:
    user = _signed_in(client, platform, Role.MEMBER_USER, members.a)
    listing = client.get("/portal/notices")
    assert listing.status_code == 200
    assert "Alfa varsel" in listing.text
    assert "Beta varsel" not in listing.text
    detail = client.get(f"/portal/notices/{members.a_notice}", headers={"Accept-Language": "en"})
    assert detail.status_code == 200
    assert "Alfa varsel: les dette" in detail.text
    assert "not acknowledged" in detail.text

    foreign = client.get(f"/portal/notices/{members.b_notice}")
    absent = client.get("/portal/notices/999999")
    assert foreign.status_code == absent.status_code == 404
    assert _without_ids(foreign.text) == _without_ids(absent.text)
    assert "Beta" not in foreign.text

    answer = post_form(
        client,
        f"/portal/notices/{members.a_notice}",
        f"/portal/notices/{members.a_notice}/acknowledge",
        {},
    )
    assert answer.status_code == 303
    refused = post_form(
        client,
        f"/portal/notices/{members.a_notice}",
        f"/portal/notices/{members.b_notice}/acknowledge",
        {},
    )
    assert refused.status_code == 404
    with platform.session() as session:
        own = records.get_notice_or_raise(session, CERT_ADMIN, members.a_notice)
        other = records.get_notice_or_raise(session, CERT_ADMIN, members.b_notice)
    assert own["acknowledged_by"] == f"user:{user.id}:{user.email}"
    assert other["acknowledged_at"] is None
    assert 'id="acknowledge"' not in client.get(f"/portal/notices/{members.a_notice}").text


def test_cert_staff_choose_the_member(
    client: TestClient, platform: Platform, members: Members
) -> None:
    analyst = make_user(platform, totp=False)
    sign_in(client, analyst, platform.clock)
    assert client.get("/portal/organisation").status_code == 404  # asks to choose
    page = client.get(f"/portal/organisation?organisation={members.b}")
    assert page.status_code == 200
    assert "Beta Hemmelig HF" in page.text
    listing = client.get("/portal/alerts")
    assert "ALFA skanning" in listing.text
    assert "BETA hemmelig" in listing.text
    only_b = client.get(f"/portal/alerts?organisation={members.b}")
    assert "ALFA skanning" not in only_b.text
    assert "BETA hemmelig" in only_b.text


def test_a_member_admin_proposes_a_contact_and_changes_one(
    client: TestClient, platform: Platform, members: Members
) -> None:
    _signed_in(client, platform, Role.MEMBER_ADMIN, members.a)
    page = client.get("/portal/organisation")
    contact = re.search(r'name="value" value="([^"]+@[^"]+)"', page.text)
    assert contact, "no removal form for the registered contact"
    added = post_form(
        client, "/portal/organisation", "/portal/change-requests",
        {"organisation": str(members.a), "kind": "contacts", "operation": "add",
         "value": "vakt@alfa.example.no", "name": "Vakthavende", "phone": "+47 22 00 00 00",
         "roles": "on_call", "language": "en"},
    )  # fmt: skip
    assert added.status_code == 303, added.text
    changed = post_form(
        client, "/portal/organisation", "/portal/change-requests",
        {"organisation": str(members.a), "kind": "contacts", "operation": "update",
         "value": contact.group(1), "phone": "+47 99 99 99 99"},
    )  # fmt: skip
    assert changed.status_code == 303, changed.text
    not_for_networks = post_form(
        client, "/portal/organisation", "/portal/change-requests",
        {"organisation": str(members.a), "kind": "networks", "operation": "update",
         "value": "192.0.2.0/24"},
    )  # fmt: skip
    assert not_for_networks.status_code == 422
    with platform.session() as session:
        proposed, _ = changes.list_change_requests(session, CERT_ADMIN)
    assert [item.changes for item in reversed(proposed)] == [
        {
            "contacts": {
                "add": [
                    {
                        "email": "vakt@alfa.example.no",
                        "name": "Vakthavende",
                        "phone": "+47 22 00 00 00",
                        "language": "en",
                        "roles": ["on_call"],
                    }
                ]
            }
        },
        {"contacts": {"update": [{"email": contact.group(1), "phone": "+47 99 99 99 99"}]}},
    ]


def test_a_member_admin_proposes_a_contacts_openpgp_key(
    client: TestClient, platform: Platform, members: Members
) -> None:
    _signed_in(client, platform, Role.MEMBER_ADMIN, members.a)
    page = client.get("/portal/organisation")
    contact = re.search(r'name="value" value="([^"]+@[^"]+)"', page.text)
    assert contact
    email = contact.group(1)
    with key_home() as home:
        key = make_key(home, email)
    broken = post_form(
        client, "/portal/organisation", "/portal/change-requests",
        {"organisation": str(members.a), "kind": "contacts", "operation": "update",
         "value": email, "pgp_key": damage(key.public)},
    )  # fmt: skip
    assert broken.status_code == 422
    with platform.session() as session:
        assert changes.list_change_requests(session, CERT_ADMIN)[1] == 0
    sent = post_form(
        client, "/portal/organisation", "/portal/change-requests",
        {"organisation": str(members.a), "kind": "contacts", "operation": "update",
         "value": email, "pgp_key": key.public},
    )  # fmt: skip
    assert sent.status_code == 303, sent.text
    with platform.session() as session:
        (proposed,), _ = changes.list_change_requests(session, CERT_ADMIN)
    assert proposed.changes == {
        "contacts": {"update": [{"email": email, "pgp_key": key.public.strip()}]}
    }
