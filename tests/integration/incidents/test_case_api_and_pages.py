"""Cases over the API and in the pages: a coordinated update queued to two members' contacts,
each acknowledging separately; internal entries absent from every notice and from everything a
member reads; evidence bounded and served only to the entitled; escalation from the alert page;
the members' view in bokmål and English."""

from __future__ import annotations

from fastapi.testclient import TestClient

from support.factories import CERT_ADMIN, org_data
from support.pipeline import eve_batch, eve_line, make_pipeline
from support.portal import make_user, post_form, sign_in
from support.web import TokenMaker
from vardeild.access.model import Role
from vardeild.members import service
from vardeild.platform import Platform

API = "/api/v1"
INTERNAL = "INTERNT-b7e1-ikke-for-medlemmer"


def _case(client: TestClient, cert: dict[str, str], a: int, b: int) -> int:
    made = client.post(
        f"{API}/cases",
        json={"title": "Sårbarhet hos leverandør", "classification_type": "vulnerable-system",
              "severity": "high", "description": f"{INTERNAL} beskrivelse",
              "affected_organisation_ids": [a, b]},
        headers=cert,
    )  # fmt: skip
    assert made.status_code == 201, made.text
    case_id = int(made.json()["id"])
    for body in (
        {"text": f"{INTERNAL} notat", "visibility": "internal"},
        {"text": "Delt: vi undersøker", "visibility": "shared", "tlp": "GREEN"},
    ):
        assert (
            client.post(f"{API}/cases/{case_id}/journal", json=body, headers=cert).status_code
            == 201
        )
    return case_id


def test_a_coordinated_update_reaches_both_members_and_each_acknowledges(
    client: TestClient, token: TokenMaker, members: tuple[int, int]
) -> None:
    a, b = members
    cert = token(Role.CERT_ANALYST)
    case_id = _case(client, cert, a, b)
    refused = client.post(f"{API}/cases/{case_id}/updates", json={"text": "x", "tlp": "RED"},
                          headers=cert)  # fmt: skip
    assert refused.status_code == 422
    sent = client.post(
        f"{API}/cases/{case_id}/updates", json={"text": "Installer rettelsen i dag."}, headers=cert
    )
    assert sent.status_code == 201, sent.text
    update = sent.json()
    assert {n["organisation_id"] for n in update["notices"]} == {a, b}
    recipients = set()
    for item in update["notices"]:
        notice = client.get(f"{API}/notices/{item['notice_id']}", headers=cert).json()
        recipients |= {d["recipient"] for d in notice["deliveries"]}
        assert INTERNAL not in str(notice)
        for language in ("nb", "en"):
            preview = client.get(
                f"{API}/notices/{item['notice_id']}/preview", params={"language": language},
                headers=cert,
            ).json()  # fmt: skip
            assert f"[VARDEILD#{case_id}]" in preview["subject"]
            assert "Installer rettelsen i dag." in preview["body"]
            assert INTERNAL not in preview["subject"] + preview["body"]
    assert recipients == {"soc@a.case.example", "soc@b.case.example"}

    a_user = token(Role.MEMBER_USER, a)
    seen = client.get(f"{API}/cases/{case_id}", headers=a_user).json()
    assert "description" not in seen
    entries = client.get(f"{API}/cases/{case_id}/journal", headers=a_user).json()
    assert INTERNAL not in str(entries)
    assert [e["text"] for e in entries] == ["Delt: vi undersøker", "Installer rettelsen i dag."]
    mine = client.get(f"{API}/cases/{case_id}/organisations", headers=a_user).json()
    assert [o["organisation_id"] for o in mine] == [a]
    for path in ("tasks", "links", "observables", "deadlines"):
        assert client.get(f"{API}/cases/{case_id}/{path}", headers=a_user).status_code == 403
    ack = client.post(f"{API}/cases/{case_id}/updates/{update['id']}/ack", headers=a_user)
    assert ack.status_code == 200, ack.text
    involved = client.get(f"{API}/cases/{case_id}/organisations", headers=cert).json()
    acks = {o["organisation_id"]: o["updates"][0]["acknowledged_at"] for o in involved}
    assert acks[a] is not None
    assert acks[b] is None
    reply = client.post(f"{API}/cases/{case_id}/journal", json={"text": "Rettet hos oss"},
                        headers=a_user)  # fmt: skip
    assert reply.status_code == 201
    assert reply.json()["visibility"] == "shared"
    body = {"text": "x", "visibility": "internal"}
    internal = client.post(f"{API}/cases/{case_id}/journal", json=body, headers=a_user)
    assert internal.status_code == 403
    stats = client.get(f"{API}/cases/stats", params={"format": "csv"}, headers=cert)
    assert stats.headers["content-type"].startswith("text/csv")
    assert ",classification,vulnerable,1," in stats.text


def test_evidence_over_the_api_is_bounded_and_served_only_to_the_entitled(
    client: TestClient, platform: Platform, token: TokenMaker, members: tuple[int, int]
) -> None:
    a, b = members
    cert = token(Role.CERT_ANALYST)
    case_id = _case(client, cert, a, b)
    platform.settings.case_attachment_max_bytes = 1024
    too_big = client.post(
        f"{API}/cases/{case_id}/attachments", params={"filename": "stor.bin"},
        content=b"x" * 1025, headers=cert,
    )  # fmt: skip
    assert too_big.status_code == 413
    ids = {}
    for name, visibility in (("delt.txt", "shared"), ("intern.txt", "internal")):
        stored = client.post(
            f"{API}/cases/{case_id}/attachments",
            params={"filename": f"../../{name}", "visibility": visibility},
            content=f"{visibility} bytes".encode(), headers=cert,
        )  # fmt: skip
        assert stored.status_code == 201, stored.text
        assert stored.json()["filename"] == name
        ids[visibility] = stored.json()["id"]
    a_user = token(Role.MEMBER_USER, a)
    listed = client.get(f"{API}/cases/{case_id}/attachments", headers=a_user).json()
    assert [f["id"] for f in listed] == [ids["shared"]]
    got = client.get(f"{API}/cases/{case_id}/attachments/{ids['shared']}", headers=a_user)
    assert got.content == b"shared bytes"
    assert got.headers["content-type"] == "application/octet-stream"
    assert got.headers["content-disposition"].startswith("attachment;")
    hidden = client.get(f"{API}/cases/{case_id}/attachments/{ids['internal']}", headers=a_user)
    assert hidden.status_code == 404
    upload = client.post(f"{API}/cases/{case_id}/attachments", params={"filename": "x"},
                         content=b"x", headers=a_user)  # fmt: skip
    assert upload.status_code == 403
    # The role refuses before the body is read: a body over the bound gets the refusal, not
    # 413, and so does a case the member cannot see (the answer tells nothing of it).
    for case in (case_id, case_id + 1000):
        refused = client.post(
            f"{API}/cases/{case}/attachments", params={"filename": "x"},
            content=b"x" * 5000, headers=a_user,
        )  # fmt: skip
        assert refused.status_code == 403, refused.text
        assert "only the CERT may change a case" in refused.text
    stranger = token(Role.MEMBER_ADMIN, _third(client, cert))
    assert client.get(f"{API}/cases/{case_id}", headers=stranger).status_code == 404


def _third(client: TestClient, cert: dict[str, str]) -> int:
    made = client.post(f"{API}/organisations", json=_org("Tredje"), headers=cert)
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def _org(name: str) -> dict[str, object]:
    return org_data(name=f"{name} organisasjon")


def test_the_pages_show_members_only_what_is_shared_in_both_languages(
    app: object, client: TestClient, platform: Platform, token: TokenMaker, members: tuple[int, int]
) -> None:
    a, b = members
    cert = token(Role.CERT_ANALYST)
    case_id = _case(client, cert, a, b)
    sent = client.post(f"{API}/cases/{case_id}/updates", json={"text": "Til alle"}, headers=cert)
    member = make_user(platform, email="leser@a.case.example", role=Role.MEMBER_USER,
                       organisation_id=a, totp=False)  # fmt: skip
    browser = TestClient(client.app)
    sign_in(browser, member, platform.clock)
    for language, words in (("nb", "Hendelsessaker"), ("en", "Incident cases")):
        browser.get(f"/language/{language}")
        listing = browser.get("/portal/cases")
        assert listing.status_code == 200
        assert words in listing.text
        assert f"VARDEILD#{case_id}" in listing.text
        shown = browser.get(f"/portal/cases/{case_id}")
        assert shown.status_code == 200
        assert "Delt: vi undersøker" in shown.text
        assert "Til alle" in shown.text
        assert INTERNAL not in shown.text
    acked = post_form(browser, f"/portal/cases/{case_id}",
                      f"/portal/cases/{case_id}/updates/{sent.json()['id']}/ack", {})  # fmt: skip
    assert acked.status_code == 303  # type: ignore[attr-defined]
    assert browser.get(f"/console/cases/{case_id}").status_code == 403

    analyst = make_user(platform, email="ada@cert.case.example", totp=False)
    staff = TestClient(client.app)
    sign_in(staff, analyst, platform.clock)
    page = staff.get(f"/console/cases/{case_id}")
    assert page.status_code == 200
    assert INTERNAL in page.text
    assert "bekreftet" in page.text.lower()  # A's acknowledgement and B's missing one
    listing = staff.get("/console/cases")
    assert f"VARDEILD#{case_id}" in listing.text
    noted = post_form(staff, f"/console/cases/{case_id}", f"/console/cases/{case_id}/note",
                      {"text": "fra konsollen", "visibility": "internal"})  # fmt: skip
    assert noted.status_code == 303  # type: ignore[attr-defined]
    assert "fra konsollen" not in browser.get(f"/portal/cases/{case_id}").text
    stats = staff.get("/console/cases/stats")
    assert stats.status_code == 200
    assert "<svg" in stats.text


def test_escalating_an_alert_from_its_page(client: TestClient, platform: Platform) -> None:
    with platform.session() as session:
        org = service.create_organisation(
            session, CERT_ADMIN, org_data(networks=["192.0.2.0/24"]), clock=platform.clock,
            key_inspector=platform.key_inspector,
        )  # fmt: skip
    attack = eve_line(src="203.0.113.250", dst="192.0.2.77", signature="ET EXPLOIT walk")
    [alert_id] = make_pipeline(platform).ingest(eve_batch([attack])).alert_ids
    analyst = make_user(platform, email="eve@cert.case.example", totp=False)
    staff = TestClient(client.app)
    sign_in(staff, analyst, platform.clock)
    page = staff.get(f"/console/alerts/{alert_id}")
    assert 'action="/console/alerts/' in page.text
    made = post_form(staff, f"/console/alerts/{alert_id}", f"/console/alerts/{alert_id}/escalate",
                     {"title": "Utnyttelsesforsøk"})  # fmt: skip
    assert made.status_code == 303  # type: ignore[attr-defined]
    case_page = staff.get(made.headers["location"])  # type: ignore[attr-defined]
    assert "Utnyttelsesforsøk" in case_page.text
    assert f"/console/alerts/{alert_id}" in case_page.text
    assert f"/console/members/{org['id']}" in case_page.text  # involved as affected
    again = post_form(staff, f"/console/alerts/{alert_id}", f"/console/alerts/{alert_id}/escalate",
                      {"title": "igjen"})  # fmt: skip
    assert again.status_code == 409  # type: ignore[attr-defined]
