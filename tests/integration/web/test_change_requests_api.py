"""Change requests over HTTP: members propose, the CERT approves or rejects."""

from __future__ import annotations

from fastapi.testclient import TestClient

from support.web import OrgMaker, TokenMaker
from vardeild.access.model import Role

API = "/api/v1"


def test_member_proposes_analyst_approves_and_it_is_applied_and_audited(
    client: TestClient, token: TokenMaker, make_org: OrgMaker
) -> None:
    org = make_org(networks=["198.51.100.0/24"])
    member = token(Role.MEMBER_ADMIN, org["id"])
    analyst = token(Role.CERT_ANALYST)
    proposed = client.post(
        f"{API}/organisations/{org['id']}/change-requests",
        json={
            "changes": {
                "networks": {"add": ["192.0.2.0/25"], "remove": ["198.51.100.0/24"]},
                "contacts": {
                    "update": [{"email": org["contacts"][0]["email"], "phone": "+47 815 00 000"}]
                },
            },
            "comment": "Nytt nett etter flytting",
        },
        headers=member,
    )
    assert proposed.status_code == 201, proposed.text
    request = proposed.json()
    assert request["status"] == "pending"
    assert request["organisation_id"] == org["id"]
    assert proposed.headers["location"] == f"{API}/change-requests/{request['id']}"

    unchanged = client.get(f"{API}/organisations/{org['id']}", headers=member).json()
    assert [n["cidr"] for n in unchanged["networks"]] == [
        n["cidr"] for n in org["networks"]
    ]  # only approved changes apply

    mine = client.get(f"{API}/change-requests?status=pending", headers=member).json()
    assert [r["id"] for r in mine["items"]] == [request["id"]]
    assert client.get(f"{API}/change-requests/{request['id']}", headers=member).status_code == 200

    refused = client.post(f"{API}/change-requests/{request['id']}/approve", headers=member)
    assert refused.status_code == 403
    assert refused.json()["error"] == "permission_denied"

    approved = client.post(
        f"{API}/change-requests/{request['id']}/approve",
        json={"reason": "Bekreftet på telefon"},
        headers=analyst,
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    assert approved.json()["decision_reason"] == "Bekreftet på telefon"
    assert approved.json()["decided_by"].startswith("token:")

    applied = client.get(f"{API}/organisations/{org['id']}", headers=member).json()
    cidrs = [n["cidr"] for n in applied["networks"]]
    assert "192.0.2.0/25" in cidrs
    assert "198.51.100.0/24" not in cidrs
    assert applied["contacts"][0]["phone"] == "+47 815 00 000"

    trail = client.get(
        f"{API}/audit?organisation_id={org['id']}", headers=token(Role.CERT_READONLY)
    ).json()
    actions = [entry["action"] for entry in trail["items"]]
    assert actions[:3] == [
        "change_request.approve",
        "organisation.update",
        "change_request.propose",
    ]
    update = trail["items"][1]
    assert update["note"] == f"approved change request {request['id']}"
    assert update["before"]["networks"] != update["after"]["networks"]

    again = client.post(f"{API}/change-requests/{request['id']}/approve", headers=analyst)
    assert again.status_code == 409
    assert "not pending" in again.json()["message"]


def test_reject_needs_a_reason(client: TestClient, token: TokenMaker, make_org: OrgMaker) -> None:
    org = make_org()
    member = token(Role.MEMBER_ADMIN, org["id"])
    analyst = token(Role.CERT_ANALYST)
    request = client.post(
        f"{API}/organisations/{org['id']}/change-requests",
        json={"changes": {"domains": {"add": ["ny.example.no"]}}},
        headers=member,
    ).json()
    url = f"{API}/change-requests/{request['id']}/reject"
    missing = client.post(url, json={}, headers=analyst)
    assert missing.status_code == 422
    assert missing.json()["problems"][0]["field"] == "body.reason"
    blank = client.post(url, json={"reason": "  "}, headers=analyst)
    assert blank.status_code == 422
    assert blank.json()["problems"] == [
        {
            "record": f"change request {request['id']}",
            "field": "reason",
            "message": "say why it is rejected",
        }
    ]
    assert client.post(url, json={"reason": "Nei"}, headers=member).status_code == 403
    rejected = client.post(url, json={"reason": "Domenet eies av en annen"}, headers=analyst)
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected"
    seen = client.get(f"{API}/change-requests/{request['id']}", headers=member).json()
    assert seen["decision_reason"] == "Domenet eies av en annen"
    domains = client.get(f"{API}/organisations/{org['id']}/domains", headers=member).json()
    assert "ny.example.no" not in [d["name"] for d in domains["items"]]


def test_invalid_proposals_name_the_field(
    client: TestClient, token: TokenMaker, make_org: OrgMaker
) -> None:
    org = make_org()
    member = token(Role.MEMBER_ADMIN, org["id"])
    url = f"{API}/organisations/{org['id']}/change-requests"
    answer = client.post(
        url,
        json={
            "changes": {
                "networks": {"add": ["192.0.2.1/24"], "remove": ["203.0.113.0/24"]},
                "name": {"add": ["x"]},
            }
        },
        headers=member,
    )
    assert answer.status_code == 422
    fields = {p["field"] for p in answer.json()["problems"]}
    assert fields == {"networks.add[0]", "networks.remove[0]", "name"}
    bad_shape = client.post(url, json={"changes": {"networks": {"replace": []}}}, headers=member)
    assert bad_shape.status_code == 422
    assert bad_shape.json()["problems"][0]["record"] == "request"
    empty = client.post(url, json={"changes": {}}, headers=member)
    assert empty.status_code == 422
    assert client.get(f"{API}/change-requests", headers=member).json()["total"] == 0


def test_who_may_propose_and_list(
    client: TestClient, token: TokenMaker, make_org: OrgMaker
) -> None:
    org = make_org()
    body = {"changes": {"asns": {"add": [65010]}}}
    url = f"{API}/organisations/{org['id']}/change-requests"
    assert (
        client.post(url, json=body, headers=token(Role.MEMBER_USER, org["id"])).status_code == 403
    )
    assert client.post(url, json=body, headers=token(Role.CERT_READONLY)).status_code == 403
    assert client.post(url, json=body, headers=token(Role.CERT_ANALYST)).status_code == 201
    other = make_org()
    client.post(
        f"{API}/organisations/{other['id']}/change-requests",
        json={"changes": {"asns": {"add": [65011]}}},
        headers=token(Role.MEMBER_ADMIN, other["id"]),
    )
    everyone = client.get(f"{API}/change-requests", headers=token(Role.CERT_READONLY)).json()
    assert everyone["total"] == 2
    just_one = client.get(
        f"{API}/change-requests?organisation_id={other['id']}&limit=1",
        headers=token(Role.CERT_READONLY),
    ).json()
    assert (just_one["total"], just_one["items"][0]["organisation_id"]) == (1, other["id"])
    user = token(Role.MEMBER_USER, org["id"])
    assert [
        r["organisation_id"]
        for r in client.get(f"{API}/change-requests", headers=user).json()["items"]
    ] == [org["id"]]
    assert client.get(f"{API}/change-requests?status=maybe", headers=user).status_code == 422


def test_a_member_admin_withdraws_its_pending_request(
    client: TestClient, token: TokenMaker, make_org: OrgMaker
) -> None:
    org, other = make_org(), make_org()
    admin = token(Role.MEMBER_ADMIN, org["id"])
    request = client.post(
        f"{API}/organisations/{org['id']}/change-requests",
        json={"changes": {"domains": {"add": ["ny.example.no"]}}},
        headers=admin,
    ).json()
    url = f"{API}/change-requests/{request['id']}/withdraw"
    assert client.post(url, headers=token(Role.MEMBER_USER, org["id"])).status_code == 403
    assert client.post(url, headers=token(Role.MEMBER_ADMIN, other["id"])).status_code == 404
    withdrawn = client.post(url, json={"reason": "Feil domene"}, headers=admin)
    assert withdrawn.status_code == 200, withdrawn.text
    assert (withdrawn.json()["status"], withdrawn.json()["decision_reason"]) == (
        "withdrawn",
        "Feil domene",
    )
    assert client.post(url, headers=admin).status_code == 409
    approve = f"{API}/change-requests/{request['id']}/approve"
    assert client.post(approve, headers=token(Role.CERT_ANALYST)).status_code == 409
    domains = client.get(f"{API}/organisations/{org['id']}/domains", headers=admin).json()
    assert "ny.example.no" not in [d["name"] for d in domains["items"]]
