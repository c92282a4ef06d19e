"""The audit log over HTTP: filters, and what members may see of it."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from support.web import Headers, OrgMaker, TokenMaker
from vardeild.access.model import Role
from vardeild.core.clock import FixedClock

API = "/api/v1"


def test_filters_and_pagination(
    client: TestClient, cert: Headers, make_org: OrgMaker, clock: FixedClock
) -> None:
    first = make_org()
    start = clock.now()
    clock.advance(timedelta(minutes=5))
    second = make_org()
    client.patch(f"{API}/organisations/{second['id']}", json={"criticality": "low"}, headers=cert)

    def listed(query: str) -> dict[str, object]:
        answer = client.get(f"{API}/audit?{query}", headers=cert)
        assert answer.status_code == 200, answer.text
        body: dict[str, object] = answer.json()
        return body

    mine = listed(f"organisation_id={second['id']}")
    assert [e["action"] for e in mine["items"]] == [  # type: ignore[attr-defined]
        "organisation.update",
        "organisation.create",
    ]
    assert listed(f"entity_type=organisation&entity_id={first['id']}")["total"] == 1
    assert listed("action=organisation.update")["total"] == 1
    updates = listed("action=organisation.update")["items"]
    assert updates[0]["actor"].startswith("token:")  # type: ignore[index]
    assert updates[0]["before"]["criticality"] == "high"  # type: ignore[index]
    assert updates[0]["after"]["criticality"] == "low"  # type: ignore[index]
    assert listed("actor=admin@cert.test&entity_type=organisation")["total"] == 2
    later = (start + timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    assert listed(f"entity_type=organisation&since={later}")["total"] == 2
    assert listed(f"entity_type=organisation&until={later}")["total"] == 1
    page = listed("entity_type=organisation&limit=1&offset=1")
    assert (page["total"], page["limit"], page["offset"]) == (3, 1, 1)
    naive = client.get(f"{API}/audit?since=2026-01-01T00:00:00", headers=cert)
    assert naive.status_code == 422
    assert naive.json()["problems"][0]["field"] == "query.since"


def test_member_admin_sees_only_its_organisation(
    client: TestClient, token: TokenMaker, make_org: OrgMaker
) -> None:
    own = make_org(notes="Hemmelig CERT-notat")
    other = make_org()
    admin = token(Role.MEMBER_ADMIN, own["id"])
    trail = client.get(f"{API}/audit", headers=admin).json()
    assert trail["total"] >= 2  # its creation and the token issued to it
    assert {e["organisation_id"] for e in trail["items"]} == {own["id"]}
    assert "Hemmelig CERT-notat" not in str(trail)
    created = next(e for e in trail["items"] if e["action"] == "organisation.create")
    assert "notes" not in created["after"]
    foreign = client.get(f"{API}/audit?organisation_id={other['id']}", headers=admin).json()
    assert (foreign["items"], foreign["total"]) == ([], 0)
    cert_view = client.get(
        f"{API}/audit?organisation_id={own['id']}&action=organisation.create",
        headers=token(Role.CERT_READONLY),
    ).json()
    assert cert_view["items"][0]["after"]["notes"] == "Hemmelig CERT-notat"


def test_member_user_may_not_read_the_audit_log(
    client: TestClient, token: TokenMaker, make_org: OrgMaker
) -> None:
    org = make_org()
    answer = client.get(f"{API}/audit", headers=token(Role.MEMBER_USER, org["id"]))
    assert answer.status_code == 403
    assert answer.json()["error"] == "permission_denied"
