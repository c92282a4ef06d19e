"""The analysts' console through its pages, signed in as each CERT role: every page renders,
the filters narrow what is listed, a change request approved or rejected through the page
changes the organisation and is audited (read-only staff cannot), and the dashboard's charts
draw the alerts that exist."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response

from support.factories import CERT_ADMIN, member
from support.pipeline import T0, add_member, eve_batch, eve_line, make_pipeline
from support.portal import csrf_token, make_user, sign_in
from vardeild.access.model import Role
from vardeild.audit.model import AuditFilter
from vardeild.audit.service import list_entries
from vardeild.members import changes, service
from vardeild.platform import Platform

CERT_ROLES = (Role.CERT_ADMIN, Role.CERT_ANALYST, Role.CERT_READONLY)


def browser(
    app: FastAPI, platform: Platform, role: Role, *, organisation: int | None = None
) -> TestClient:
    """Return a client signed in through the pages as a new user of role."""
    client = TestClient(app)
    user = make_user(
        platform,
        email=f"{role.value.replace('_', '-')}-{organisation or 0}@console.example",
        role=role,
        organisation_id=organisation,
        totp=False,
    )
    sign_in(client, user, platform.clock)
    return client


def post(client: TestClient, form_page: str, action: str, data: dict[str, str]) -> Response:
    """POST data to action with the CSRF token of form_page, as the browser would."""
    token = csrf_token(client.get(form_page).text)
    return client.post(action, data={"csrf_token": token, **data}, follow_redirects=False)


def _world(platform: Platform) -> dict[str, int]:
    """Two members with alerts (through the pipeline) and a pending change request."""
    a = add_member(platform, "10.1.0.0/16", name="Fjordklinikken HF")
    b = add_member(platform, "10.2.0.0/16", name="Bergsykehuset HF")
    lines = [
        eve_line(dst="10.1.0.5", sid=2001219, signature="ET SCAN SSH", at=T0),
        eve_line(dst="10.1.0.6", sid=2001219, signature="ET SCAN SSH", at=T0 - timedelta(days=2)),
        eve_line(dst="10.2.0.5", sid=2010935, signature="ET POLICY RDP", severity=1, at=T0),
    ]
    make_pipeline(platform).ingest(eve_batch(lines))
    with platform.session() as session:
        request = changes.propose_change(
            session, member(a), a, {"domains": {"add": ["ny.fjordklinikken.no"]}},
            comment="Nytt domene", clock=platform.clock, key_inspector=None,
        )  # fmt: skip
    return {"a": a, "b": b, "request": request.id}


PAGES = (
    "/console",
    "/console?days=90",
    "/console/members",
    "/console/change-requests",
    "/console/alerts",
    "/console/suppressions",
    "/console/audit",
)


@pytest.mark.parametrize("role", CERT_ROLES, ids=lambda r: r.value)
def test_every_page_renders_for_every_cert_role(
    app: FastAPI, platform: Platform, role: Role
) -> None:
    w = _world(platform)
    client = browser(app, platform, role)
    home = client.get("/portal").text
    for link in ("/console", "/console/members", "/console/alerts", "/console/audit"):
        assert f'href="{link}"' in home
    for path in (*PAGES, f"/console/members/{w['a']}", f"/console/change-requests/{w['request']}"):
        answer = client.get(path)
        assert answer.status_code == 200, (path, answer.text[:300])
        assert "<script" not in answer.text
    alerts = client.get("/console/alerts").text
    first = re.search(r'href="/console/alerts/(\d+)"', alerts)
    assert first, alerts
    detail = client.get(f"/console/alerts/{first.group(1)}")
    assert detail.status_code == 200
    # Only those who may change alerts get the forms; read-only staff are told why not.
    assert ('id="suppress-form"' in detail.text) is (role is not Role.CERT_READONLY)
    assert ('id="readonly"' in detail.text) is (role is Role.CERT_READONLY)


def test_the_pages_speak_both_languages(app: FastAPI, platform: Platform) -> None:
    _world(platform)
    client = browser(app, platform, Role.CERT_ANALYST)
    client.cookies.set("vardeild_lang", "en")
    assert "Alerts per day, by member" in client.get("/console").text
    client.cookies.set("vardeild_lang", "nb")
    assert "Varsler per dag, etter medlem" in client.get("/console").text


def test_members_get_403_on_lists_and_404_on_another_members_objects(
    app: FastAPI, platform: Platform
) -> None:
    w = _world(platform)
    client = browser(app, platform, Role.MEMBER_ADMIN, organisation=w["a"])
    assert client.get("/console").status_code == 403
    assert client.get("/console/alerts").status_code == 403
    assert client.get(f"/console/members/{w['b']}").status_code == 404
    assert client.get(f"/console/members/{w['a']}").status_code == 403
    assert 'href="/console"' not in client.get("/portal").text


def _ids(html: str, prefix: str) -> list[int]:
    return [int(n) for n in re.findall(rf'<td><a href="{prefix}(\d+)">', html)]


def test_alert_filters_narrow_the_list(app: FastAPI, platform: Platform) -> None:
    w = _world(platform)
    client = browser(app, platform, Role.CERT_ANALYST)
    every = _ids(client.get("/console/alerts").text, "/console/alerts/")
    assert len(every) == 3

    def listed(**query: str) -> list[int]:
        return _ids(client.get("/console/alerts", params=query).text, "/console/alerts/")

    assert len(listed(member=str(w["a"]))) == 2
    assert len(listed(member=str(w["b"]))) == 1
    assert len(listed(classification="sid:1:2010935")) == 1
    assert len(listed(q="scan ssh")) == 2
    assert listed(q="nothing like it") == []
    assert len(listed(since="2026-11-28")) == 2
    assert len(listed(until="2026-11-27")) == 1
    assert len(listed(status="open")) == 3
    assert listed(status="closed") == []
    high = listed(severity="high")
    assert 0 < len(high) < 3  # the RDP alert's Suricata severity 1 is the highest
    assert client.get("/console/alerts", params={"since": "not-a-day"}).status_code == 422


def test_member_search_by_name_number_address_and_domain(app: FastAPI, platform: Platform) -> None:
    w = _world(platform)
    client = browser(app, platform, Role.CERT_READONLY)
    with platform.session() as session:
        b = service.get_organisation_or_raise(session, CERT_ADMIN, w["b"])

    def found(q: str) -> set[int]:
        return set(_ids(client.get("/console/members", params={"q": q}).text, "/console/members/"))

    assert found("bergsykehuset") == {w["b"]}
    assert found(b["org_number"]) == {w["b"]}
    assert found("HF") == {w["a"], w["b"]}
    owners = client.get("/console/members", params={"q": "10.2.3.4"}).text
    assert 'id="owners"' in owners
    assert f'href="/console/members/{w["b"]}"' in owners.split('id="organisations"')[0]
    by_domain = client.get("/console/members", params={"q": f"www.{b['domains'][0]['name']}"})
    assert f'href="/console/members/{w["b"]}"' in by_domain.text.split('id="organisations"')[0]
    detail = client.get(f"/console/members/{w['b']}").text
    for shown in ("10.2.0.0/16", b["domains"][0]["name"], b["contacts"][0]["email"], "monitoring"):
        assert shown in detail


def test_change_request_approved_through_the_page_changes_the_member_and_is_audited(
    app: FastAPI, platform: Platform
) -> None:
    w = _world(platform)
    page = f"/console/change-requests/{w['request']}"
    readonly = browser(app, platform, Role.CERT_READONLY)
    assert 'id="approve-form"' not in readonly.get(page).text
    refused = post(readonly, page, f"{page}/approve", {"reason": ""})
    assert refused.status_code == 403

    analyst = browser(app, platform, Role.CERT_ANALYST)
    listed = analyst.get("/console/change-requests", params={"status": "pending"}).text
    assert _ids(listed, "/console/change-requests/") == [w["request"]]
    diff = analyst.get(page).text
    assert 'class="op-add"' in diff
    assert "ny.fjordklinikken.no" in diff
    done = post(analyst, page, f"{page}/approve", {"reason": "Stemmer"})
    assert done.status_code == 303
    assert done.headers["location"].startswith(page)
    assert 'id="done"' in analyst.get(done.headers["location"]).text
    with platform.session() as session:
        organisation = service.get_organisation_or_raise(session, CERT_ADMIN, w["a"])
        request = changes.get_change_request_or_raise(session, CERT_ADMIN, w["request"])
        entries, _ = list_entries(session, filters=AuditFilter(action="change_request.approve"))
    assert "ny.fjordklinikken.no" in [d["name"] for d in organisation["domains"]]
    assert request.status is changes.ChangeStatus.APPROVED
    assert [e.entity_id for e in entries] == [str(w["request"])]
    assert "cert-analyst-0@console.example" in entries[0].actor
    assert (
        analyst.get("/console/change-requests", params={"status": "pending"}).text.count(
            'href="/console/change-requests/'
        )
        == 0
    )
    again = post(analyst, page, f"{page}/approve", {"reason": ""})
    assert again.status_code == 409


def test_change_request_rejected_through_the_page_needs_a_reason(
    app: FastAPI, platform: Platform
) -> None:
    w = _world(platform)
    page = f"/console/change-requests/{w['request']}"
    admin = browser(app, platform, Role.CERT_ADMIN)
    assert post(admin, page, f"{page}/reject", {"reason": " "}).status_code == 422
    assert post(admin, page, f"{page}/reject", {"reason": "Ikke deres"}).status_code == 303
    with platform.session() as session:
        organisation = service.get_organisation_or_raise(session, CERT_ADMIN, w["a"])
        request = changes.get_change_request_or_raise(session, CERT_ADMIN, w["request"])
        entries, total = list_entries(session, filters=AuditFilter(action="change_request.reject"))
    assert "ny.fjordklinikken.no" not in [d["name"] for d in organisation["domains"]]
    assert (request.status, request.decision_reason) == (
        changes.ChangeStatus.REJECTED,
        "Ikke deres",
    )
    assert total == 1
    assert entries[0].entity_id == str(w["request"])


def test_audit_log_filters(app: FastAPI, platform: Platform) -> None:
    w = _world(platform)
    client = browser(app, platform, Role.CERT_READONLY)

    def rows(**query: str) -> str:
        html = client.get("/console/audit", params=query).text
        return html.split('id="entries"')[1]

    by_type = rows(entity_type="change_request")
    assert "change_request.propose" in by_type
    assert "organisation.create" not in by_type
    by_org = rows(organisation=str(w["b"]))
    assert "organisation.create" in by_org
    assert "change_request" not in by_org
    assert "change_request.propose" in rows(action="change_request.propose")
    assert "change_request" in rows(actor=f"user@org{w['a']}")
    assert "Ingenting å vise." in rows(until="2000-01-01")
    assert "organisation.create" in rows(since="2026-11-28", until="2026-11-28")


def test_the_dashboard_charts_the_alerts_that_exist(app: FastAPI, platform: Platform) -> None:
    w = _world(platform)
    client = browser(app, platform, Role.CERT_ANALYST)
    html = client.get("/console", params={"days": 7}).text
    assert 'id="alert-total"' in html
    assert re.search(r'id="alert-total">[^<]*\b3\b', html)
    by_member = html.split('id="chart-by_member"')[1].split("</section>")[0]
    bars = re.findall(
        r'<rect class="bar ([^"]*)"[^>]*data-value="(\d+)"><title>([^<]*)</title>', by_member
    )
    # Today: A's one alert and B's one; two days ago: A's other. Each a segment of its own.
    titles = sorted(title for _, _, title in bars)
    assert titles == sorted(["Fjordklinikken HF 28.11: 1", "Bergsykehuset HF 28.11: 1",
                             "Fjordklinikken HF 26.11: 1"])  # fmt: skip
    by_class = html.split('id="chart-by_classification"')[1].split("</section>")[0]
    segments = re.findall(r'data-value="(\d+)"><title>([^<]*)</title>', by_class)
    assert sorted(title for _, title in segments) == sorted(
        ["sid:1:2001219 28.11: 1", "sid:1:2001219 26.11: 1", "sid:1:2010935 28.11: 1"]
    )
    assert re.search(r'id="open-alerts-total">3<', html)
    assert re.search(r'id="pending-total">1<', html)
    # A month's chart has 30 days, and the same three alerts.
    month = client.get("/console", params={"days": 30}).text
    assert len(re.findall(r'<rect class="bar', month)) == 6  # both charts: three segments each
    assert w["a"] != w["b"]
