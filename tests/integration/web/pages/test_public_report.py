"""The public incident report form: a report is stored sealed (no field in clear in the
database), the reporter gets a reference, the CERT reads it back decrypted; the honeypot, the
per-address limit, the size bounds and CSRF; and escaping on the CERT's page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from support.factories import CERT_ADMIN, org_data
from support.portal import csrf_token, make_user, sign_in
from vardeild.access.model import Role
from vardeild.audit.model import AuditFilter
from vardeild.audit.service import list_entries
from vardeild.intake.model import FIELD_MAX
from vardeild.intake.tables import IncidentReportRow
from vardeild.members import service
from vardeild.platform import Platform
from vardeild.web.pages.public import REPORT_BODY_MAX

REFERENCE = re.compile(r'<strong id="reference">(VR-\d{4}-[0-9A-HJKMNP-TV-Z]{8})</strong>')

REPORT = {
    "name": "Kari Nordmann",
    "email": "kari@eksempel.no",
    "phone": "+47 912 34 567",
    "organisation": "Fjordbyen legesenter",
    "what_happened": "Løsepengevirus krypterte journalserveren i natt.",
    "happened_at": "2026-11-27 kl. 03",
    "affected": "192.0.2.44, journal.fjordbyen.example",
    "tlp": "AMBER+STRICT",
}


def send(client: TestClient, form: dict[str, str], **extra: Any) -> Any:
    token = csrf_token(client.get("/report").text)
    return client.post("/report", data={"csrf_token": token, **form}, **extra)


def stored(platform: Platform) -> list[dict[str, Any]]:
    # The raw table, as a copy of the database would show it (not through the model).
    with platform.session() as session:
        rows = session.execute(text("SELECT * FROM incident_reports")).mappings().all()
    return [dict(row) for row in rows]


def reference_of(answer: Any) -> str:
    found = REFERENCE.search(answer.text)
    assert found, answer.text[:2000]
    return found.group(1)


@pytest.fixture
def analyst(app: Any, platform: Platform) -> TestClient:
    browser = TestClient(app)
    sign_in(browser, make_user(platform, role=Role.CERT_ANALYST), platform.clock)
    return browser


def report_id(platform: Platform, reference: str) -> int:
    with platform.session() as session:
        found = session.scalar(
            select(IncidentReportRow.id).where(IncidentReportRow.reference == reference)
        )
    assert found is not None
    return found


def test_a_report_is_stored_sealed_and_the_cert_reads_it_back(
    client: TestClient, analyst: TestClient, platform: Platform
) -> None:
    answer = send(client, REPORT)
    assert answer.status_code == 200
    reference = reference_of(answer)
    [row] = stored(platform)
    assert row["reference"] == reference
    assert row["status"] == "new"
    # Nothing the reporter typed is in clear anywhere in the row (nor in the audit log).
    raw = repr(row).encode() + bytes(row["sealed"])
    with platform.session() as session:
        entries, _ = list_entries(session, filters=AuditFilter(entity_type="incident_report"))
    audit = repr(entries)
    for field, value in REPORT.items():
        if field == "tlp":
            continue
        for piece in (value, value.encode("utf-8").hex(), value[:12]):
            assert piece.encode() not in raw, f"{field} in clear in the row"
            assert piece not in audit, f"{field} in the audit log"
    assert row["address_hash"] != "testclient"
    assert len(row["address_hash"]) == 64
    # The CERT opens it, decrypted; the reading is in the audit log.
    page = analyst.get(f"/console/reports/{row['id']}")
    assert page.status_code == 200
    for field, value in REPORT.items():
        assert value in page.text, field
    assert reference in analyst.get("/console/reports").text
    with platform.session() as session:
        reads, _ = list_entries(session, filters=AuditFilter(action="incident_report.read"))
    assert [entry.entity_id for entry in reads] == [str(row["id"])]
    assert reads[0].actor.startswith("user:")
    assert reads[0].actor.endswith(":analytiker@cert.example")


def test_references_are_random_not_a_sequence(client: TestClient, platform: Platform) -> None:
    first = reference_of(send(client, REPORT))
    second = reference_of(send(client, REPORT))
    assert first != second
    assert first[:8] == second[:8] == "VR-2026-"  # the year of the test clock
    assert int(first[8:], 36) + 1 != int(second[8:], 36)


def test_the_status_changes_are_audited_and_follow_the_workflow(
    client: TestClient, analyst: TestClient, platform: Platform
) -> None:
    reference = reference_of(send(client, REPORT))
    number = report_id(platform, reference)
    page = analyst.get(f"/console/reports/{number}").text
    token = csrf_token(page)
    path = f"/console/reports/{number}/status"
    moved = analyst.post(path, data={"csrf_token": token, "status": "triaged"},
                         follow_redirects=False)  # fmt: skip
    assert moved.status_code == 303
    assert 'id="status">Vurdert' in analyst.get(f"/console/reports/{number}").text
    back = analyst.post(path, data={"csrf_token": token, "status": "new"}, follow_redirects=False)
    assert back.status_code == 409
    with platform.session() as session:
        changes, _ = list_entries(session, filters=AuditFilter(action="incident_report.status"))
    [change] = changes
    assert change.before == {"reference": reference, "status": "new", "size": change.before["size"]}
    assert change.after is not None
    assert change.after["status"] == "triaged"
    listed = analyst.get("/console/reports", params={"status": "triaged"}).text
    assert reference in listed
    assert reference not in analyst.get("/console/reports", params={"status": "new"}).text


def test_missing_fields_are_named_and_nothing_is_stored(
    client: TestClient, platform: Platform
) -> None:
    answer = send(client, {**REPORT, "name": "", "email": "ikke en adresse"})
    assert answer.status_code == 422
    assert "report: name: is required" in answer.text
    assert "report: email:" in answer.text
    assert 'value="+47 912 34 567"' in answer.text  # what was typed is kept
    assert stored(platform) == []


def test_the_limit_per_address_answers_429(client: TestClient, platform: Platform) -> None:
    platform.settings.intake_reports_per_address = 3
    for _ in range(3):
        assert send(client, REPORT).status_code == 200
    refused = send(client, REPORT)
    assert refused.status_code == 429
    assert "Vent litt" in refused.text
    assert len(stored(platform)) == 3


def test_a_field_over_its_bound_is_refused_with_a_clear_page(
    client: TestClient, platform: Platform
) -> None:
    long = "x" * (FIELD_MAX["what_happened"] + 1)
    answer = send(client, {**REPORT, "what_happened": long})
    assert answer.status_code == 413
    assert "Meldingen er for stor" in answer.text
    assert f"what_happened: is longer than {FIELD_MAX['what_happened']} characters" in answer.text
    assert '<form method="post" action="/report"' in answer.text
    assert stored(platform) == []


def test_a_long_description_beyond_the_other_forms_bound_is_taken(
    client: TestClient, platform: Platform
) -> None:
    # 15,000 characters of æøå are 30 kB in UTF-8 and 90 kB URL-encoded: more than the 16 KiB
    # a field of the portal's other forms may be, within what the report form takes.
    text_ = "æøå" * 5_000
    answer = send(client, {**REPORT, "what_happened": text_})
    assert answer.status_code == 200, answer.text[:300]
    assert len(stored(platform)) == 1


def test_a_body_beyond_the_transport_bound_is_refused(
    client: TestClient, platform: Platform
) -> None:
    answer = send(client, {**REPORT, "affected": "y" * (REPORT_BODY_MAX + 1)})
    assert answer.status_code == 413
    assert stored(platform) == []


def test_a_filled_honeypot_looks_taken_but_nothing_is_stored(
    client: TestClient, platform: Platform
) -> None:
    answer = send(client, {**REPORT, "website": "http://spam.example"})
    assert answer.status_code == 200
    reference_of(answer)  # it looks like any thank-you page
    assert stored(platform) == []


def test_the_form_needs_its_csrf_token(client: TestClient, platform: Platform) -> None:
    client.get("/report")
    assert client.post("/report", data=REPORT).status_code == 403
    forged = client.post("/report", data={**REPORT, "csrf_token": "0" * 64})
    assert forged.status_code == 403
    assert stored(platform) == []


SCRIPT = '<script>alert("x")</script>'


def test_script_in_every_field_is_escaped_on_the_cert_page(
    client: TestClient, analyst: TestClient, platform: Platform
) -> None:
    evil = {key: f"{value}{SCRIPT}" for key, value in REPORT.items() if key != "tlp"}
    evil["email"] = "kari@eksempel.no"  # an address must be an address
    reference = reference_of(send(client, evil))
    page = analyst.get(f"/console/reports/{report_id(platform, reference)}").text
    assert "<script" not in page
    assert page.count("&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") == len(evil) - 1


def test_members_reach_no_report(app: Any, client: TestClient, platform: Platform) -> None:
    reference = reference_of(send(client, REPORT))
    number = report_id(platform, reference)
    with platform.session() as session:
        org = service.create_organisation(
            session, CERT_ADMIN, org_data(), clock=platform.clock, key_inspector=None
        )
    member = TestClient(app)
    user = make_user(
        platform, email="medlem@fjordbyen.example", role=Role.MEMBER_ADMIN,
        organisation_id=org["id"],
    )  # fmt: skip
    sign_in(member, user, platform.clock)
    assert member.get(f"/console/reports/{number}").status_code == 404
    assert member.get("/console/reports").status_code == 403
    readonly = TestClient(app)
    sign_in(readonly, make_user(platform, email="les@cert.example", role=Role.CERT_READONLY),
            platform.clock)  # fmt: skip
    assert reference in readonly.get("/console/reports").text
    assert readonly.get(f"/console/reports/{number}").status_code == 403
